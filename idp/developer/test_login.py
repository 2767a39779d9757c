"""The portal's "test login": the IdP plays the client for one sign-in so the developer sees
exactly the tokens their client would get (its scopes, subject type, algorithms, consent page).

The flow is the real one, through the authorization endpoint, to one extra redirect URI that
the IdP owns (:func:`callback_uri`), which the portal adds to the client when the developer
first asks for a test login (it is listed on the client's page like any other). A code sent
there is useless to anyone else:

* the callback accepts it only with the `state` stored in this browser's signed cookie when a
  member of the client's organisation pressed the button;
* it is redeemed here, without the client's secret, only for a code issued to that redirect
  URI, with the PKCE verifier from the same cookie, once (the same atomic claim the token
  endpoint uses), and only access and ID tokens are issued (no refresh token).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime

from authlib.oauth2.rfc7636.challenge import create_s256_code_challenge
from joserfc import jwt
from sqlalchemy import select, update

from .. import audit
from ..extensions import db
from ..models import AuthorizationCode, Client, Person
from ..oidc import userinfo
from ..oidc.grants.issuing import issue_tokens
from ..oidc.issuance import GrantContext
from ..oidc.keys import SIGNING_ALGS
from ..oidc.provider import Provider

PATH = "/developer/test-login/callback"
SESSION_KEY = "developer_test_login"


class TestLoginFailed(Exception):
    """The callback cannot complete; `reason` is a short code for the page."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


def callback_uri(prov: Provider) -> str:
    return prov.url(PATH)


def start(client: Client, prov: Provider) -> tuple[dict, dict]:
    """(what to keep in the browser's cookie, the authorization request parameters)."""
    verifier = secrets.token_urlsafe(48)
    pending = {"client_id": client.client_id, "state": secrets.token_urlsafe(16),
               "nonce": secrets.token_urlsafe(16), "verifier": verifier}
    params = {"response_type": "code", "client_id": client.client_id,
              "redirect_uri": callback_uri(prov), "scope": client.scope or "openid",
              "state": pending["state"], "nonce": pending["nonce"],
              "code_challenge": create_s256_code_challenge(verifier),
              "code_challenge_method": "S256", "prompt": "login"}
    return pending, params


def redeem(pending: dict | None, args, prov: Provider, now: datetime) -> dict:
    """The decoded tokens for the callback's `args`, or TestLoginFailed."""
    if not pending or not hmac.compare_digest(pending.get("state", ""), args.get("state", "")):
        raise TestLoginFailed("state")
    if args.get("iss") != prov.issuer:
        raise TestLoginFailed("issuer")
    if args.get("error"):
        raise TestLoginFailed(args["error"][:64])
    client = db.session.scalar(select(Client).where(Client.client_id == pending["client_id"]))
    code = args.get("code") or ""
    if client is None or not code or len(code) > 100:
        raise TestLoginFailed("code")
    code_hash = hashlib.sha256(code.encode()).hexdigest()
    claimed = db.session.execute(
        update(AuthorizationCode)
        .where(AuthorizationCode.code_hash == code_hash,
               AuthorizationCode.client_id == client.id,
               AuthorizationCode.redirect_uri == callback_uri(prov),
               AuthorizationCode.used_at.is_(None), AuthorizationCode.expires_at > now)
        .values(used_at=now).execution_options(synchronize_session=False))
    row = db.session.scalar(select(AuthorizationCode).where(
        AuthorizationCode.code_hash == code_hash))
    if claimed.rowcount != 1 or row is None or not row.code_challenge or not hmac.compare_digest(
            create_s256_code_challenge(pending["verifier"]), row.code_challenge):
        raise TestLoginFailed("code")
    person = db.session.get(Person, row.person_id)
    ctx = GrantContext(client=client, scope=row.scope, person=person, sid=row.sid,
                       auth_time=row.auth_time, acr=row.acr, amr=list(row.amr or []),
                       claims=row.claims, nonce=row.nonce, code_id=row.id)
    token = issue_tokens(ctx, include_refresh=False)
    audit.record("token.issued", person_id=person.id, client_id=client.client_id, sid=row.sid,
                 grant_type="developer_test_login")
    db.session.flush()
    return {"client": client, "raw": token, "id_token": _decoded(token.get("id_token"), prov),
            "access_token": _decoded(token["access_token"], prov),
            "userinfo": userinfo.claims_for(token["access_token"])
            if "openid" in row.scope.split() else None,
            "nonce_ok": row.nonce == pending["nonce"]}


def _decoded(value: str | None, prov: Provider) -> dict | None:
    if not value:
        return None
    token = jwt.decode(value, prov.keys.verification_keys(), algorithms=list(SIGNING_ALGS))
    return {"header": dict(token.header), "claims": dict(token.claims)}
