"""Finding SSO sessions for the security officer: by person, client, address, channel, time and
state, newest first, keyset-paginated on (created_at, id)."""

from __future__ import annotations

import base64
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, or_, select, tuple_

from ..extensions import db
from ..models import SessionClient, SsoSession
from ..settings import Settings

PAGE_SIZE = 50


@dataclass(frozen=True)
class SessionFilter:
    person_id: int | None = None
    client_pk: int | None = None
    ip: str | None = None
    channel: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    #: "live", "ended" or "all"
    state: str = "live"


def _cursor(row: SsoSession) -> str:
    raw = f"{row.created_at.isoformat(timespec='microseconds')}|{row.id}"
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def _after(value: str | None):
    if not value or len(value) > 100:
        return None
    try:
        raw = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4)).decode()
        at, _, rid = raw.partition("|")
        return datetime.fromisoformat(at), int(rid)
    except (ValueError, UnicodeDecodeError):
        return None


def search(f: SessionFilter, now: datetime, settings: Settings, *, cursor: str | None = None,
           limit: int = PAGE_SIZE) -> tuple[list[SsoSession], str | None]:
    query = select(SsoSession)
    if f.person_id is not None:
        query = query.where(SsoSession.person_id == f.person_id)
    if f.client_pk is not None:
        query = query.where(SsoSession.id.in_(
            select(SessionClient.session_id).where(SessionClient.client_id == f.client_pk)))
    if f.ip:
        query = query.where(SsoSession.ip == f.ip)
    if f.channel:
        query = query.where(SsoSession.channel == f.channel)
    if f.since:
        query = query.where(SsoSession.created_at >= f.since)
    if f.until:
        query = query.where(SsoSession.created_at < f.until)
    live = and_(SsoSession.ended_at.is_(None), SsoSession.expires_at > now,
                SsoSession.last_seen_at > now - timedelta(seconds=settings.session_idle_ttl))
    if f.state == "live":
        query = query.where(live)
    elif f.state == "ended":
        query = query.where(or_(SsoSession.ended_at.is_not(None), ~live))
    after = _after(cursor)
    if after is not None:
        query = query.where(tuple_(SsoSession.created_at, SsoSession.id) < tuple_(*after))
    rows = list(db.session.scalars(query.order_by(SsoSession.created_at.desc(),
                                                  SsoSession.id.desc()).limit(limit + 1)))
    more = len(rows) > limit
    rows = rows[:limit]
    return rows, (_cursor(rows[-1]) if more and rows else None)
