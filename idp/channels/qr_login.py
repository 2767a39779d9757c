"""QR-code login on a PC (扫码登录), from the PC's side and the app's side.

1. The PC browser asks for a request: it gets a QR payload (a secret URL under the issuer) and a
   poll id, both random, bound to that browser (a value in its signed cookie); at most
   `qr_login_ttl` (≤ 120 s) to live.
2. The government app (a first-party native client, authenticated by its access token) scans:
   it presents the payload and learns which portal, roughly where the PC is and what browser it
   runs. The request is now tied to that app's session.
3. The person confirms (or declines) in the app. Only the same app session may decide, and only
   while its session is live and the request unexpired.
4. The PC page, polling (rate-limited), sees "confirmed" and completes: one atomic step that
   hands the PC browser an SSO session whose `acr` is the app session's and whose `amr` adds
   ``mca``. Single use: completion, decline and expiry are final.

Every step is audited (`qr_login.*`). Nothing here reads the request: callers pass what they saw.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update

from .. import audit
from ..extensions import db
from ..models import QrLogin, SsoSession
from . import places

PAYLOAD_PATH = "/qr/"
AMR_QR = "mca"


def _hash(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


class QrError(Exception):
    """A refusal with a public code: not_found, expired, not_pending, session_mismatch,
    app_not_allowed, session_ended, too_fast."""

    def __init__(self, code: str, status: int = 400):
        super().__init__(code)
        self.code = code
        self.status = status


@dataclass
class NewQrLogin:
    row: QrLogin
    payload: str
    poll_id: str


def create(*, browser_key: str, next_path: str, client_name: str | None, ip: str | None,
           user_agent: str | None, now: datetime, ttl: int, issuer: str) -> NewQrLogin:
    secret, poll_id = secrets.token_urlsafe(24), secrets.token_urlsafe(24)
    row = QrLogin(code_hash=_hash(secret), poll_hash=_hash(poll_id),
                  browser_hash=_hash(browser_key), state="waiting", next_path=next_path,
                  client_name=client_name, pc_ip=ip,
                  pc_user_agent=places.safe_user_agent(user_agent), created_at=now,
                  expires_at=now + timedelta(seconds=ttl), amr=[])
    db.session.add(row)
    db.session.flush()
    audit.record("qr_login.created", qr_login=row.id, client=client_name)
    return NewQrLogin(row, issuer + PAYLOAD_PATH + secret, poll_id)


# --- the PC side ---------------------------------------------------------------------------------

def for_browser(poll_id: str, browser_key: str) -> QrLogin | None:
    if not poll_id or len(poll_id) > 64:
        return None
    row = db.session.scalar(select(QrLogin).where(QrLogin.poll_hash == _hash(poll_id)))
    if row is None or not secrets.compare_digest(row.browser_hash, _hash(browser_key)):
        return None
    return row


def public_state(row: QrLogin, now: datetime) -> str:
    """What the PC page shows: waiting, scanned, confirmed, declined, expired or completed."""
    if row.state in ("waiting", "scanned", "confirmed") and now >= row.expires_at:
        return "expired"
    return row.state


def poll(row: QrLogin, now: datetime, min_interval: float) -> str:
    """The state for one poll; polls closer together than `min_interval` are refused."""
    if row.last_poll_at is not None and (now - row.last_poll_at).total_seconds() < min_interval:
        raise QrError("too_fast", 429)
    row.last_poll_at = now
    return public_state(row, now)


def complete(row: QrLogin, now: datetime) -> QrLogin:
    """Spend a confirmed request (once): the caller then opens the PC browser's session."""
    done = db.session.execute(
        update(QrLogin)
        .where(QrLogin.id == row.id, QrLogin.state == "confirmed", QrLogin.expires_at > now)
        .values(state="completed", completed_at=now)
        .execution_options(synchronize_session=False))
    if done.rowcount != 1:
        audit.record("qr_login.refused", person_id=row.person_id, qr_login=row.id,
                     step="complete", reason=public_state(row, now))
        raise QrError("not_pending")
    db.session.refresh(row)
    audit.record("qr_login.completed", person_id=row.person_id, qr_login=row.id)
    return row


# --- the app side --------------------------------------------------------------------------------

def _by_payload(payload: str, issuer: str) -> QrLogin | None:
    prefix = issuer + PAYLOAD_PATH
    if not payload or len(payload) > 256 or not payload.startswith(prefix):
        return None
    return db.session.scalar(select(QrLogin).where(
        QrLogin.code_hash == _hash(payload[len(prefix):])))


def _refuse(row: QrLogin | None, app: SsoSession, step: str, code: str, status: int = 400):
    audit.record("qr_login.refused", person_id=app.person_id, sid=app.sid,
                 qr_login=row.id if row else None, step=step, reason=code)
    db.session.commit()
    raise QrError(code, status)


def describe(row: QrLogin) -> dict:
    return {"portal": row.client_name, "place": places.approximate_place(row.pc_ip),
            "browser": places.describe_browser(row.pc_user_agent),
            "requested_at": row.created_at.isoformat() + "Z"}


def scan(payload: str, app: SsoSession, app_client_id: str, now: datetime, issuer: str) -> dict:
    """The app presents the payload: the request is tied to `app` (the app's live session)."""
    row = _by_payload(payload, issuer)
    if row is None:
        _refuse(None, app, "scan", "not_found", 404)
    if now >= row.expires_at:
        _refuse(row, app, "scan", "expired")
    done = db.session.execute(
        update(QrLogin)
        .where(QrLogin.id == row.id, QrLogin.state == "waiting", QrLogin.expires_at > now)
        .values(state="scanned", scanned_at=now, person_id=app.person_id, app_sid=app.sid,
                app_client_id=app_client_id)
        .execution_options(synchronize_session=False))
    if done.rowcount != 1:
        _refuse(row, app, "scan", "not_pending")
    db.session.refresh(row)
    audit.record("qr_login.scanned", person_id=app.person_id, sid=app.sid, qr_login=row.id,
                 app=app_client_id)
    return {**describe(row), "expires_in": int((row.expires_at - now).total_seconds())}


def decide(payload: str, app: SsoSession, approve: bool, now: datetime, issuer: str) -> str:
    """Confirm or decline, from the very app session that scanned."""
    row = _by_payload(payload, issuer)
    step = "confirm" if approve else "decline"
    if row is None:
        _refuse(None, app, step, "not_found", 404)
    if now >= row.expires_at:
        _refuse(row, app, step, "expired")
    if row.app_sid is None or not secrets.compare_digest(row.app_sid, app.sid):
        _refuse(row, app, step, "session_mismatch", 403)
    values = ({"state": "confirmed", "acr": app.acr,
               "amr": sorted({*(app.amr or []), AMR_QR})} if approve else {"state": "declined"})
    done = db.session.execute(
        update(QrLogin)
        .where(QrLogin.id == row.id, QrLogin.state == "scanned", QrLogin.app_sid == app.sid,
               QrLogin.expires_at > now)
        .values(decided_at=now, **values)
        .execution_options(synchronize_session=False))
    if done.rowcount != 1:
        _refuse(row, app, step, "not_pending")
    audit.record("qr_login.confirmed" if approve else "qr_login.declined",
                 person_id=app.person_id, sid=app.sid, qr_login=row.id)
    return values["state"]
