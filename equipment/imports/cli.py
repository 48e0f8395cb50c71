"""flask equipment import: load an equipment list from Excel, or only check it (--dry-run).

What it prints is in OPO_LOCALE, else the default locale (core.i18n)."""

from __future__ import annotations

import json
from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext
from flask_babel import gettext as _
from sqlalchemy.exc import IntegrityError

from core.extensions import db
from equipment.imports.batches import (
    REGISTRY_CHANGED,
    dry_run_batch,
    import_now,
    limits_from_config,
    report_json,
)
from equipment.imports.excel import FileRejected
from equipment.imports.planner import ImportOptions
from equipment.imports.refused import DecommissionNotConfirmed, ImportRefused
from equipment.settings import wear_thresholds


@click.command("import")
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
@click.option(
    "--confirm-decommission",
    "confirm_decommission",
    type=click.IntRange(min=0),
    default=None,
    metavar="N",
    help="With --decommission-missing: the number of items it will decommission (the "
    "dry run's «not in the file»); any other number is refused.",
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
    confirm_decommission,
    valid_only,
    confirm_warnings,
):
    """Load an equipment list from Excel (.xlsx, .xlsm, .xls, .ods) into the registry."""
    from accounts.services import organization_by_bin

    org = organization_by_bin(db.session, org_bin)
    if org is None:
        raise click.BadParameter(
            _("no organization with the BIN %(bin)s", bin=org_bin), param_hint="--org"
        )
    options = ImportOptions(
        create_facilities=create_facilities,
        decommission_missing=decommission_missing,
        commit_valid_only=valid_only,
        confirm_warnings=confirm_warnings,
        confirm_decommission=confirm_decommission,
    )
    path = Path(file)
    try:
        batch, counts = _run(org, path, options, dry_run)
        db.session.commit()
    except DecommissionNotConfirmed as err:
        db.session.rollback()
        # a usage error (exit code 2, as click's own): the option names the number expected
        _echo_failure(err.for_field("--confirm-decommission").message, as_json)
        raise SystemExit(2) from None
    except (FileRejected, ImportRefused, IntegrityError) as err:
        db.session.rollback()
        # IntegrityError: another import took an inventory number meanwhile
        message = str(REGISTRY_CHANGED) if isinstance(err, IntegrityError) else err.message
        _echo_failure(message, as_json)
        raise SystemExit(1) from None
    report = report_json(batch, counts)
    if as_json:
        click.echo(json.dumps(report, ensure_ascii=False, default=str, indent=1))
    else:
        _echo_report(path.name, report, dry_run)


def _run(org, path: Path, options: ImportOptions, dry_run: bool):
    """The batch and its counts: planned only (nothing stored), or loaded."""
    data = path.read_bytes()
    limits = limits_from_config(current_app.config)
    if dry_run:
        return dry_run_batch(db.session, org, data, path.name, options, limits)
    thresholds = wear_thresholds()
    return import_now(db.session, None, org, data, path.name, options, thresholds, limits)


def _echo_failure(message: str, as_json: bool) -> None:
    if as_json:
        click.echo(json.dumps({"error": message}, ensure_ascii=False))
    else:
        click.echo(_("error: %(message)s", message=message), err=True)


def _echo_report(filename: str, report: dict, dry_run: bool) -> None:
    verb = _("checked (nothing changed)") if dry_run else _("loaded into the registry")
    click.echo(
        _(
            "%(file)s: %(verb)s. Rows: %(rows)s, to create: %(created)s, to update: "
            "%(updated)s, unchanged: %(unchanged)s, with errors: %(invalid)s, not in the "
            "file: %(missing)s",
            file=filename,
            verb=verb,
            **{k: report[k] for k in ("rows", "created", "updated", "unchanged", "invalid")},
            missing=report["missing"],
        )
    )
    for note in report["warnings"] + report["notes"]:
        click.echo(f"  {note}")
    several_sheets = len(report["sheets"]) > 1
    for err in report["errors"]:
        where = _("row %(row)s", row=err["row"])
        if several_sheets and err.get("sheet"):
            where = _("sheet «%(sheet)s», row %(row)s", sheet=err["sheet"], row=err["row"])
        click.echo(f"  {where}, «{err['column']}» = «{err['value']}»: {err['message']}")
