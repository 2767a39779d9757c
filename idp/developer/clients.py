"""Creating and validating clients (operator CLI today; the developer portal and RFC 7591 build
on the same rules)."""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select

from .. import audit
from ..extensions import db
from ..models import Client
from ..models.client import CLIENT_TYPES, PUBLIC_TYPES
from ..oidc import redirect_uris
from ..oidc.claims import SUPPORTED_SCOPES
from ..oidc.keys import SIGNING_ALGS

DEFAULT_GRANTS = {
    "web": ["authorization_code", "refresh_token"],
    "spa": ["authorization_code", "refresh_token"],
    "native": ["authorization_code", "refresh_token"],
    "service": ["client_credentials"],
    # RFC 8693: a mini-program back end exchanges platform codes; no refresh token (every token
    # rests on a fresh platform check).
    "miniprogram": ["urn:ietf:params:oauth:grant-type:token-exchange"],
    # RFC 8628: terminals poll for a device code; short sessions, no refresh token.
    "terminal": ["urn:ietf:params:oauth:grant-type:device_code"],
}
#: types that never redirect a browser anywhere
NO_REDIRECT_TYPES = ("service", "miniprogram", "terminal")
DEFAULT_SCOPE = "openid profile email phone"


class ClientRejected(ValueError):
    def __init__(self, problems: list[str]):
        super().__init__("; ".join(problems))
        self.problems = problems


def new_client_id() -> str:
    # 26 characters with a fixed prefix: never the shape of a person's 22-character `sub`.
    return "tbc_" + secrets.token_urlsafe(16)


def new_client_secret() -> str:
    return "tbs_" + secrets.token_urlsafe(32)


@dataclass
class ClientSpec:
    name: str
    client_type: str = "web"
    redirect_uris: list[str] = field(default_factory=list)
    post_logout_redirect_uris: list[str] = field(default_factory=list)
    frontchannel_logout_uri: str | None = None
    scope: str | None = None
    first_party: bool = False
    require_pkce: bool = True
    require_nonce: bool = False
    auth_method: str | None = None
    id_token_alg: str = "RS256"
    subject_type: str = "public"
    client_id: str | None = None
    client_secret: str | None = None


#: RFC 8252 §7.1: a private-use scheme is a reverse domain name the developer controls
#: ("gov.example.zhengwu"), all lowercase so that exact matching stays exact
_REVERSE_DOMAIN = re.compile(r"^[a-z]{2,63}(\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)+$")


def native_redirect_problem(uri: str) -> str | None:
    """RFC 8252 rules a native app's redirect URI must meet beyond the general ones: loopback
    http (any port at run time), a claimed https URL, or a reverse-domain private-use scheme
    whose redirect carries no host of its own (`gov.example.app:/callback`)."""
    scheme, _, rest = uri.partition(":")
    if scheme.lower() in ("http", "https"):
        return None
    if not _REVERSE_DOMAIN.match(scheme):
        return "private-use schemes must be a lowercase reverse domain name (gov.example.app)"
    if rest.startswith("//"):
        return "private-use scheme redirects take a path only (gov.example.app:/callback)"
    if not rest.startswith("/"):
        return "private-use scheme redirects need a path (gov.example.app:/callback)"
    return None


def problems_of(spec: ClientSpec, *, allow_http_loopback: bool) -> list[str]:
    problems = []
    if not spec.name.strip() or len(spec.name) > 200:
        problems.append("name: required, at most 200 characters")
    if spec.client_type not in CLIENT_TYPES:
        problems.append(f"type: one of {', '.join(CLIENT_TYPES)}")
        return problems
    native = spec.client_type == "native"
    if spec.client_type in NO_REDIRECT_TYPES:
        if spec.redirect_uris or spec.post_logout_redirect_uris:
            problems.append(f"redirect_uris: {spec.client_type} clients have none")
    elif not spec.redirect_uris:
        problems.append("redirect_uris: at least one is required")
    for uri in [*spec.redirect_uris, *spec.post_logout_redirect_uris,
                *([spec.frontchannel_logout_uri] if spec.frontchannel_logout_uri else [])]:
        # Outside production web portals may use loopback http (the local demo).
        problem = redirect_uris.registration_problem(uri, native=native or allow_http_loopback)
        if problem is None and native:
            problem = native_redirect_problem(uri)
        if problem:
            problems.append(f"{uri}: {problem}")
    if spec.client_type in PUBLIC_TYPES and not spec.require_pkce:
        problems.append("require_pkce: public clients always use PKCE")
    if spec.auth_method and spec.auth_method not in ("client_secret_basic", "client_secret_post"):
        problems.append("auth_method: client_secret_basic or client_secret_post")
    if spec.id_token_alg not in SIGNING_ALGS:
        problems.append(f"id_token_alg: one of {', '.join(SIGNING_ALGS)}")
    if spec.subject_type not in ("public", "pairwise"):
        problems.append("subject_type: public or pairwise")
    scope = _scope_of(spec)
    if spec.client_type != "service":
        unknown = [s for s in scope.split() if s not in SUPPORTED_SCOPES]
        if unknown:
            problems.append(f"scope: unknown {' '.join(unknown)}")
    return problems


def _scope_of(spec: ClientSpec) -> str:
    if spec.scope is not None:
        return spec.scope
    return "" if spec.client_type == "service" else DEFAULT_SCOPE


def create(spec: ClientSpec, *, now: datetime, allow_http_loopback: bool) -> tuple[Client, str | None]:
    """Create a client; returns it with its secret, which is shown once and stored hashed."""
    problems = problems_of(spec, allow_http_loopback=allow_http_loopback)
    if spec.client_id and db.session.scalar(select(Client).where(
            Client.client_id == spec.client_id)):
        problems.append("client_id: already exists")
    if problems:
        raise ClientRejected(problems)
    public = spec.client_type in PUBLIC_TYPES
    secret = None if public else (spec.client_secret or new_client_secret())
    scope = _scope_of(spec)
    client = Client(
        client_id=spec.client_id or new_client_id(), name=spec.name.strip(),
        client_type=spec.client_type,
        token_endpoint_auth_method="none" if public else (spec.auth_method or "client_secret_basic"),
        redirect_uris=list(spec.redirect_uris),
        post_logout_redirect_uris=list(spec.post_logout_redirect_uris),
        frontchannel_logout_uri=spec.frontchannel_logout_uri,
        grant_types=DEFAULT_GRANTS[spec.client_type],
        response_types=[] if spec.client_type in NO_REDIRECT_TYPES else ["code"],
        scope=scope, require_pkce=spec.require_pkce or public, require_nonce=spec.require_nonce,
        first_party=spec.first_party, id_token_signed_response_alg=spec.id_token_alg,
        subject_type=spec.subject_type, status="active", created_at=now, updated_at=now,
    )
    client.set_secret(secret)
    db.session.add(client)
    db.session.flush()
    audit.record("client.created", client_id=client.client_id, client_type=client.client_type)
    return client, secret


def describe(client: Client) -> dict:
    return {
        "client_id": client.client_id, "name": client.name, "type": client.client_type,
        "status": client.status, "token_endpoint_auth_method": client.token_endpoint_auth_method,
        "redirect_uris": client.redirect_uris,
        "post_logout_redirect_uris": client.post_logout_redirect_uris,
        "frontchannel_logout_uri": client.frontchannel_logout_uri,
        "grant_types": client.grant_types, "scope": client.scope,
        "first_party": client.first_party, "require_pkce": client.require_pkce,
    }
