"""Minting tokens: RFC 9068 JWT access tokens, opaque rotating refresh tokens, ID tokens.

Each issued token also gets a row (access tokens by `jti`, refresh tokens by SHA-256) so that
revocation, introspection and code-reuse revocation can find it. Rows are added to the caller's
transaction; nothing here commits.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from authlib.oidc.core.util import create_half_hash
from joserfc import jwt

from ..clock import to_timestamp
from ..models import AccessToken, Client, Person, RefreshToken
from ..verification import levels
from . import claims as claims_mod
from . import verified_claims
from .keys import ACCESS_TOKEN_ALG, DEFAULT_ID_TOKEN_ALG, SIGNING_ALGS
from .provider import Provider

REFRESH_PREFIX = "tbr_"


class SigningKeyMissing(RuntimeError):
    """No active key for an algorithm: an operator problem, reported as a plain 500."""


def token_hash(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


@dataclass
class GrantContext:
    """Everything a token says about how it came to be."""

    client: Client
    scope: str
    person: Person | None = None
    sid: str | None = None
    auth_time: datetime | None = None
    acr: str | None = None
    amr: list[str] = field(default_factory=list)
    claims: dict | None = None
    nonce: str | None = None
    code_id: int | None = None
    family_id: str | None = None
    #: further claims for the access and ID tokens (e.g. `real_name_level` from token exchange)
    extra_claims: dict = field(default_factory=dict)


def sign(prov: Provider, alg: str, claims: dict, typ: str | None = None) -> str:
    if alg not in SIGNING_ALGS:
        raise SigningKeyMissing(f"algorithm {alg} is not allowed")
    key = prov.keys.signing_key(alg)
    if key is None:
        raise SigningKeyMissing(f"no active {alg} signing key")
    header = {"alg": alg, "kid": key.kid}
    if typ:
        header["typ"] = typ
    return jwt.encode(header, claims, key.key, algorithms=[alg])


def subject(prov: Provider, ctx: GrantContext) -> str:
    if ctx.person is None:
        # client_credentials: RFC 9068 §2.2 says sub is the client; client ids have a shape of
        # their own (see clients.new_client_id), so they cannot be mistaken for a person's sub.
        return ctx.client.client_id
    return claims_mod.subject_for(ctx.person, ctx.client, prov.pairwise_key)


def access_token(prov: Provider, ctx: GrantContext, now: datetime, ttl: int
                 ) -> tuple[str, AccessToken]:
    jti = secrets.token_urlsafe(16)
    iat = to_timestamp(now)
    body = {
        "iss": prov.issuer, "sub": subject(prov, ctx), "aud": ctx.client.client_id,
        "client_id": ctx.client.client_id, "scope": ctx.scope, "jti": jti,
        "iat": iat, "exp": iat + ttl,
    }
    if ctx.auth_time:
        body["auth_time"] = to_timestamp(ctx.auth_time)
    if ctx.acr:
        body["acr"] = ctx.acr
    if ctx.amr:
        body["amr"] = list(ctx.amr)  # RFC 9068 §2.2.1: resource servers may require a factor
    if ctx.sid:
        body["sid"] = ctx.sid
    if ctx.person is not None:
        # Resource servers decide on the real-name level offline, from the token alone.
        body["real_name_level"] = levels.level_of(ctx.person.id)
    body.update({k: v for k, v in ctx.extra_claims.items() if k not in body})
    value = sign(prov, ACCESS_TOKEN_ALG, body, typ="at+jwt")
    row = AccessToken(jti=jti, client_id=ctx.client.id,
                      person_id=ctx.person.id if ctx.person else None, code_id=ctx.code_id,
                      family_id=ctx.family_id, sid=ctx.sid, scope=ctx.scope, claims=ctx.claims,
                      issued_at=now,
                      expires_at=now + timedelta(seconds=ttl))
    return value, row


def new_refresh_value() -> str:
    return REFRESH_PREFIX + secrets.token_urlsafe(32)


def successor_value(prov: Provider, presented: str) -> str:
    """The refresh token that replaces `presented`, the same every time it is computed, so a
    client whose response was lost gets the very same successor again instead of a fork."""
    mac = hmac.new(prov.refresh_key, presented.encode(), hashlib.sha256).digest()
    return REFRESH_PREFIX + base64.urlsafe_b64encode(mac).rstrip(b"=").decode()


def refresh_token(prov: Provider, ctx: GrantContext, now: datetime, value: str,
                  parent: RefreshToken | None = None, scope: str | None = None
                  ) -> RefreshToken:
    settings = prov.settings
    family_expires = (parent.family_expires_at if parent else
                      now + timedelta(seconds=settings.refresh_absolute_ttl))
    return RefreshToken(
        token_hash=token_hash(value), family_id=ctx.family_id,
        parent_id=parent.id if parent else None,
        client_id=ctx.client.id, person_id=ctx.person.id, code_id=ctx.code_id, sid=ctx.sid,
        scope=scope or ctx.scope, claims=ctx.claims, auth_time=ctx.auth_time, acr=ctx.acr,
        amr=list(ctx.amr), issued_at=now,
        expires_at=min(now + timedelta(seconds=settings.refresh_idle_ttl), family_expires),
        family_expires_at=family_expires,
    )


def id_token(prov: Provider, ctx: GrantContext, now: datetime, access_token_value: str | None
             ) -> str:
    alg = ctx.client.id_token_signed_response_alg or DEFAULT_ID_TOKEN_ALG
    iat = to_timestamp(now)
    body = {
        "iss": prov.issuer, "sub": subject(prov, ctx), "aud": ctx.client.client_id,
        "iat": iat, "exp": iat + prov.settings.id_token_ttl,
        "auth_time": to_timestamp(ctx.auth_time),
    }
    if ctx.nonce:
        body["nonce"] = ctx.nonce
    if ctx.acr:
        body["acr"] = ctx.acr
    if ctx.amr:
        body["amr"] = list(ctx.amr)
    if ctx.sid:
        body["sid"] = ctx.sid
    if access_token_value:
        at_hash = create_half_hash(access_token_value, alg)
        body["at_hash"] = at_hash.decode() if isinstance(at_hash, bytes) else at_hash
    body.update(claims_mod.id_token_claims(ctx.person, ctx.claims, ctx.client))
    body.update(verified_claims.assurance_claims(ctx.person, ctx.client, ctx.claims, "id_token"))
    body.update({k: v for k, v in ctx.extra_claims.items() if k not in body})
    return sign(prov, alg, body)
