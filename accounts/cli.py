"""flask users create / list / set-password; flask orgs create / list."""

from __future__ import annotations

import sys

import click
from flask.cli import with_appcontext
from sqlalchemy import select

from accounts.models import Organization, User
from accounts.regions import REGIONS
from accounts.services import create_organization, create_user, reset_password
from core.extensions import db
from core.validation import ValidationFailed

users_cli = click.Group("users", help="Manage user accounts.")
orgs_cli = click.Group("orgs", help="Manage operating organizations.")


def _fail(err: ValidationFailed):
    db.session.rollback()
    for field, message in err.as_strings().items():
        click.echo(f"error: {field}: {message}", err=True)
    sys.exit(2)


@users_cli.command("create")
@click.option("--email", required=True)
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
@click.option("--role", required=True, type=click.Choice(["engineer", "regulator", "admin"]))
@click.option("--org", "org_bin", help="BIN of the engineer's organization.")
@click.option("--region", "region_code", help="Region code of a regulator (none: national).")
@click.option("--name", default="")
@with_appcontext
def create(email, password_stdin, role, org_bin, region_code, name):
    """Create a user. The password is read from stdin, never from the command line."""
    if not password_stdin:
        raise click.UsageError("Pass --password-stdin and the password on standard input.")
    password = sys.stdin.readline().rstrip("\r\n")
    try:
        user = create_user(
            db.session,
            None,
            email=email,
            password=password,
            role=role,
            name=name,
            org_bin=org_bin,
            region_code=region_code,
        )
        db.session.commit()
    except ValidationFailed as err:
        _fail(err)
    click.echo(f"created user {user.id} <{user.email}> ({user.role.value})")


@users_cli.command("set-password")
@click.option("--email", required=True)
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
@with_appcontext
def set_password(email, password_stdin):
    """Reset a user's password (read from stdin); every login session of the user ends."""
    if not password_stdin:
        raise click.UsageError("Pass --password-stdin and the password on standard input.")
    user = db.session.execute(
        select(User).where(User.email == email.strip().lower())
    ).scalar_one_or_none()
    if user is None:
        click.echo(f"error: email: no user {email}", err=True)
        sys.exit(2)
    try:
        reset_password(db.session, None, user, sys.stdin.readline().rstrip("\r\n"))
        db.session.commit()
    except ValidationFailed as err:
        _fail(err)
    click.echo(
        f"password of {user.email} reset; their sessions have ended and their API tokens "
        "are revoked"
    )


@users_cli.command("list")
@with_appcontext
def list_users():
    """List users: id, e-mail, role, organization BIN, region code."""
    for u in db.session.execute(select(User).order_by(User.id)).scalars():
        org = u.organization.bin if u.organization else "-"
        region = u.region.code if u.region else "-"
        state = "active" if u.active else "disabled"
        click.echo(f"{u.id}\t{u.email}\t{u.role.value}\t{org}\t{region}\t{state}")


@orgs_cli.command("create")
@click.option("--bin", "bin_", required=True, help="12-digit BIN (its check digit is verified).")
@click.option("--name", required=True)
@click.option("--region", required=True, help="Region code: " + " ".join(c for c, *_ in REGIONS))
@click.option("--address")
@click.option("--phone")
@click.option("--email")
@with_appcontext
def create_org(bin_, name, region, address, phone, email):
    """Register an operating organization; then create its engineers with
    flask users create --role engineer --org BIN."""
    try:
        org = create_organization(
            db.session,
            None,
            bin=bin_,
            name=name,
            region=region,
            address=address,
            phone=phone,
            email=email,
        )
        db.session.commit()
    except ValidationFailed as err:
        _fail(err)
    click.echo(f"created organization {org.id} BIN {org.bin} ({org.region.code}) {org.name}")


@orgs_cli.command("list")
@with_appcontext
def list_orgs():
    """List organizations: id, BIN, region code, name."""
    stmt = select(Organization).order_by(Organization.search_name)
    for org in db.session.execute(stmt).scalars():
        click.echo(f"{org.id}\t{org.bin}\t{org.region.code}\t{org.name}")
