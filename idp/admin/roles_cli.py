"""`flask --app wsgi roles grant|revoke|list`: the only way to give someone an officer role."""

from __future__ import annotations

import click
from flask.cli import AppGroup
from sqlalchemy import select

from ..clock import utcnow
from ..extensions import db
from ..models import ROLES, Person, PersonRole
from . import roles

roles_cli = AppGroup("roles", help="Officer roles (三员): grant, revoke, list.")


def _person(username: str) -> Person:
    person = db.session.scalar(select(Person).where(Person.username == username))
    if person is None:
        raise click.ClickException(f"no person {username}")
    return person


@roles_cli.command("grant")
@click.argument("username")
@click.argument("role", type=click.Choice(ROLES))
@click.option("--by", "by", required=True,
              help="Username of the person who authorised this grant (recorded in the audit "
              "trail); never the grantee.")
def grant(username, role, by):
    try:
        roles.grant(_person(username), role, granted_by=_person(by), now=utcnow())
    except roles.RoleRefused as exc:
        db.session.rollback()
        raise click.ClickException(str(exc)) from exc
    db.session.commit()
    click.echo(f"granted {role} to {username}")


@roles_cli.command("revoke")
@click.argument("username")
@click.argument("role", type=click.Choice(ROLES))
@click.option("--by", "by", required=True, help="Username of the person who authorised it.")
def revoke(username, role, by):
    try:
        roles.revoke(_person(username), role, revoked_by=_person(by), now=utcnow())
    except roles.RoleRefused as exc:
        db.session.rollback()
        raise click.ClickException(str(exc)) from exc
    db.session.commit()
    click.echo(f"revoked {role} from {username}")


@roles_cli.command("list")
def list_roles():
    rows = db.session.execute(select(Person.username, PersonRole.role, PersonRole.granted_at)
                              .join(PersonRole, PersonRole.person_id == Person.id)
                              .order_by(Person.username, PersonRole.role)).all()
    for username, role, granted_at in rows:
        click.echo(f"{username}  {role}  since {granted_at:%Y-%m-%d %H:%M}")
