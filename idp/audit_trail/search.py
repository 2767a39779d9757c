"""Finding audit records for officers: filters by person, client, event, address, actor and
time, newest first, with keyset pagination.

Keyset, not OFFSET: a page is "the next 50 records before (at, id)", which every filter answers
with one range scan of its (column, at, id) index (see models/audit.py), as fast on page 10,000
of ten million records as on the first.
"""

from __future__ import annotations

import base64
from collections.abc import Iterator
from dataclasses import dataclass, fields
from datetime import datetime

from sqlalchemy import Select, select, tuple_

from ..extensions import db
from ..models import AuditEvent

PAGE_SIZE = 50
EXPORT_BATCH = 2000


@dataclass(frozen=True)
class AuditFilter:
    person_id: int | None = None
    client_id: str | None = None
    event: str | None = None
    #: any of these events (the account page's history, the overview's series)
    events: tuple[str, ...] | None = None
    ip: str | None = None
    actor_id: int | None = None
    #: only actions taken by someone on another person's account (officers)
    actors_only: bool = False
    since: datetime | None = None
    until: datetime | None = None

    def describe(self) -> dict:
        return {f.name: (v.isoformat() if isinstance(v, datetime) else v)
                for f in fields(self) if (v := getattr(self, f.name)) not in (None, False)}


def _filtered(f: AuditFilter) -> Select:
    query = select(AuditEvent)
    for column, value in ((AuditEvent.person_id, f.person_id),
                          (AuditEvent.client_id, f.client_id), (AuditEvent.event, f.event),
                          (AuditEvent.ip, f.ip), (AuditEvent.actor_id, f.actor_id)):
        if value is not None:
            query = query.where(column == value)
    if f.events:
        query = query.where(AuditEvent.event.in_(f.events))
    if f.actors_only and f.actor_id is None:
        query = query.where(AuditEvent.actor_id.is_not(None))
    if f.since is not None:
        query = query.where(AuditEvent.at >= f.since)
    if f.until is not None:
        query = query.where(AuditEvent.at < f.until)
    return query


def encode_cursor(row: AuditEvent) -> str:
    raw = f"{row.at.isoformat(timespec='microseconds')}|{row.id}"
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(value: str | None) -> tuple[datetime, int] | None:
    if not value or len(value) > 100:
        return None
    try:
        raw = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4)).decode()
        at, _, rid = raw.partition("|")
        return datetime.fromisoformat(at), int(rid)
    except (ValueError, UnicodeDecodeError):
        return None


@dataclass
class Page:
    rows: list[AuditEvent]
    next_cursor: str | None


def search(f: AuditFilter, *, cursor: str | None = None, limit: int = PAGE_SIZE) -> Page:
    query = _filtered(f)
    after = decode_cursor(cursor)
    if after is not None:
        query = query.where(tuple_(AuditEvent.at, AuditEvent.id) < tuple_(*after))
    query = query.order_by(AuditEvent.at.desc(), AuditEvent.id.desc()).limit(limit + 1)
    rows = list(db.session.scalars(query))
    more = len(rows) > limit
    rows = rows[:limit]
    return Page(rows=rows, next_cursor=encode_cursor(rows[-1]) if more and rows else None)


def iterate(f: AuditFilter, *, batch: int = EXPORT_BATCH) -> Iterator[AuditEvent]:
    """Every matching record, oldest first, in keyset batches (for export)."""
    after: tuple[datetime, int] | None = None
    while True:
        query = _filtered(f)
        if after is not None:
            query = query.where(tuple_(AuditEvent.at, AuditEvent.id) > tuple_(*after))
        rows = list(db.session.scalars(
            query.order_by(AuditEvent.at.asc(), AuditEvent.id.asc()).limit(batch)))
        if not rows:
            return
        yield from rows
        after = (rows[-1].at, rows[-1].id)
        db.session.expunge_all()
