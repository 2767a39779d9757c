"""UserInfo (OIDC Core §5.3): the bearer token in the Authorization header or, for POST, in the
form body (RFC 6750 §2.1–2.2), never both; errors per RFC 6750 §3."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from ..extensions import db
from ..models import Client, Person
from . import access_tokens, verified_claims
from . import claims as claims_mod
from .provider import provider


@dataclass
class BearerError(Exception):
    error: str
    description: str
    status: int

    def header(self) -> str:
        value = 'Bearer realm="tongban"'
        if self.error:
            value += f', error="{self.error}", error_description="{self.description}"'
        return value


def bearer_token(method: str, headers, form, query) -> str:
    header = headers.get("Authorization", "")
    from_header = header[7:].strip() if header[:7].lower() == "bearer " else None
    from_body = form.get("access_token") if method == "POST" else None
    if "access_token" in query:
        raise BearerError("invalid_request", "Tokens in the URL are not accepted.", 400)
    if from_header and from_body:
        raise BearerError("invalid_request", "Send the token in one place only.", 400)
    token = from_header or from_body
    if not token:
        raise BearerError("", "", 401)
    return token


def claims_for(token: str) -> dict:
    found = access_tokens.verify(token)
    if found is None:
        raise BearerError("invalid_token", "The access token is invalid, expired or revoked.", 401)
    if "openid" not in found.claims.get("scope", "").split() or found.row.person_id is None:
        raise BearerError("insufficient_scope", "The access token lacks the openid scope.", 403)
    person = db.session.get(Person, found.row.person_id)
    client = db.session.scalar(select(Client).where(Client.id == found.row.client_id))
    if person is None or not person.is_active or client is None:
        raise BearerError("invalid_token", "The access token is no longer valid.", 401)
    body = {"sub": claims_mod.subject_for(person, client, provider().pairwise_key)}
    body.update(claims_mod.userinfo_claims(person, found.row.scope, found.row.claims, client))
    body.update(verified_claims.assurance_claims(person, client, found.row.claims, "userinfo"))
    return body
