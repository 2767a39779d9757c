"""Revoking what was issued: by code (a replayed code), by refresh family (a replayed refresh
token, RFC 9700 §4.14.2), by session (logout at the IdP). Bulk UPDATEs in the caller's
transaction."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import or_, update

from ..extensions import db
from ..models import AccessToken, RefreshToken


def revoke_code_grant(code_id: int, now: datetime) -> None:
    db.session.execute(update(AccessToken)
                       .where(AccessToken.code_id == code_id, AccessToken.revoked_at.is_(None))
                       .values(revoked_at=now).execution_options(synchronize_session=False))
    db.session.execute(update(RefreshToken)
                       .where(RefreshToken.code_id == code_id, RefreshToken.revoked_at.is_(None))
                       .values(revoked_at=now).execution_options(synchronize_session=False))


def revoke_family(family_id: str, now: datetime) -> None:
    """One family only: the person's other sessions, tabs and clients keep working."""
    db.session.execute(update(RefreshToken)
                       .where(RefreshToken.family_id == family_id,
                              RefreshToken.revoked_at.is_(None))
                       .values(revoked_at=now).execution_options(synchronize_session=False))
    db.session.execute(update(AccessToken)
                       .where(AccessToken.family_id == family_id, AccessToken.revoked_at.is_(None))
                       .values(revoked_at=now).execution_options(synchronize_session=False))


def revoke_session_tokens(sid: str, now: datetime) -> None:
    """Logout at the IdP ends the session's tokens (RFC 9700 §4.14.2). Refresh tokens granted
    with offline_access outlive the session, as the person asked."""
    db.session.execute(update(AccessToken)
                       .where(AccessToken.sid == sid, AccessToken.revoked_at.is_(None))
                       .values(revoked_at=now).execution_options(synchronize_session=False))
    db.session.execute(update(RefreshToken)
                       .where(RefreshToken.sid == sid, RefreshToken.revoked_at.is_(None),
                              or_(RefreshToken.scope.is_(None),
                                  ~RefreshToken.scope.contains("offline_access")))
                       .values(revoked_at=now).execution_options(synchronize_session=False))
