"""Refresh token grant (RFC 6749 §6) with rotation on every use (RFC 9700 §4.14.2).

Authlib's default keeps the refresh token; here every use rotates it:

* one conditional UPDATE claims the presented token, so of N concurrent uses exactly one rotates;
* the successor is derived from the presented value (HMAC), so a client that lost the response
  and retries within the grace period gets the very same successor, never a second branch;
* any other reuse of a rotated token revokes its family (and only that family);
* idle and absolute lifetimes bound every family.
"""

from __future__ import annotations

from datetime import timedelta

from authlib.oauth2.rfc6749 import InvalidGrantError, grants
from sqlalchemy import select, update

from ... import audit
from ...clock import utcnow
from ...extensions import db
from ...models import Person, RefreshToken
from .. import issuance
from ..issuance import GrantContext
from ..provider import provider
from ..revocation import revoke_family
from .authorization_code import CLIENT_AUTH_METHODS
from .issuing import NoAuthlibTokenStore, issue_tokens


class RefreshTokenGrant(NoAuthlibTokenStore, grants.RefreshTokenGrant):
    TOKEN_ENDPOINT_AUTH_METHODS = CLIENT_AUTH_METHODS
    INCLUDE_NEW_REFRESH_TOKEN = True

    def authenticate_refresh_token(self, refresh_token):
        if not refresh_token.startswith(issuance.REFRESH_PREFIX) or len(refresh_token) > 100:
            return None
        row = db.session.scalar(select(RefreshToken).where(
            RefreshToken.token_hash == issuance.token_hash(refresh_token)))
        now = utcnow()
        if row is None or row.revoked_at is not None:
            return None
        if now >= row.family_expires_at or (row.rotated_at is None and now >= row.expires_at):
            return None
        return row

    def authenticate_user(self, refresh_token):
        person = db.session.get(Person, refresh_token.person_id)
        return person if person is not None and person.is_active else None

    def create_token_response(self):
        row: RefreshToken = self.request.refresh_token
        client = self.request.client
        person = self.authenticate_user(row)
        if person is None:
            raise InvalidGrantError("The account behind this refresh token is not active.")
        prov = provider()
        now = utcnow()
        presented = self.request.form["refresh_token"]
        successor = issuance.successor_value(prov, presented)

        claimed = db.session.execute(
            update(RefreshToken)
            .where(RefreshToken.id == row.id, RefreshToken.rotated_at.is_(None),
                   RefreshToken.revoked_at.is_(None))
            .values(rotated_at=now).execution_options(synchronize_session=False))
        store_successor = claimed.rowcount == 1
        if not store_successor:
            db.session.refresh(row)
            if not self._within_grace(row, successor, now):
                revoke_family(row.family_id, now)
                audit.record("token.reused", person_id=row.person_id,
                             client_id=client.client_id, sid=row.sid, family_id=row.family_id)
                db.session.commit()
                raise InvalidGrantError("The refresh token was already used.")

        ctx = GrantContext(client=client, scope=self.request.payload.scope or row.scope,
                           person=person, sid=row.sid, auth_time=row.auth_time, acr=row.acr,
                           amr=list(row.amr or []), claims=row.claims, code_id=row.code_id,
                           family_id=row.family_id)
        # The successor keeps the family's full scope; only the access token may be narrowed.
        token = issue_tokens(ctx, include_refresh=True, refresh_value=successor, parent=row,
                             store_refresh=store_successor, refresh_scope=row.scope)
        audit.record("token.refreshed", person_id=person.id, client_id=client.client_id,
                     sid=row.sid, family_id=row.family_id, grace=not store_successor)
        return 200, token, self.TOKEN_RESPONSE_HEADER

    @staticmethod
    def _within_grace(row: RefreshToken, successor: str, now) -> bool:
        grace = provider().settings.refresh_reuse_grace
        if row.revoked_at is not None or row.rotated_at is None or grace <= 0:
            return False
        if now - row.rotated_at > timedelta(seconds=grace):
            return False
        following = db.session.scalar(select(RefreshToken).where(
            RefreshToken.token_hash == issuance.token_hash(successor)))
        return (following is not None and following.rotated_at is None
                and following.revoked_at is None)
