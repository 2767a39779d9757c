"""Authorization code grant (RFC 6749 §4.1, OIDC Core §3.1), tightened:

* codes are stored as SHA-256, live at most 60 s and are consumed atomically: one conditional
  UPDATE decides the single winner even under concurrent redemptions;
* a second redemption revokes every token the code produced (RFC 6749 §4.1.2, RFC 9700 §4.2.4);
* PKCE is S256-only and required (see pkce.py).
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from authlib.oauth2.rfc6749 import InvalidRequestError, grants
from sqlalchemy import select, update

from ... import audit
from ...clock import utcnow
from ...extensions import db
from ...models import AuthorizationCode, Person, SessionClient, SsoSession
from ..issuance import GrantContext
from ..provider import provider
from ..revocation import revoke_code_grant
from .issuing import NoAuthlibTokenStore, issue_tokens

CLIENT_AUTH_METHODS = ["client_secret_basic", "client_secret_post", "private_key_jwt", "none"]


def _hash(code: str) -> str:
    return hashlib.sha256(code.encode()).hexdigest()


class AuthorizationCodeGrant(NoAuthlibTokenStore, grants.AuthorizationCodeGrant):
    TOKEN_ENDPOINT_AUTH_METHODS = CLIENT_AUTH_METHODS

    # --- authorization endpoint ---------------------------------------------------------------
    @staticmethod
    def validate_no_multiple_request_parameter(request):
        """Authlib runs this before the redirect URI is verified, so its error can only be a
        page. That is right for the two parameters that decide where errors go; every other
        repeated parameter is reported to the verified redirect URI (RFC 6749 §4.1.2.1) by
        authorization_checks.no_repeated_parameters."""
        for name in ("client_id", "redirect_uri"):
            if len(request.payload.datalist.get(name, [])) > 1:
                raise InvalidRequestError(f"Parameter '{name}' is repeated.")

    def issue_code(self, session: SsoSession) -> list[tuple[str, str]]:
        """Issue a code for the validated request to the person of `session`; returns the
        response parameters (without `iss`, which the response builder adds)."""
        request = self.request
        data = request.payload.data
        now = utcnow()
        code = secrets.token_urlsafe(32)
        db.session.add(AuthorizationCode(
            code_hash=_hash(code), client_id=request.client.id, person_id=session.person_id,
            sid=session.sid, redirect_uri=data.get("redirect_uri"), scope=request.scope or "",
            nonce=data.get("nonce"), code_challenge=data.get("code_challenge"),
            code_challenge_method=data.get("code_challenge_method"),
            claims=getattr(self, "claims_request", None), auth_time=session.auth_time,
            acr=session.acr, amr=list(session.amr or []), created_at=now,
            expires_at=now + timedelta(seconds=provider().settings.code_ttl),
        ))
        _join_session(session, request.client, now)
        audit.record("code.issued", person_id=session.person_id,
                     client_id=request.client.client_id, sid=session.sid)
        params = [("code", code)]
        if data.get("state"):
            params.append(("state", data["state"]))
        return params

    # --- token endpoint -----------------------------------------------------------------------
    def query_authorization_code(self, code, client):
        now = utcnow()
        code_hash = _hash(code)
        claimed = db.session.execute(
            update(AuthorizationCode)
            .where(AuthorizationCode.code_hash == code_hash,
                   AuthorizationCode.client_id == client.id,
                   AuthorizationCode.used_at.is_(None),
                   AuthorizationCode.expires_at > now)
            .values(used_at=now)
            .execution_options(synchronize_session=False))
        row = db.session.scalar(select(AuthorizationCode).where(
            AuthorizationCode.code_hash == code_hash))
        if claimed.rowcount == 1:
            return row
        if row is not None and row.client_id == client.id and row.used_at is not None:
            # Replay of a redeemed code: whoever holds it now, the tokens it bought are suspect.
            revoke_code_grant(row.id, now)
            audit.record("code.reused", person_id=row.person_id, client_id=client.client_id,
                         code_id=row.id)
            db.session.commit()
        return None

    def delete_authorization_code(self, authorization_code):
        # Kept (marked used) until it expires, so a replay can be recognised and answered.
        return None

    def authenticate_user(self, authorization_code):
        person = db.session.get(Person, authorization_code.person_id)
        return person if person is not None and person.is_active else None

    def generate_token(self, user=None, scope=None, grant_type=None, expires_in=None,
                       include_refresh_token=True):
        code = self.request.authorization_code
        ctx = GrantContext(client=self.request.client, scope=code.scope, person=user,
                           sid=code.sid, auth_time=code.auth_time, acr=code.acr,
                           amr=list(code.amr or []), claims=code.claims, nonce=code.nonce,
                           code_id=code.id)
        token = issue_tokens(ctx, include_refresh=include_refresh_token)
        audit.record("token.issued", person_id=user.id, client_id=ctx.client.client_id,
                     sid=code.sid, grant_type="authorization_code", family_id=ctx.family_id)
        return token


def _join_session(session: SsoSession, client, now) -> None:
    """Record that `client` joined `session`: its logout must reach this client."""
    joined = db.session.scalar(select(SessionClient).where(
        SessionClient.session_id == session.id, SessionClient.client_id == client.id))
    if joined is None:
        db.session.add(SessionClient(session_id=session.id, client_id=client.id, joined_at=now,
                                     last_at=now))
    else:
        joined.last_at = now
