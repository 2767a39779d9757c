"""Between the first factor and a session: which level a login needs, which second factors a
person has, the pending first factor while the second is asked for, and checking a code.

The required level arrives as a plain parameter (an acr value) from whoever sent the person to
log in; this module knows nothing of who that was. On top of it, anyone holding an
administrative role (PersonRole) needs AAL2 at every login.
"""

from __future__ import annotations

from collections.abc import MutableMapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from .. import audit
from ..clock import to_timestamp
from ..extensions import db
from ..models import Person, PersonRole, SsoSession
from ..settings import Settings
from . import assurance, passkeys, recovery_codes, throttle, totp
from .sessions import Authentication

#: how long a proven password waits for its second factor
PENDING_TTL = 300
PENDING_KEY = "pending_login"


@dataclass
class Factors:
    """The second factors a person can use right now."""

    totp: bool = False
    passkeys: list = field(default_factory=list)
    recovery_codes: int = 0

    @property
    def any(self) -> bool:
        return self.totp or bool(self.passkeys) or self.recovery_codes > 0

    @property
    def enrolled(self) -> bool:
        """Whether the person has set up an authenticator (recovery codes alone do not count)."""
        return self.totp or bool(self.passkeys)


def factors_of(person_id: int) -> Factors:
    return Factors(totp=totp.factor_of(person_id) is not None,
                   passkeys=passkeys.credentials_of(person_id),
                   recovery_codes=recovery_codes.remaining(person_id))


def holds_role(person_id: int) -> bool:
    return db.session.scalar(select(PersonRole.id).where(PersonRole.person_id == person_id)
                             .limit(1)) is not None


def required_level(person_id: int, requested: str | None) -> str | None:
    return assurance.highest(requested, assurance.AAL2 if holds_role(person_id) else None)


# --- the pending first factor (kept in the browser's signed cookie for PENDING_TTL) -------------

@dataclass(frozen=True)
class FirstFactor:
    """Who proved a first factor, with what, and when; either pending or a live session."""

    person: Person
    amr: tuple[str, ...]
    at: datetime
    session: SsoSession | None = None


def start_pending(store: MutableMapping, authn: Authentication, now: datetime) -> None:
    store[PENDING_KEY] = {"person": authn.person.id, "amr": list(authn.amr),
                          "at": to_timestamp(now)}


def pending(store: MutableMapping, now: datetime) -> FirstFactor | None:
    value = store.get(PENDING_KEY)
    if not isinstance(value, dict):
        return None
    at = datetime.fromtimestamp(int(value.get("at", 0)), UTC).replace(tzinfo=None)
    if now - at > timedelta(seconds=PENDING_TTL) or at > now + timedelta(seconds=5):
        store.pop(PENDING_KEY, None)
        return None
    person = db.session.get(Person, int(value.get("person", 0)))
    if person is None or not person.is_active:
        store.pop(PENDING_KEY, None)
        return None
    return FirstFactor(person=person, amr=tuple(value.get("amr") or ()), at=at)


def clear_pending(store: MutableMapping) -> None:
    store.pop(PENDING_KEY, None)


def first_factor(store: MutableMapping, session: SsoSession | None,
                 now: datetime) -> FirstFactor | None:
    """What the second-factor page builds on: a pending login wins over a live session (the
    person is in the middle of logging in, possibly as someone else)."""
    waiting = pending(store, now)
    if waiting is not None:
        return waiting
    if session is not None:
        return FirstFactor(person=session.person, amr=tuple(session.amr or ()),
                           at=session.auth_time, session=session)
    return None


def completed_authentication(first: FirstFactor, added: tuple[str, ...]) -> Authentication:
    amr = assurance.combine(first.amr, added)
    return Authentication(person=first.person, acr=assurance.acr_for(amr), amr=amr,
                          auth_time=first.at)


# --- checking codes ------------------------------------------------------------------------------

class CodeRejected(Exception):
    """The code was wrong, already used, or out of its window (one message for all)."""


def check_code(first: FirstFactor, kind: str, code: str, *, now: datetime, settings: Settings,
               ip: str | None) -> tuple[tuple[str, ...], int | None]:
    """Check an authenticator-app code (`kind` "totp") or a recovery code ("recovery") under
    the second-factor throttle; returns the amr it adds and, for recovery codes, how many are
    left. Raises CodeRejected or the throttle's errors."""
    person_id = first.person.id
    attempt = throttle.begin(throttle.second_factor_keys(person_id, ip), now=now,
                             settings=settings, person_id=person_id)
    left = None
    if kind == "totp":
        ok = totp.verify(person_id, code, now=now, settings=settings)
    else:
        left = recovery_codes.use(person_id, code, now=now, settings=settings)
        ok = left is not None
    method = "totp" if kind == "totp" else "recovery_code"
    if not ok:
        attempt.failed()
        audit.record("login.failed", person_id=person_id, method=method)
        db.session.commit()
        raise CodeRejected
    attempt.passed()
    audit.record("login.succeeded", person_id=person_id, method=method)
    return ("otp",), left


def may_change_factors(session: SsoSession | None, now: datetime, settings: Settings) -> bool:
    """Adding or removing a factor needs a recent first-factor login and, once the person has a
    second factor, a session that proved one."""
    if session is None:
        return False
    if now - session.auth_time > timedelta(seconds=settings.reauth_max_age):
        return False
    return (assurance.is_second_factor_proven(session.amr or [])
            or not factors_of(session.person_id).enrolled)
