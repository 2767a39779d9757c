"""`flask --app wsgi directory ...`: sync, health, and the security officer's link reviews."""

from __future__ import annotations

import json

import click
from flask.cli import AppGroup
from sqlalchemy import select

from .. import audit
from ..clock import utcnow
from ..extensions import db
from ..models import DirectoryAccount, DirectoryLinkReview, Person, PersonRole
from . import accounts, directories, health
from .base import DirectoryError

directory_cli = AppGroup("directory", help="Department directories: sync, status, link reviews.")


def _when(value) -> str:
    return health.when(value)


@directory_cli.command("sync")
@click.option("--directory", "only", default=None, help="Only this directory (its id).")
@click.option("--full", is_flag=True, help="Ignore the cursor and read every entry.")
def sync_command(only, full):
    """Update accounts from their directories; end the sessions of disabled or deleted entries.
    Exits 1 when any directory could not be synced (the others still are)."""
    from .sync import sync_all

    registry = directories()
    if only and only not in registry.configs:
        raise click.ClickException(f"no directory {only!r}")
    reports = sync_all(registry, utcnow(), only=only, full=full)
    for r in reports:
        if r.ok:
            click.echo(f"{r.directory}: ok  updated={r.updated} disabled={r.disabled} "
                       f"deleted={r.deleted} roles_changed={r.roles_changed} "
                       f"sessions_ended={r.sessions_ended} cursor={r.cursor or '-'}")
        else:
            click.echo(f"{r.directory}: FAILED  {r.error}", err=True)
    if any(not r.ok for r in reports):
        raise SystemExit(1)


@directory_cli.command("status")
@click.option("--check", is_flag=True, help="Bind to every directory now and record it.")
@click.option("--json", "as_json", is_flag=True)
def status_command(check, as_json):
    """Each directory's health: last successful bind, latency, last sync, last error."""
    registry = directories()
    now = utcnow()
    if check:
        results = {}
        for config in registry:   # every directory first, then one short write
            try:
                results[config.id] = registry.get(config.id).ping()
            except DirectoryError as exc:
                results[config.id] = exc
        for directory, result in results.items():
            if isinstance(result, DirectoryError):
                health.failed(directory, result.detail or result.reason, now)
            else:
                health.bind_ok(directory, result[0], result[1], now, force=True)
        db.session.commit()
    rows = health.report(registry)
    if as_json:
        click.echo(json.dumps(rows, ensure_ascii=False))
        return
    if not rows:
        click.echo("no directories configured (TONGBAN_DIRECTORIES)")
    for r in rows:
        click.echo(f"{r['directory']} ({r['name']}): {'ok' if r['healthy'] else 'UNHEALTHY'}\n"
                   f"  last successful bind {r['last_bind']} via {r['server'] or '-'}, "
                   f"latency {r['latency_ms'] if r['latency_ms'] is not None else '-'} ms\n"
                   f"  last sync {r['last_sync']}"
                   f"{'  error: ' + r['last_sync_error'] if r['last_sync_error'] else ''}\n"
                   f"  last error {r['last_error_at']}: {r['last_error'] or '-'}\n"
                   f"  accounts {r['accounts']}")


# --- link reviews (security officer) --------------------------------------------------------------

def _officer(username: str) -> Person:
    person = db.session.scalar(select(Person).where(Person.username == username))
    if person is None or not db.session.scalar(select(PersonRole.id).where(
            PersonRole.person_id == person.id, PersonRole.role == "security_officer")):
        raise click.ClickException(f"{username!r} is not a security officer")
    return person


def _open_review(review_id: int) -> DirectoryLinkReview:
    review = db.session.get(DirectoryLinkReview, review_id)
    if review is None or review.status != "open":
        raise click.ClickException(f"no open review {review_id}")
    return review


@directory_cli.command("reviews")
@click.option("--all", "show_all", is_flag=True, help="Resolved reviews too.")
@click.option("--json", "as_json", is_flag=True)
def reviews_command(show_all, as_json):
    """Link conflicts waiting for a security officer."""
    query = select(DirectoryLinkReview).order_by(DirectoryLinkReview.id)
    if not show_all:
        query = query.where(DirectoryLinkReview.status == "open")
    rows = []
    for review in db.session.scalars(query):
        account = db.session.get(DirectoryAccount, review.account_id)
        person = (db.session.get(Person, review.candidate_person_id)
                  if review.candidate_person_id else None)
        asker = (db.session.get(Person, review.requested_by_person_id)
                 if review.requested_by_person_id else None)
        rows.append({"id": review.id, "status": review.status, "reason": review.reason,
                     "directory": account.directory, "login": account.login,
                     "display_name": account.display_name,
                     "linked_to": account.person_id,
                     "candidate": person.sub if person else None,
                     "requested_by": asker.sub if asker else None,
                     "opened": _when(review.created_at)})
    if as_json:
        click.echo(json.dumps(rows, ensure_ascii=False))
        return
    for r in rows:
        click.echo(f"#{r['id']} {r['status']} {r['reason']}: {r['directory']}\\{r['login']} "
                   f"({r['display_name'] or '-'}) candidate={r['candidate'] or '-'} "
                   f"requested_by={r['requested_by'] or '-'} opened {r['opened']}")
    if not rows:
        click.echo("no reviews")


@directory_cli.command("resolve")
@click.argument("review_id", type=int)
@click.option("--officer", required=True, help="Username of the security officer deciding.")
@click.option("--link", "person_sub", default=None, help="Link the account to this person (sub).")
@click.option("--reject", is_flag=True, help="Leave the account unlinked.")
@click.option("--note", default="", help="Why (kept with the review).")
def resolve_command(review_id, officer, person_sub, reject, note):
    """Decide a review: --link SUB or --reject."""
    if bool(person_sub) == bool(reject):
        raise click.ClickException("give exactly one of --link SUB or --reject")
    decider = _officer(officer)
    review = _open_review(review_id)
    account = db.session.get(DirectoryAccount, review.account_id)
    now = utcnow()
    if person_sub:
        person = db.session.scalar(select(Person).where(Person.sub == person_sub))
        if person is None:
            raise click.ClickException(f"no person {person_sub}")
        if account.person_id not in (None, person.id):
            accounts.end_sessions(account, now, "directory_relinked")
        accounts.link(account, person, "officer", now, officer=decider)
    review.status = "linked" if person_sub else "rejected"
    review.resolved_at, review.resolved_by, review.note = now, decider.id, note[:2000] or None
    audit.record("directory.review_resolved", person_id=decider.id, review_id=review.id,
                 outcome=review.status, account_id=account.id, directory=account.directory)
    db.session.commit()
    click.echo(f"review {review.id}: {review.status}")
