"""`flask --app wsgi audit ...`: verify the chain, export records, archive old ones."""

from __future__ import annotations

import sys
from datetime import datetime
from pathlib import Path

import click
from flask import current_app
from flask.cli import AppGroup

from .. import audit
from ..clock import utcnow
from ..extensions import db
from . import archive as archive_mod
from . import export, search
from . import verify as verify_mod

audit_cli = AppGroup("audit", help="Audit trail: verify the hash chain, export, archive.")


def _key() -> bytes:
    return current_app.extensions["tongban.audit_key"]


def _anchor(value: str | None) -> tuple[int, str] | None:
    if not value:
        return None
    rid, _, digest = value.partition(":")
    if not rid.isdigit() or len(digest) != 64:
        raise click.BadParameter("ID:HASH, as printed by an earlier verify")
    return int(rid), digest


@audit_cli.command("verify")
@click.option("--archive", "archives", multiple=True, type=click.Path(exists=True, dir_okay=False),
              help="Archive file(s) made by `audit archive`; verified with the live records.")
@click.option("--anchor", default=None, help="ID:HASH of the head printed by an earlier run "
              "(kept outside the database): proves no record was removed from the end since.")
def verify(archives, anchor):
    """Prove that no record was changed, removed or inserted; name the first bad record."""
    reports = verify_mod.verify(_key(), [Path(a) for a in archives], _anchor(anchor))
    for report in reports:
        if not report.ok:
            click.echo(f"TAMPERED ({report.source}): first bad record: {report.bad_id}. "
                       f"{report.problem}", err=False)
            sys.exit(1)
        span = (f"records {report.first_id}..{report.last_id}" if report.count
                else "no records")
        click.echo(f"ok ({report.source}): {report.count} {span}")
    head = reports[-1]
    click.echo(f"chain verified. head: {head.last_id}:{head.last_hash}")


@audit_cli.command("export")
@click.option("--format", "fmt", type=click.Choice(["jsonl", "csv"]), default="jsonl")
@click.option("--since", type=click.DateTime(), default=None, help="UTC, inclusive.")
@click.option("--until", type=click.DateTime(), default=None, help="UTC, exclusive.")
@click.option("--event", default=None)
@click.option("--person-id", type=int, default=None)
@click.option("--client-id", default=None)
@click.option("--ip", default=None)
@click.option("--output", type=click.File("w", encoding="utf-8"), default="-")
def export_cmd(fmt, since, until, event, person_id, client_id, ip, output):
    """Write matching records, oldest first, with their chain fields."""
    f = search.AuditFilter(person_id=person_id, client_id=client_id, event=event, ip=ip,
                           since=since, until=until)
    writer = export.jsonl if fmt == "jsonl" else export.csv_lines
    for chunk in writer(search.iterate(f)):
        output.write(chunk)


@audit_cli.command("archive")
@click.option("--before", type=click.DateTime(formats=["%Y-%m-%d"]), required=True,
              help="Archive records older than this date (UTC); at least the retention period "
              "ago.")
@click.option("--output", type=click.Path(dir_okay=False), required=True,
              help="File to write (.jsonl, or .jsonl.gz to compress). Must not exist.")
def archive_cmd(before: datetime, output):
    """Move records past retention to a file that the chain still covers."""
    settings = current_app.extensions["tongban.settings"]
    try:
        result = archive_mod.archive(before=before, now=utcnow(),
                                     retention_days=settings.audit_retention_days,
                                     output=Path(output), key=_key())
    except archive_mod.ArchiveRefused as exc:
        db.session.rollback()
        raise click.ClickException(str(exc)) from exc
    audit.record("audit.archived", first_id=result.first_id, last_id=result.last_id,
                 count=result.count, file=str(result.path), via="cli")
    db.session.commit()
    click.echo(f"archived {result.count} records ({result.first_id}..{result.last_id}) to "
               f"{result.path}; last hash {result.last_hash}")
