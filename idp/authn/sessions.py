"""Server-side SSO sessions: created at login, found by the cookie, ended by logout or expiry.

The cookie holds a random secret; the database holds only its SHA-256, so a copy of the
database does not let anyone ride a session. The public `sid` given to relying parties is a
separate random value. Every login (and step-up) issues a new cookie value.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from blinker import Namespace
from flask import g, request
from sqlalchemy import select

from .. import audit
from ..clock import utcnow
from ..extensions import db
from ..models import Person, SsoSession
from ..settings import Settings
from ..settings import current as _settings

signals = Namespace()
#: sent with (session, reason) after a session ended; logout propagation listens to it
session_ended = signals.signal("session-ended")

#: last_seen_at is written at most this often, so browsing does not write on every request
TOUCH_EVERY = timedelta(seconds=60)


def _hash(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


@dataclass(frozen=True)
class Authentication:
    """What a person just proved, as the authentication methods report it."""

    person: Person
    acr: str
    amr: tuple[str, ...]
    #: when the first factor was proven, if not just now (a login finished by a second factor)
    auth_time: datetime | None = None


def is_live(session: SsoSession, now: datetime, settings: Settings) -> bool:
    return (session.ended_at is None and now < session.expires_at
            and now < session.last_seen_at + timedelta(seconds=settings.session_idle_ttl)
            and session.person.is_active)


def find(cookie_value: str | None, now: datetime, settings: Settings) -> SsoSession | None:
    if not cookie_value or len(cookie_value) > 100:
        return None
    session = db.session.scalar(
        select(SsoSession).where(SsoSession.secret_hash == _hash(cookie_value)))
    if session is None:
        return None
    if not is_live(session, now, settings):
        if session.ended_at is None:
            end(session, now, "expired")
            db.session.commit()
        return None
    return session


def start(authn: Authentication, *, now: datetime, settings: Settings,
          previous: SsoSession | None, ip: str | None, user_agent: str | None
          ) -> tuple[SsoSession, str]:
    """Open a session for a fresh login and return it with the new cookie value.

    Logging in again as the same person keeps the session (and the clients that joined it) but
    changes its cookie value and authentication time; logging in as someone else ends the old
    session first.
    """
    cookie_value = secrets.token_urlsafe(32)
    if previous is not None and previous.person_id == authn.person.id and previous.ended_at is None:
        session = previous
        session.secret_hash = _hash(cookie_value)
        session.auth_time = authn.auth_time or now
        session.last_seen_at = now
        session.acr = authn.acr
        session.amr = list(authn.amr)
        session.ip = ip
        session.user_agent = (user_agent or "")[:255]
        return session, cookie_value
    if previous is not None and previous.ended_at is None:
        end(previous, now, "replaced")
    session = SsoSession(
        sid=secrets.token_urlsafe(16), secret_hash=_hash(cookie_value), person=authn.person,
        created_at=now, auth_time=authn.auth_time or now, last_seen_at=now,
        expires_at=now + timedelta(seconds=settings.session_absolute_ttl),
        acr=authn.acr, amr=list(authn.amr), ip=ip, user_agent=(user_agent or "")[:255],
    )
    db.session.add(session)
    db.session.flush()
    audit.record("session.started", person_id=authn.person.id, sid=session.sid, acr=authn.acr)
    return session, cookie_value


def step_up(session: SsoSession, added_amr: tuple[str, ...], *, now: datetime) -> str:
    """Add a factor proven within a live session: its amr grows, its acr rises, its cookie value
    changes. `auth_time` stays the time of the first factor (README, "auth_time"): a second
    factor proves possession, not that the person authenticated again."""
    from . import assurance

    cookie_value = secrets.token_urlsafe(32)
    before = session.acr
    amr = assurance.combine(list(session.amr or []), added_amr)
    session.secret_hash = _hash(cookie_value)
    session.amr = list(amr)
    session.acr = assurance.highest(session.acr, assurance.acr_for(amr)) or session.acr
    session.last_seen_at = now
    audit.record("session.stepped_up", person_id=session.person_id, sid=session.sid,
                 acr_before=before, acr=session.acr)
    return cookie_value


def touch(session: SsoSession, now: datetime) -> None:
    if now - session.last_seen_at >= TOUCH_EVERY:
        session.last_seen_at = now


def end(session: SsoSession, now: datetime, reason: str, *, actor_id: int | None = None) -> None:
    """End a session; listeners (logout propagation, token revocation) run in this transaction.
    `actor_id`: the officer who ended someone else's session."""
    if session.ended_at is not None:
        return
    session.ended_at = now
    session.end_reason = reason
    audit.record("session.ended", person_id=session.person_id, sid=session.sid, reason=reason,
                 actor_id=actor_id)
    session_ended.send(session, reason=reason, now=now)


# --- the browser's session, for views ------------------------------------------------------------


def current() -> SsoSession | None:
    """The live SSO session of this browser, if any (looked up once per request)."""
    if "sso_session" not in g:
        cookie = request.cookies.get(_settings().session_cookie_name)
        session = find(cookie, utcnow(), _settings())
        if session is not None:
            touch(session, utcnow())
        g.sso_session = session
    return g.sso_session


def login(authn: Authentication) -> SsoSession:
    """Start (or refresh) this browser's session after a successful authentication."""
    from ..security import client_ip

    session, cookie_value = start(authn, now=utcnow(), settings=_settings(), previous=current(),
                                  ip=client_ip(), user_agent=request.user_agent.string)
    g.sso_session = session
    g.sso_cookie = cookie_value
    return session


def stepped_up(added_amr: tuple[str, ...]) -> SsoSession:
    """Step up this browser's session and give it a new cookie value."""
    session = current()
    if session is None:
        raise RuntimeError("no session to step up")
    g.sso_cookie = step_up(session, added_amr, now=utcnow())
    return session


def logout(reason: str = "logout") -> SsoSession | None:
    session = current()
    if session is not None:
        end(session, utcnow(), reason)
    g.sso_session = None
    g.sso_cookie = ""
    return session


def apply_cookie(response):
    """after_request: write or clear the session cookie if this request changed it."""
    if "sso_cookie" not in g:
        return response
    settings = _settings()
    if g.sso_cookie:
        response.set_cookie(settings.session_cookie_name, g.sso_cookie, httponly=True,
                            secure=settings.secure_cookies, samesite="Lax", path="/",
                            max_age=settings.session_absolute_ttl)
    else:
        response.delete_cookie(settings.session_cookie_name, path="/",
                               secure=settings.secure_cookies, httponly=True, samesite="Lax")
    return response
