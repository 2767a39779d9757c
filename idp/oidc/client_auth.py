"""`private_key_jwt` client authentication (RFC 7523 §2.2 and §3, OIDC Core §9), built on
Authlib's JWTBearerClientAssertion and tightened:

* only the asymmetric algorithms we list (or the one the client registered), so neither `none`
  nor an HMAC "signed" with a public key is ever verified (Authlib CVE-2026-28802/-27962);
* header members that would let the assertion bring its own key (`jwk`, `jku`, `x5u`, `x5c`) or
  demand an extension (`crit`) are refused outright;
* `iss` = `sub` = a client registered for private_key_jwt, `aud` = our issuer or the endpoint,
  `exp` required and at most an hour ahead;
* every `jti` is stored until the assertion expires and a second use is refused
  (CONFORMANCE.md §B row 13). It is committed before the request goes on, so a request that
  fails later cannot give the assertion back.

`client_secret_jwt` is not offered: it needs the secret in plaintext and we keep only its hash.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from authlib.oauth2.rfc6749 import InvalidClientError
from authlib.oauth2.rfc7523 import JWTBearerClientAssertion
from authlib.oauth2.rfc7523.client import ASSERTION_TYPE
from joserfc import jwt
from joserfc.errors import JoseError
from sqlalchemy import delete
from sqlalchemy.exc import IntegrityError

from ..clock import to_timestamp, utcnow
from ..extensions import db
from ..fetch import FetchError
from ..models import UsedClientAssertion
from .client_jwks import ClientKeysError, JwksCache, key_set_for
from .provider import provider

log = logging.getLogger(__name__)

METHOD = "private_key_jwt"
ALGORITHMS = ("RS256", "PS256", "ES256")
FORBIDDEN_HEADERS = ("jwk", "jku", "x5u", "x5c", "crit")
MAX_LIFETIME = 3600
MAX_ASSERTION = 8192
#: the endpoints that accept client authentication; an assertion may name any of them
AUDIENCE_PATHS = ("/token", "/introspect", "/revoke")


def _refuse(description: str) -> InvalidClientError:
    return InvalidClientError(status_code=401, description=description)


class PrivateKeyJWT(JWTBearerClientAssertion):
    CLIENT_AUTH_METHOD = METHOD

    def __init__(self, cache: JwksCache):
        super().__init__(validate_jti=False, leeway=60)
        self.cache = cache

    def get_audiences(self) -> list[str]:
        prov = provider()
        return [prov.issuer, *(prov.url(path) for path in AUDIENCE_PATHS)]

    def __call__(self, query_client, request):
        data = request.form
        assertion = data.get("client_assertion")
        if data.get("client_assertion_type") != ASSERTION_TYPE or not assertion:
            return None
        if len(assertion) > MAX_ASSERTION:
            raise _refuse("The client assertion is too large.")
        header, claims = self.extract_assertion(assertion)
        client_id = claims.get("sub")
        if not isinstance(client_id, str):
            raise _refuse("The client assertion has no valid 'sub'.")
        client = query_client(client_id)
        if client is None or client.token_endpoint_auth_method != METHOD:
            raise _refuse("The client does not authenticate with private_key_jwt.")
        self._check_header(header, client)
        verified = self._verify(assertion, header, client)
        self.verify_claims(verified)
        self._check_lifetime(verified)
        self._burn_jti(client, verified)
        request.client = client
        return client

    @staticmethod
    def _check_header(header: dict, client) -> None:
        allowed = ((client.token_endpoint_auth_signing_alg,)
                   if client.token_endpoint_auth_signing_alg else ALGORITHMS)
        if header.get("alg") not in allowed:
            raise _refuse("The client assertion's 'alg' is not accepted.")
        if any(name in header for name in FORBIDDEN_HEADERS):
            raise _refuse("The client assertion carries a forbidden header member.")

    def _verify(self, assertion: str, header: dict, client) -> jwt.Claims:
        settings = provider().settings
        for refresh in (False, True):
            try:
                keys = key_set_for(client, settings, self.cache, refresh=refresh)
            except (ClientKeysError, FetchError) as exc:
                log.warning("client %s keys unusable: %s", client.client_id, exc)
                raise _refuse("The client's registered keys are not usable.") from exc
            try:
                return jwt.decode(assertion, keys, algorithms=[header["alg"]]).claims
            except (JoseError, ValueError) as exc:
                # A client that rotated its keys: look at its jwks_uri once more.
                if refresh or not client.jwks_uri:
                    raise _refuse("The client assertion's signature is not valid.") from exc
        raise _refuse("The client assertion's signature is not valid.")

    @staticmethod
    def _check_lifetime(claims: dict) -> None:
        exp = claims.get("exp")
        if not isinstance(exp, int) or exp - to_timestamp(utcnow()) > MAX_LIFETIME:
            raise _refuse("The client assertion must expire within an hour.")
        if not isinstance(claims.get("jti"), str) or not 0 < len(claims["jti"]) <= 255:
            raise _refuse("The client assertion needs a 'jti'.")

    @staticmethod
    def _burn_jti(client, claims: dict) -> None:
        now = utcnow()
        expires = now + timedelta(seconds=max(0, claims["exp"] - to_timestamp(now)) + 60)
        db.session.execute(delete(UsedClientAssertion).where(
            UsedClientAssertion.expires_at < now))
        db.session.add(UsedClientAssertion(client_id=client.id, jti=claims["jti"],
                                           expires_at=expires))
        try:
            db.session.commit()
        except IntegrityError as exc:
            db.session.rollback()
            raise _refuse("The client assertion was already used.") from exc
