"""Device authorizations (RFC 8628) seen from the person's side: finding a request by the code
they read off a terminal, approving or denying it, and the short session a terminal gets.

User codes are 8 letters from an alphabet without vowels or look-alikes (no words, no 0/O, 1/I),
shown as two groups (``BDFG-HJKL``) and accepted in any case, with or without the dash or spaces:
easy to read aloud at a service-hall counter and to type on a phone.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from sqlalchemy import select, update

from .. import audit
from ..extensions import db
from ..models import Client, DeviceAuthorization, SessionClient, SsoSession

USER_CODE_ALPHABET = "BCDFGHJKLMNPQRSTVWXZ"
USER_CODE_LENGTH = 8


def hash_device_code(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def new_user_code() -> str:
    return "".join(secrets.choice(USER_CODE_ALPHABET) for _ in range(USER_CODE_LENGTH))


def display_user_code(code: str) -> str:
    return f"{code[:4]}-{code[4:]}"


def normalise_user_code(typed: str | None) -> str | None:
    """What the person typed, as stored; None if it cannot be a user code."""
    if not typed:
        return None
    code = "".join(ch for ch in typed.upper() if ch not in " -\t")
    if len(code) != USER_CODE_LENGTH or any(ch not in USER_CODE_ALPHABET for ch in code):
        return None
    return code


def pending(user_code: str | None, now: datetime) -> DeviceAuthorization | None:
    """The live, undecided request for `user_code`, if there is one."""
    code = normalise_user_code(user_code)
    if code is None:
        return None
    row = db.session.scalar(select(DeviceAuthorization).where(
        DeviceAuthorization.user_code == code))
    if row is None or row.state != "pending" or now >= row.expires_at:
        return None
    return row


def client_of(row: DeviceAuthorization) -> Client:
    return db.session.get(Client, row.client_id)


def decide(row: DeviceAuthorization, session: SsoSession, approve: bool, now: datetime) -> bool:
    """Approve (as the person of `session`, with its authentication) or deny; atomic, so a
    request is decided once. True if this call decided it."""
    values = {"state": "approved" if approve else "denied", "decided_at": now,
              "person_id": session.person_id}
    if approve:
        values.update(acr=session.acr, amr=list(session.amr or []), auth_time=session.auth_time)
    done = db.session.execute(
        update(DeviceAuthorization)
        .where(DeviceAuthorization.id == row.id, DeviceAuthorization.state == "pending",
               DeviceAuthorization.expires_at > now)
        .values(**values).execution_options(synchronize_session=False))
    if done.rowcount != 1:
        return False
    client = client_of(row)
    audit.record("device.approved" if approve else "device.denied", person_id=session.person_id,
                 client_id=client.client_id, sid=session.sid)
    return True


def open_terminal_session(row: DeviceAuthorization, client: Client, now: datetime,
                          ttl: int) -> SsoSession:
    """The terminal's own short session (channel "device"): its tokens carry this `sid`, so
    they end with it, and the person and officers see it among the person's sessions. It has
    no cookie: nothing but the tokens can ride it."""
    session = SsoSession(
        sid=secrets.token_urlsafe(16), secret_hash=hashlib.sha256(
            secrets.token_bytes(32)).hexdigest(), person_id=row.person_id, created_at=now,
        auth_time=row.auth_time or now, last_seen_at=now,
        expires_at=now + timedelta(seconds=ttl), acr=row.acr or "urn:tongban:aal1",
        amr=list(row.amr or []), channel="device")
    db.session.add(session)
    db.session.flush()
    db.session.add(SessionClient(session_id=session.id, client_id=client.id, joined_at=now,
                                 last_at=now))
    audit.record("session.started", person_id=row.person_id, sid=session.sid, acr=session.acr,
                 channel="device", client=client.client_id)
    return session
