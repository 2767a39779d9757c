"""Initial access tokens (RFC 7591 §3): issued from the developer portal to one organisation,
good for a limited number of registrations until they expire, stored as SHA-256 only."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from sqlalchemy import select, update

from .. import audit
from ..extensions import db
from ..models import InitialAccessToken

PREFIX = "tbi_"
MAX_USES = 100
MAX_DAYS = 90


def token_hash(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def issue(*, organisation_id: int, label: str, environment: str, max_uses: int, days: int,
          person_id: int, now: datetime) -> tuple[InitialAccessToken, str]:
    """A new token and its value (shown once)."""
    if environment not in ("production", "sandbox"):
        raise ValueError("environment")
    max_uses = min(max(1, max_uses), MAX_USES)
    days = min(max(1, days), MAX_DAYS)
    value = PREFIX + secrets.token_urlsafe(32)
    row = InitialAccessToken(organisation_id=organisation_id, token_hash=token_hash(value),
                             label=(label or "").strip()[:100] or "-", environment=environment,
                             max_uses=max_uses, uses=0, created_by=person_id, created_at=now,
                             expires_at=now + timedelta(days=days))
    db.session.add(row)
    db.session.flush()
    audit.record("initial_access_token.issued", person_id=person_id,
                 token_kind="initial",
                 organisation_id=organisation_id, max_uses=max_uses, environment=environment)
    return row, value


def usable(row: InitialAccessToken | None, now: datetime) -> bool:
    return (row is not None and row.revoked_at is None and now < row.expires_at
            and row.uses < row.max_uses)


def find(value: str | None, now: datetime) -> InitialAccessToken | None:
    if not value or not value.startswith(PREFIX) or len(value) > 100:
        return None
    row = db.session.scalar(select(InitialAccessToken).where(
        InitialAccessToken.token_hash == token_hash(value)))
    return row if usable(row, now) else None


def consume(row: InitialAccessToken, now: datetime) -> bool:
    """Use up one registration; False if another request took the last one first."""
    result = db.session.execute(
        update(InitialAccessToken)
        .where(InitialAccessToken.id == row.id, InitialAccessToken.revoked_at.is_(None),
               InitialAccessToken.expires_at > now,
               InitialAccessToken.uses < InitialAccessToken.max_uses)
        .values(uses=InitialAccessToken.uses + 1)
        .execution_options(synchronize_session=False))
    return result.rowcount == 1


def revoke(row: InitialAccessToken, *, person_id: int, now: datetime) -> None:
    if row.revoked_at is None:
        row.revoked_at = now
        audit.record("initial_access_token.revoked", person_id=person_id,
                     token_kind="initial",
                     organisation_id=row.organisation_id)
