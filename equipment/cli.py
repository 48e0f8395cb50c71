"""flask seed-demo, flask equipment refresh-indicators."""

from __future__ import annotations

import json
import time

import click
from flask import current_app
from flask.cli import with_appcontext
from sqlalchemy import select

from core.extensions import db
from equipment.demo import DEMO_PASSWORD, seed_demo
from equipment.models import Equipment
from equipment.services import refresh_curves

equipment_cli = click.Group("equipment", help="Registry maintenance.")


@click.command("seed-demo")
@click.option(
    "--items",
    default=2000,
    show_default=True,
    type=click.IntRange(0, 1_000_000),
    help="Number of equipment items to create.",
)
@click.option("--seed", default=42, show_default=True, help="Random seed.")
@click.option("--if-empty", is_flag=True, help="Do nothing when the registry has equipment.")
@with_appcontext
def seed_demo_command(items: int, seed: int, if_empty: bool):
    """Load realistic demo data: regions, organizations, facilities, equipment, users."""
    if if_empty and db.session.execute(select(Equipment.id).limit(1)).first():
        click.echo("the registry already has equipment: demo data not loaded")
        return
    started = time.perf_counter()
    summary = seed_demo(db.session, items, current_app.config["WEAR_THRESHOLDS"], seed)
    db.session.commit()
    click.echo(
        f"{summary.organizations} organizations, {summary.facilities} facilities, "
        f"{summary.items} items ({summary.past_life_pct} % past their service life, "
        f"average wear {summary.average_wear} %), {summary.users} new users "
        f"in {time.perf_counter() - started:.1f} s"
    )
    if summary.users:
        click.echo(
            f"demo logins: admin@demo.kz, engineer@demo.kz, regulator@demo.kz; "
            f"password: {DEMO_PASSWORD}"
        )


@equipment_cli.command("refresh-indicators")
@with_appcontext
def refresh_indicators():
    """Recompute the cached wear curves of every item (after changing the thresholds)."""
    started = time.perf_counter()
    count = refresh_curves(db.session, None, current_app.config["WEAR_THRESHOLDS"])
    db.session.commit()
    click.echo(f"refreshed {count} items in {time.perf_counter() - started:.1f} s")


@equipment_cli.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("--org", "org_bin", required=True, help="BIN of the organization.")
@click.option("--dry-run", is_flag=True, help="Only check the file and print what would change.")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@click.option("--create-facilities", is_flag=True, help="Create facilities the file names.")
@click.option(
    "--decommission-missing",
    is_flag=True,
    help="Decommission items of the file's facilities that the file no longer lists.",
)
@click.option("--valid-only", is_flag=True, help="Load the valid rows even if some are invalid.")
@click.option(
    "--confirm-warnings",
    is_flag=True,
    help="Load although the file's title names the BIN of another organization.",
)
@with_appcontext
def import_command(
    file,
    org_bin,
    dry_run,
    as_json,
    create_facilities,
    decommission_missing,
    valid_only,
    confirm_warnings,
):
    """Load an equipment list from Excel (.xlsx, .xlsm, .xls, .ods) into the registry."""
    from pathlib import Path

    from flask_babel import gettext
    from sqlalchemy.exc import IntegrityError

    from accounts.services import organization_by_bin
    from equipment.importing import (
        ImportOptions,
        ImportRefused,
        dry_run_batch,
        import_now,
        limits_from_config,
        report_json,
    )
    from equipment.imports.excel import FileRejected

    org = organization_by_bin(db.session, org_bin)
    if org is None:
        raise click.BadParameter(f"нет организации с БИН {org_bin}", param_hint="--org")
    data = Path(file).read_bytes()
    options = ImportOptions(
        create_facilities=create_facilities,
        decommission_missing=decommission_missing,
        commit_valid_only=valid_only,
        confirm_warnings=confirm_warnings,
    )
    limits = limits_from_config(current_app.config)
    try:
        if dry_run:
            batch, counts = dry_run_batch(db.session, org, data, Path(file).name, options, limits)
        else:
            batch, counts = import_now(
                db.session,
                None,
                org,
                data,
                Path(file).name,
                options,
                current_app.config["WEAR_THRESHOLDS"],
                limits,
            )
        db.session.commit()
    except (FileRejected, ImportRefused, IntegrityError) as err:
        db.session.rollback()
        if isinstance(err, IntegrityError):  # another import took an inventory number meanwhile
            message = gettext(
                "The registry changed while the file was being loaded. Upload it again."
            )
        else:
            message = err.message
        if as_json:
            click.echo(json.dumps({"error": message}, ensure_ascii=False))
        else:
            click.echo(f"ошибка: {message}", err=True)
        raise SystemExit(1) from None
    report = report_json(batch, counts)
    if as_json:
        click.echo(json.dumps(report, ensure_ascii=False, default=str, indent=1))
        return
    verb = "проверено (ничего не изменено)" if dry_run else "загружено"
    click.echo(
        f"{Path(file).name}: {verb}. Строк: {report['rows']}, создать: {report['created']}, "
        f"обновить: {report['updated']}, без изменений: {report['unchanged']}, "
        f"с ошибками: {report['invalid']}, нет в файле: {report['missing']}"
    )
    for note in report["warnings"] + report["notes"]:
        click.echo(f"  {note}")
    for err in report["errors"]:
        sheet = f"лист «{err['sheet']}», " if len(report["sheets"]) > 1 and err.get("sheet") else ""
        click.echo(
            f"  {sheet}строка {err['row']}, «{err['column']}» = «{err['value']}»: {err['message']}"
        )
