"""Ending sessions other than the browser's own: a person's other devices, an officer ending
sessions by person or by client, and the sweep that ends expired sessions so that their
relying parties hear about it even if nobody comes back (`flask sessions expire`)."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import or_, select

from ..extensions import db
from ..models import Person, SessionClient, SsoSession
from ..settings import Settings
from . import sessions

#: what `end_reason` says when a session ends this way
EXPIRED = "expired"
ACCOUNT_INACTIVE = "account_inactive"


def live_sessions_of(person_id: int, now: datetime, settings: Settings) -> list[SsoSession]:
    rows = db.session.scalars(select(SsoSession).where(
        SsoSession.person_id == person_id, SsoSession.ended_at.is_(None))
        .order_by(SsoSession.last_seen_at.desc())).all()
    return [s for s in rows if sessions.is_live(s, now, settings)]


def end_many(rows, now: datetime, reason: str, *, actor_id: int | None = None) -> int:
    count = 0
    for session in rows:
        if session.ended_at is None:
            sessions.end(session, now, reason, actor_id=actor_id)
            count += 1
    return count


def end_for_person(person_id: int, now: datetime, reason: str, *, actor_id: int | None = None,
                   keep_sid: str | None = None) -> int:
    query = select(SsoSession).where(SsoSession.person_id == person_id,
                                     SsoSession.ended_at.is_(None))
    if keep_sid:
        query = query.where(SsoSession.sid != keep_sid)
    return end_many(db.session.scalars(query).all(), now, reason, actor_id=actor_id)


def end_for_client(client_pk: int, now: datetime, reason: str, *,
                   actor_id: int | None = None) -> int:
    """Every open session a client took part in (e.g. the client was compromised)."""
    query = (select(SsoSession).join(SessionClient, SessionClient.session_id == SsoSession.id)
             .where(SessionClient.client_id == client_pk, SsoSession.ended_at.is_(None)))
    return end_many(db.session.scalars(query).unique().all(), now, reason, actor_id=actor_id)


def expire_due(now: datetime, settings: Settings, *, limit: int = 500) -> int:
    """End up to `limit` sessions past their absolute or idle limit, or whose person may no
    longer log in; each ending queues its logout notifications."""
    idle_cutoff = now - timedelta(seconds=settings.session_idle_ttl)
    rows = db.session.scalars(
        select(SsoSession).join(Person, Person.id == SsoSession.person_id)
        .where(SsoSession.ended_at.is_(None),
               or_(SsoSession.expires_at <= now, SsoSession.last_seen_at <= idle_cutoff,
                   Person.status != "active"))
        .order_by(SsoSession.id).limit(limit)).all()
    for session in rows:
        reason = EXPIRED if session.person.is_active else ACCOUNT_INACTIVE
        sessions.end(session, now, reason)
    return len(rows)
