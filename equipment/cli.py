"""flask seed-demo, flask equipment refresh-indicators (and `import`: equipment.imports.cli)."""

from __future__ import annotations

import time

import click
from flask.cli import with_appcontext
from sqlalchemy import select

from core.extensions import db
from equipment.demo import DEMO_PASSWORD, seed_demo
from equipment.models import Equipment
from equipment.services import refresh_curves
from equipment.settings import wear_thresholds

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
    summary = seed_demo(db.session, items, wear_thresholds(), seed)
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
    count = refresh_curves(db.session, None, wear_thresholds())
    db.session.commit()
    click.echo(f"refreshed {count} items in {time.perf_counter() - started:.1f} s")
