"""Checking our own JWT access tokens (RFC 9068 §4) where the IdP itself is the resource server
(UserInfo) or is asked about them (introspection, revocation)."""

from __future__ import annotations

from dataclasses import dataclass

from joserfc import jwt
from joserfc.errors import JoseError
from sqlalchemy import select

from ..clock import to_timestamp, utcnow
from ..extensions import db
from ..models import AccessToken, Client, Person
from .keys import ACCESS_TOKEN_ALG
from .provider import provider


@dataclass
class VerifiedAccessToken:
    claims: dict
    row: AccessToken


def verify(value: str, *, check_expiry: bool = True) -> VerifiedAccessToken | None:
    """The token's claims and row if it is ours, well-formed, unexpired and not revoked."""
    if not value or len(value) > 4096 or value.count(".") != 2:
        return None
    prov = provider()
    try:
        token = jwt.decode(value, prov.keys.verification_keys(), algorithms=[ACCESS_TOKEN_ALG])
    except (JoseError, ValueError):
        return None
    if token.header.get("typ") != "at+jwt":
        return None
    claims = token.claims
    now = to_timestamp(utcnow())
    if claims.get("iss") != prov.issuer or not isinstance(claims.get("exp"), int):
        return None
    if check_expiry and claims["exp"] <= now:
        return None
    # One query: the token's row, and whether its client and person are still active (a
    # disabled account or client ends its tokens everywhere, not only at the token endpoint).
    found = db.session.execute(
        select(AccessToken, Client.status, Person.status)
        .join(Client, Client.id == AccessToken.client_id)
        .outerjoin(Person, Person.id == AccessToken.person_id)
        .where(AccessToken.jti == claims.get("jti"))).first()
    if found is None:
        return None
    row, client_status, person_status = found
    if row.revoked_at is not None or client_status != "active" or person_status not in (
            None, "active"):
        return None
    return VerifiedAccessToken(claims=claims, row=row)
