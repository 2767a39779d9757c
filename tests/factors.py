"""Test helpers for second factors: enrol an authenticator app, make codes at a given time,
create recovery codes, grant a role."""

from __future__ import annotations

from datetime import datetime

import pyotp

from idp.clock import to_timestamp


def enrol_totp(app, person) -> str:
    """A confirmed authenticator app for `person`; returns its secret."""
    from idp.authn import totp
    from idp.clock import utcnow
    from idp.extensions import db
    from idp.models import Person

    with app.app_context():
        row = db.session.get(Person, person.id)
        secret = totp.start_enrolment(row, now=utcnow(), settings=app.extensions[
            "tongban.settings"])
        factor = totp.factor_of(row.id, confirmed=False)
        factor.confirmed_at = utcnow()
        db.session.commit()
    return secret


def code_at(secret: str, at: datetime, steps: int = 0) -> str:
    return pyotp.TOTP(secret).at(to_timestamp(at) + 30 * steps)


def recovery_codes_for(app, person) -> list[str]:
    from idp.authn import recovery_codes
    from idp.clock import utcnow
    from idp.extensions import db

    with app.app_context():
        codes = recovery_codes.generate(person.id, now=utcnow(),
                                        settings=app.extensions["tongban.settings"])
        db.session.commit()
    return codes


def grant_role(app, person, role: str = "security_officer") -> None:
    from idp.clock import utcnow
    from idp.extensions import db
    from idp.models import PersonRole

    with app.app_context():
        db.session.add(PersonRole(person_id=person.id, role=role, granted_at=utcnow()))
        db.session.commit()


def audit_events(app, event: str) -> list:
    from sqlalchemy import select

    from idp.extensions import db
    from idp.models import AuditEvent

    with app.app_context():
        return list(db.session.scalars(select(AuditEvent).where(AuditEvent.event == event)
                                       .order_by(AuditEvent.id)))
