"""Receiving OIDC Back-Channel Logout 1.0 logout tokens (§2.6 validation), as a relying party
must: signature against the IdP's JWKS, explicit `typ`, `iss`, `aud`, a fresh `iat`, the
back-channel logout event, `sid` or `sub`, no `nonce`, and a `jti` never seen before."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

EVENT = "http://schemas.openid.net/event/backchannel-logout"
ALGORITHMS = ["RS256", "PS256", "ES256"]


class LogoutTokenError(Exception):
    """The token must be refused (answer 400, §2.8); the message says why."""


class LogoutTokenVerifier:
    def __init__(self, *, issuer: str, client_id: str, jwks: Callable[[bool], dict],
                 max_age: int = 300, leeway: int = 60, clock: Callable[[], float] = time.time):
        self.issuer, self.client_id = issuer, client_id
        self._jwks, self.max_age, self.leeway, self._clock = jwks, max_age, leeway, clock
        self._seen: dict[str, float] = {}
        self._lock = threading.Lock()

    def _decode(self, token: str):
        last_error: Exception | None = None
        for force in (False, True):  # a key we do not know yet: fetch the JWKS again, once
            try:
                keys = KeySet.import_key_set(self._jwks(force))
                return jwt.decode(token, keys, algorithms=ALGORITHMS)
            except (JoseError, ValueError) as exc:
                last_error = exc
        raise LogoutTokenError(f"bad signature or format ({type(last_error).__name__})")

    def verify(self, token: str | None) -> dict:
        if not token or len(token) > 8192:
            raise LogoutTokenError("missing logout_token")
        decoded = self._decode(token)
        if decoded.header.get("typ") != "logout+jwt":
            raise LogoutTokenError("typ is not logout+jwt")
        claims = decoded.claims
        now = self._clock()
        if claims.get("iss") != self.issuer:
            raise LogoutTokenError("wrong issuer")
        audience = claims.get("aud")
        if self.client_id not in (audience if isinstance(audience, list) else [audience]):
            raise LogoutTokenError("not addressed to this client")
        iat = claims.get("iat")
        if not isinstance(iat, int) or iat > now + self.leeway or iat < now - self.max_age:
            raise LogoutTokenError("iat missing or not fresh")
        exp = claims.get("exp")
        if exp is not None and (not isinstance(exp, int) or exp < now - self.leeway):
            raise LogoutTokenError("expired")
        events = claims.get("events")
        if not isinstance(events, dict) or not isinstance(events.get(EVENT), dict):
            raise LogoutTokenError("no back-channel logout event")
        if "nonce" in claims:
            raise LogoutTokenError("a logout token must not contain a nonce")
        if not claims.get("sid") and not claims.get("sub"):
            raise LogoutTokenError("neither sid nor sub")
        jti = claims.get("jti")
        if not isinstance(jti, str) or not jti:
            raise LogoutTokenError("missing jti")
        with self._lock:
            self._seen = {k: v for k, v in self._seen.items() if v > now}
            if jti in self._seen:
                raise LogoutTokenError("replayed jti")
            self._seen[jti] = now + self.max_age + self.leeway
        return claims
