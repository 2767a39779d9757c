"""Authenticator-app codes (TOTP, RFC 6238: SHA-1, 6 digits, 30-second steps).

* The secret is generated here, shown once (QR code drawn by the IdP itself with segno, plus
  the text for manual entry) and stored sealed (see secretbox.py).
* A code is accepted within one step either side of now (RFC 6238 §5.2 network delay).
* Each code is accepted once: the step it belongs to is "burned" by one conditional UPDATE
  (`last_step < step`), so a replay in the same step, or two parallel requests with the same
  code, give exactly one success; an older step than the newest used is refused too.

Functions take `now` and `settings` explicitly; throttling is the caller's job.
"""

from __future__ import annotations

import hmac
from datetime import datetime

import pyotp
import segno
from sqlalchemy import select, update

from .. import audit
from ..clock import to_timestamp
from ..extensions import db
from ..models import Person, TotpFactor
from ..settings import Settings
from . import secretbox

STEP = 30
DIGITS = 6
#: steps accepted either side of the current one
WINDOW = 1


def _context(person_id: int) -> str:
    return f"totp:{person_id}"


def normalise_code(code: str | None) -> str:
    return "".join(c for c in (code or "") if not c.isspace() and c != "-")


def factor_of(person_id: int, *, confirmed: bool = True) -> TotpFactor | None:
    query = select(TotpFactor).where(TotpFactor.person_id == person_id)
    if confirmed:
        query = query.where(TotpFactor.confirmed_at.is_not(None))
    return db.session.scalar(query)


def secret_of(factor: TotpFactor, settings: Settings) -> str:
    return secretbox.unseal(settings, factor.secret_encrypted, context=_context(factor.person_id))


def provisioning_uri(secret: str, account: str, settings: Settings) -> str:
    return pyotp.TOTP(secret, digits=DIGITS, interval=STEP).provisioning_uri(
        name=account, issuer_name=settings.site_name)


def qr_data_uri(uri: str) -> str:
    """An SVG QR code as a data: URI (the page's CSP allows `img-src data:`; nothing is fetched
    from anyone else)."""
    return segno.make(uri, error="m").svg_data_uri(scale=5, border=2)


def start_enrolment(person: Person, *, now: datetime, settings: Settings) -> str:
    """A fresh secret for `person` (replacing any unconfirmed one); returns it in the clear,
    for this one page only. A confirmed factor must be removed first."""
    secret = pyotp.random_base32(32)  # 160 bits, RFC 4226 §4 R6
    factor = factor_of(person.id, confirmed=False)
    if factor is not None and factor.confirmed_at is not None:
        raise ValueError("an authenticator app is already set up")
    sealed = secretbox.seal(settings, secret, context=_context(person.id))
    if factor is None:
        db.session.add(TotpFactor(person_id=person.id, secret_encrypted=sealed, created_at=now))
    else:
        factor.secret_encrypted, factor.created_at, factor.last_step = sealed, now, None
    return secret


def pending_secret(person: Person, settings: Settings) -> str | None:
    factor = factor_of(person.id, confirmed=False)
    if factor is None or factor.confirmed_at is not None:
        return None
    return secret_of(factor, settings)


def matching_step(secret: str, code: str, now: datetime) -> int | None:
    """The time step whose code equals `code`, checking every step in the window (no early
    return, constant-time compares)."""
    code = normalise_code(code)
    if len(code) != DIGITS or not code.isdigit():
        return None
    totp = pyotp.TOTP(secret, digits=DIGITS, interval=STEP)
    current = to_timestamp(now) // STEP
    found = None
    for step in range(current - WINDOW, current + WINDOW + 1):
        if hmac.compare_digest(totp.at(step * STEP), code) and found is None:
            found = step
    return found


def _burn(factor_id: int, step: int, now: datetime, *, confirm: bool) -> bool:
    values = {"last_step": step, "last_used_at": now}
    if confirm:
        values["confirmed_at"] = now
    result = db.session.execute(
        update(TotpFactor)
        .where(TotpFactor.id == factor_id,
               TotpFactor.last_step.is_(None) | (TotpFactor.last_step < step))
        .values(**values).execution_options(synchronize_session=False))
    return result.rowcount == 1


def confirm_enrolment(person: Person, code: str, *, now: datetime, settings: Settings) -> bool:
    factor = factor_of(person.id, confirmed=False)
    if factor is None or factor.confirmed_at is not None:
        return False
    step = matching_step(secret_of(factor, settings), code, now)
    if step is None or not _burn(factor.id, step, now, confirm=True):
        return False
    audit.record("totp.enrolled", person_id=person.id)
    return True


def verify(person_id: int, code: str, *, now: datetime, settings: Settings) -> bool:
    """True once per step for a right code of the person's confirmed authenticator app."""
    factor = factor_of(person_id)
    if factor is None:
        return False
    step = matching_step(secret_of(factor, settings), code, now)
    return step is not None and _burn(factor.id, step, now, confirm=False)


def remove(person_id: int, *, now: datetime) -> bool:
    factor = factor_of(person_id, confirmed=False)
    if factor is None:
        return False
    db.session.delete(factor)
    if factor.confirmed_at is not None:
        audit.record("totp.removed", person_id=person_id)
    return True
