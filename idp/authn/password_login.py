"""Logging in with an account identifier and a password.

Unknown account, wrong password and disabled account look the same from outside: one error,
one argon2 verification's worth of time, the same throttle (an unknown name gets a counter of
its own, see throttle.py). Only the audit trail tells them apart.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from .. import audit
from ..errors import UserError
from ..extensions import db
from ..models import Person
from ..settings import Settings
from . import assurance, identifiers, passwords, throttle
from .sessions import Authentication

ACR_PASSWORD = assurance.AAL1


class LoginFailed(UserError):
    public = "The account or password is incorrect."


def find_person(identifier: str) -> Person | None:
    kind_value = identifiers.classify(identifier)
    if kind_value is None:
        return None
    kind, value = kind_value
    column = {"username": Person.username, "email": Person.email, "phone": Person.phone}[kind]
    return db.session.scalar(select(Person).where(column == value))


def authenticate(identifier: str, password: str, *, now: datetime,
                 settings: Settings | None = None, ip: str | None = None) -> Authentication:
    """Check a password; raises LoginFailed, or throttle.Throttled / throttle.AccountLocked
    (before the password is even looked at)."""
    if settings is None:
        from flask import current_app

        settings = current_app.extensions["tongban.settings"]
    person = find_person(identifier)
    # Read before the throttle commits (which expires loaded rows): reloading the person only
    # on the known-account path would make it measurably slower than the unknown one.
    person_id = person.id if person else None
    stored_hash = person.password_hash if person else None
    active = person.is_active if person else False
    classified = identifiers.classify(identifier)
    name = classified[1] if classified else (identifier or "")[:254]
    attempt = throttle.begin(throttle.first_factor_keys(settings, person_id, name, ip),
                             now=now, settings=settings, person_id=person_id)
    ok = passwords.verify_password(stored_hash, password or "")
    if person_id is None or not ok or not active:
        reason = ("unknown_account" if person_id is None else
                  "bad_password" if not ok else "account_disabled")
        attempt.failed()
        audit.record("login.failed", person_id=person_id, method="password", reason=reason)
        db.session.commit()
        raise LoginFailed(detail=reason)
    attempt.passed()
    if passwords.needs_rehash(person.password_hash):
        person.password_hash = passwords.hash_password(password)
    audit.record("login.succeeded", person_id=person.id, method="password")
    return Authentication(person=person, acr=ACR_PASSWORD, amr=("pwd",))
