"""Who may do what: the one rule every privileged page applies (officer console, client
approvals, directory status, the service-hall page), so that tightening it is a change in one
place.

A privileged action needs (1) a role the page names, held by an active, real (non-test) person,
and (2) a session strong and fresh enough: administrators need AAL2 (DESIGN.md §5), an
authentication no older than 12 h and no more than 15 min idle.
"""

from __future__ import annotations

import enum
from datetime import datetime, timedelta

from sqlalchemy import select

from .errors import TongbanError
from .extensions import db
from .models import ROLES, Person, PersonRole, SsoSession

#: Authentication strength, weakest first (DESIGN §2).
ACR_LADDER = ("urn:tongban:aal1", "urn:tongban:aal2", "urn:tongban:aal3")
#: Every administrator needs at least this.
ADMIN_MIN_ACR = "urn:tongban:aal2"
#: ...and an authentication no older than this (DESIGN §5: admin sessions ≤ 12 h)...
ADMIN_MAX_AUTH_AGE = timedelta(hours=12)
#: ...and no more than this since the session was last used (DESIGN §5: ≤ 15 min idle).
ADMIN_MAX_IDLE = timedelta(minutes=15)


class Refusal(enum.Enum):
    NO_ROLE = "role_required"
    WEAK_AUTHENTICATION = "aal2_required"
    STALE_AUTHENTICATION = "login_again"


class Forbidden(TongbanError):
    status = 403
    public = "You do not have permission to do this."

    def __init__(self, refusal: Refusal, *, detail: str | None = None):
        if refusal is Refusal.WEAK_AUTHENTICATION:
            super().__init__("This page needs a sign-in with two factors (for example your "
                             "password and your authenticator app).", detail=detail)
        elif refusal is Refusal.STALE_AUTHENTICATION:
            super().__init__("Please sign in again to continue.", detail=detail)
        else:
            super().__init__(detail=detail)
        self.refusal = refusal


def roles_held(person: Person | None) -> set[str]:
    if person is None or not person.is_active or getattr(person, "is_test_account", False):
        return set()
    return set(db.session.scalars(select(PersonRole.role).where(
        PersonRole.person_id == person.id)))


def has_role(person: Person | None, role: str) -> bool:
    if role not in ROLES:
        raise ValueError(f"unknown role {role!r}")
    return role in roles_held(person)


def acr_at_least(acr: str | None, minimum: str) -> bool:
    return acr in ACR_LADDER and ACR_LADDER.index(acr) >= ACR_LADDER.index(minimum)


def refusal_for(session: SsoSession, held: set[str], needed: tuple[str, ...], now: datetime,
                last_used: datetime | None = None) -> Refusal | None:
    if not held & set(needed):
        return Refusal.NO_ROLE
    if not acr_at_least(session.acr, ADMIN_MIN_ACR):
        return Refusal.WEAK_AUTHENTICATION
    if now - session.auth_time > ADMIN_MAX_AUTH_AGE:
        return Refusal.STALE_AUTHENTICATION
    if last_used is not None and now - last_used > ADMIN_MAX_IDLE:
        return Refusal.STALE_AUTHENTICATION
    return None


def require_role(session: SsoSession, *needed: str, now: datetime) -> Person:
    """The session's person if they may act with one of `needed`; otherwise
    :class:`Forbidden` (403) saying what is missing."""
    for role in needed:
        if role not in ROLES:
            raise ValueError(f"unknown role {role!r}")
    refusal = refusal_for(session, roles_held(session.person), needed, now)
    if refusal is not None:
        raise Forbidden(refusal, detail=f"person {session.person_id}: {refusal.value} "
                                        f"for {','.join(needed)}")
    return session.person
