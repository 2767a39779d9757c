"""Which claims about a person a client receives (OIDC Core §5), and the `sub` it sees.

Scopes map to standard claims (§5.4); the `claims` request parameter (§5.5) can ask for
individual claims in the ID token or at UserInfo. Pairwise subjects (§8.1) give each sector its
own `sub` so that unrelated clients cannot join their records on it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from urllib.parse import urlsplit

from ..clock import to_timestamp
from ..models import Client, Person

SCOPE_CLAIMS: dict[str, tuple[str, ...]] = {
    "profile": ("name", "preferred_username", "updated_at"),
    "email": ("email", "email_verified"),
    "phone": ("phone_number", "phone_number_verified"),
    # Department staff (DESIGN.md §3); employee_number only to clients allowed it.
    "department": ("department", "roles", "employee_number"),
}
SUPPORTED_SCOPES = ("openid", "profile", "email", "phone", "department", "offline_access")
SUPPORTED_CLAIMS = ("sub", "iss", "aud", "exp", "iat", "auth_time", "nonce", "acr", "amr", "sid",
                    "at_hash", "real_name_level", "verified_claims",
                    *{c for claims in SCOPE_CLAIMS.values() for c in claims})
#: OpenID Connect for Identity Assurance: released only on request, through consent
ASSURANCE_CLAIMS = ("verified_claims",)
RELEASABLE = frozenset(c for claims in SCOPE_CLAIMS.values() for c in claims) | frozenset(
    ASSURANCE_CLAIMS)


class ClaimsRequestError(ValueError):
    """The `claims` parameter is not a JSON object of the shape §5.5 describes."""


def parse_claims_request(raw: str | None) -> dict | None:
    if not raw:
        return None
    try:
        value = json.loads(raw)
    except ValueError as exc:
        raise ClaimsRequestError("The 'claims' parameter is not valid JSON.") from exc
    if not isinstance(value, dict):
        raise ClaimsRequestError("The 'claims' parameter must be a JSON object.")
    for member in ("id_token", "userinfo"):
        part = value.get(member)
        if part is None:
            continue
        if not isinstance(part, dict) or not all(
                v is None or isinstance(v, dict) for v in part.values()):
            raise ClaimsRequestError(f"The 'claims.{member}' member must be an object of claim "
                                     "requests.")
    return {m: value[m] for m in ("id_token", "userinfo") if isinstance(value.get(m), dict)}


def requested_claim_names(claims_request: dict | None, member: str) -> set[str]:
    if not claims_request:
        return set()
    return {name for name in claims_request.get(member, {}) if name in RELEASABLE}


def consented_claim_names(scope: str, claims_request: dict | None) -> set[str]:
    """Every claim a grant would release: what the scopes imply plus what `claims` asks for."""
    names = {c for s in scope.split() for c in SCOPE_CLAIMS.get(s, ())}
    names |= requested_claim_names(claims_request, "userinfo")
    names |= requested_claim_names(claims_request, "id_token")
    return names


def sector_of(client: Client) -> str:
    if client.sector_identifier:
        return client.sector_identifier
    hosts = {urlsplit(uri).hostname or uri for uri in client.redirect_uris or []}
    return sorted(hosts)[0] if len(hosts) == 1 else client.client_id


def subject_for(person: Person, client: Client, pairwise_key: bytes) -> str:
    if client.subject_type != "pairwise":
        return person.sub
    digest = hmac.new(pairwise_key, f"{sector_of(client)}|{person.sub}".encode(),
                      hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def _extra_claims(person: Person, client: Client | None) -> dict:
    """Claims that other parts of the IdP hold about the person (e.g. the directory bridge's
    department and roles): each registers a `source(person, client) -> dict` in
    app.extensions["tongban.claim_sources"]; this module decides what is released."""
    from flask import current_app

    extra: dict = {}
    for source in current_app.extensions.get("tongban.claim_sources", ()):
        extra.update(source(person, client))
    return extra


def _person_claims(person: Person) -> dict:
    claims = {
        "name": person.display_name,
        "preferred_username": person.username,
        "updated_at": to_timestamp(person.updated_at) if person.updated_at else None,
        "email": person.email,
        "email_verified": bool(person.email_verified) if person.email else None,
        "phone_number": f"+86{person.phone}" if person.phone else None,
        "phone_number_verified": bool(person.phone_verified) if person.phone else None,
    }
    return {k: v for k, v in claims.items() if v is not None}


def _available(person: Person, client: Client | None, wanted: set[str]) -> dict:
    available = _person_claims(person)
    if wanted - available.keys():
        # Only asked of the other sources when the person's own record cannot answer.
        available.update(_extra_claims(person, client))
    return available


def userinfo_claims(person: Person, scope: str, claims_request: dict | None,
                    client: Client | None = None) -> dict:
    wanted = {c for s in scope.split() for c in SCOPE_CLAIMS.get(s, ())}
    wanted |= requested_claim_names(claims_request, "userinfo")
    available = _available(person, client, wanted)
    return {k: available[k] for k in sorted(wanted) if k in available}


def id_token_claims(person: Person, claims_request: dict | None,
                    client: Client | None = None) -> dict:
    """Only the claims explicitly requested for the ID token: with the code flow, scope claims
    are delivered at UserInfo (OIDC Core §5.4)."""
    wanted = requested_claim_names(claims_request, "id_token")
    available = _available(person, client, wanted)
    return {k: available[k] for k in sorted(wanted) if k in available}
