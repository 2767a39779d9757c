"""Recovery codes: ten single-use codes a person writes down for the day their phone or security
key is gone. Shown once, stored as keyed hashes, each accepted once (one conditional UPDATE),
every use audited with the number that remain."""

from __future__ import annotations

import secrets
from datetime import datetime

from sqlalchemy import delete, func, select, update

from .. import audit
from ..extensions import db
from ..models import RecoveryCode
from ..settings import Settings
from . import secretbox

COUNT = 10
#: no 0/o, 1/l/i: codes are read off paper
ALPHABET = "23456789abcdefghjkmnpqrstuvwxyz"
LENGTH = 10  # 10 symbols of 31: ~49.5 bits each, behind the throttle and a keyed hash


def normalise(code: str | None) -> str:
    return "".join(c for c in (code or "").lower() if c.isalnum())


def _hash(settings: Settings, person_id: int, code: str) -> str:
    return secretbox.keyed_hash(settings, "recovery-code", f"{person_id}:{normalise(code)}")


def display(code: str) -> str:
    return f"{code[:5]}-{code[5:]}"


def generate(person_id: int, *, now: datetime, settings: Settings) -> list[str]:
    """Replace the person's codes with ten new ones; returns them for showing once."""
    db.session.execute(delete(RecoveryCode).where(RecoveryCode.person_id == person_id))
    codes = ["".join(secrets.choice(ALPHABET) for _ in range(LENGTH)) for _ in range(COUNT)]
    for code in codes:
        db.session.add(RecoveryCode(person_id=person_id, code_hash=_hash(settings, person_id, code),
                                    created_at=now))
    audit.record("recovery_codes.generated", person_id=person_id, count=COUNT)
    return [display(c) for c in codes]


def remaining(person_id: int) -> int:
    return db.session.scalar(select(func.count(RecoveryCode.id)).where(
        RecoveryCode.person_id == person_id, RecoveryCode.used_at.is_(None))) or 0


def use(person_id: int, code: str, *, now: datetime, settings: Settings) -> int | None:
    """Consume `code`; the number of codes left, or None if it is not an unused code of theirs."""
    if len(normalise(code)) != LENGTH:
        return None
    result = db.session.execute(
        update(RecoveryCode)
        .where(RecoveryCode.person_id == person_id,
               RecoveryCode.code_hash == _hash(settings, person_id, code),
               RecoveryCode.used_at.is_(None))
        .values(used_at=now).execution_options(synchronize_session=False))
    if result.rowcount != 1:
        return None
    left = remaining(person_id)
    audit.record("recovery_code.used", person_id=person_id, remaining=left)
    return left
