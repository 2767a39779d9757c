"""OIDC Back-Channel Logout 1.0: logout tokens and the outbox that carries them.

When a session ends (logout, expiry, an officer, the person from the account page, a locked
account), one LogoutDelivery row per joined client with a `backchannel_logout_uri` is added in
the same transaction (§2.7: the OP sends to every RP that took part in the session). The worker
(idp/oidc/logout_worker.py) delivers them with retries; a token is minted at each attempt so its
`iat` is fresh when it arrives after an outage.
"""

from __future__ import annotations

import secrets
from datetime import datetime

from ..clock import to_timestamp
from ..extensions import db
from ..models import Client, LogoutDelivery, SsoSession
from . import claims as claims_mod
from .issuance import sign
from .keys import DEFAULT_ID_TOKEN_ALG
from .provider import Provider, provider

EVENT = "http://schemas.openid.net/event/backchannel-logout"
TOKEN_TTL = 120


def logout_token(prov: Provider, client: Client, *, sid: str | None, sub: str | None,
                 now: datetime) -> tuple[str, str]:
    """A logout token (§2.4) for `client`, signed like its ID tokens; returns it with its jti."""
    jti = secrets.token_urlsafe(16)
    iat = to_timestamp(now)
    body = {"iss": prov.issuer, "aud": client.client_id, "iat": iat, "exp": iat + TOKEN_TTL,
            "jti": jti, "events": {EVENT: {}}}
    # §2.4: sub and/or sid; never a nonce. We always know both.
    if sub:
        body["sub"] = sub
    if sid:
        body["sid"] = sid
    alg = client.id_token_signed_response_alg or DEFAULT_ID_TOKEN_ALG
    return sign(prov, alg, body, typ="logout+jwt"), jti


def enqueue(client: Client, session: SsoSession, reason: str, now: datetime) -> LogoutDelivery:
    sub = claims_mod.subject_for(session.person, client, provider().pairwise_key)
    row = LogoutDelivery(client_id=client.id, person_id=session.person_id, sid=session.sid,
                         sub=sub, reason=reason[:32], uri=client.backchannel_logout_uri,
                         state="pending", attempts=0, created_at=now, next_attempt_at=now)
    db.session.add(row)
    return row


def on_session_ended(session: SsoSession, reason: str, now) -> None:
    """Listener for authn's session_ended signal: queue a logout token for each joined client."""
    for joined in session.clients:
        client = joined.client
        if client is not None and client.backchannel_logout_uri:
            enqueue(client, session, reason, now)
