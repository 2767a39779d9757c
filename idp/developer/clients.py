"""Creating and validating clients: the one set of rules every client meets, whether an operator
(CLI), a developer (portal) or the client itself (RFC 7591) registers it.

:func:`problems_of` checks a :class:`ClientSpec` without touching the network;
:mod:`.remote_checks` adds what needs a fetch (jwks_uri, sector_identifier_uri). Each problem
names the metadata field it is about (RFC 7591 names) and a short code, so the portal can say it
in the person's language and the registration endpoint can choose the RFC 7591 error.
"""

from __future__ import annotations

import dataclasses
import secrets
from dataclasses import dataclass, field
from datetime import datetime
from urllib.parse import urlsplit

from sqlalchemy import select

from .. import audit
from ..authn import assurance
from ..extensions import db
from ..models import Client
from ..models.client import CLIENT_TYPES, ENVIRONMENTS
from ..oidc.claims import SUPPORTED_SCOPES
from ..oidc.client_jwks import ClientKeysError, parse_public_jwks
from ..oidc.keys import SIGNING_ALGS
from . import uris

TOKEN_EXCHANGE = "urn:ietf:params:oauth:grant-type:token-exchange"
DEVICE_CODE = "urn:ietf:params:oauth:grant-type:device_code"


@dataclass(frozen=True)
class TypeRule:
    public: bool
    #: signs people in through the authorization endpoint (so has redirect URIs)
    interactive: bool
    grants: tuple[str, ...]


#: DESIGN.md §4: how each kind of client gets its tokens.
TYPE_RULES = {
    "web": TypeRule(False, True, ("authorization_code", "refresh_token")),
    "spa": TypeRule(True, True, ("authorization_code", "refresh_token")),
    "native": TypeRule(True, True, ("authorization_code", "refresh_token")),
    # the mini-program's back end trades a platform identity for tokens (RFC 8693)
    "mini_program": TypeRule(False, False, (TOKEN_EXCHANGE,)),
    # kiosks and terminals: device authorization grant (RFC 8628), no refresh token
    "terminal": TypeRule(True, False, (DEVICE_CODE,)),
    "service": TypeRule(False, False, ("client_credentials",)),
}
DEFAULT_GRANTS = {kind: list(rule.grants) for kind, rule in TYPE_RULES.items()}
DEFAULT_SCOPE = "openid profile email phone"
SECRET_METHODS = ("client_secret_basic", "client_secret_post")
CONFIDENTIAL_METHODS = (*SECRET_METHODS, "private_key_jwt")
#: client assertion algorithms we verify: asymmetric only (no HMAC: secrets are stored hashed)
ASSERTION_ALGS = ("RS256", "PS256", "ES256")
#: claims that identify a person in law; asked for only with a purpose and a legal basis
SENSITIVE_CLAIMS = ("legal_name", "id_number")
MAX_URIS = 20
MAX_TEXT = 2000


class Problem(str):
    """One reason a registration is refused: ``field`` (RFC 7591 metadata name), ``code``
    (short, stable), and as a string "field: message" for operators."""

    field: str
    code: str
    #: the offending entry of a list field, when there is one
    value: str | None

    def __new__(cls, field: str, code: str, message: str | None = None,
                value: str | None = None) -> Problem:
        obj = super().__new__(cls, f"{field}: {message or code.replace('_', ' ')}")
        obj.field = field
        obj.code = code
        obj.value = value
        return obj


class ClientRejected(ValueError):
    def __init__(self, problems: list[Problem]):
        super().__init__("; ".join(problems))
        self.problems = problems


def new_client_id() -> str:
    # 26 characters with a fixed prefix: never the shape of a person's 22-character `sub`.
    return "tbc_" + secrets.token_urlsafe(16)


def new_client_secret() -> str:
    return "tbs_" + secrets.token_urlsafe(32)


@dataclass
class ClientSpec:
    """A client's registrable metadata. `client_id`/`client_secret` may only be fixed by an
    operator (CLI, tests); the portal and RFC 7591 never pass them (RFC 9700 §4.15)."""

    name: str
    client_type: str = "web"
    redirect_uris: list[str] = field(default_factory=list)
    post_logout_redirect_uris: list[str] = field(default_factory=list)
    frontchannel_logout_uri: str | None = None
    backchannel_logout_uri: str | None = None
    backchannel_logout_session_required: bool = True
    scope: str | None = None
    first_party: bool = False
    require_pkce: bool = True
    require_nonce: bool = False
    auth_method: str | None = None
    id_token_alg: str = "RS256"
    subject_type: str = "public"
    client_id: str | None = None
    client_secret: str | None = None
    environment: str = "production"
    description: str | None = None
    contacts: list[str] = field(default_factory=list)
    logo_uri: str | None = None
    client_uri: str | None = None
    policy_uri: str | None = None
    tos_uri: str | None = None
    initiate_login_uri: str | None = None
    sensitive_claims: list[str] = field(default_factory=list)
    sensitive_purpose: str | None = None
    sensitive_legal_basis: str | None = None
    sector_identifier_uri: str | None = None
    jwks: dict | None = None
    jwks_uri: str | None = None
    auth_signing_alg: str | None = None
    #: lowest acr accepted (urn:tongban:aal1 or urn:tongban:aal2); None: any
    min_acr: str | None = None
    #: real-name level (0-4) a person needs before this client gets a code
    min_real_name_level: int = 0
    #: may receive the full legal name and number (still only with the person's consent)
    full_identity_approved: bool = False
    #: may receive department staff's `employee_number` (scope `department`)
    release_employee_number: bool = False

    @property
    def effective_scope(self) -> str:
        if self.scope is not None:
            return self.scope
        # Every type but a back-end service acts for a person.
        return "" if self.client_type == "service" else DEFAULT_SCOPE

    @property
    def effective_auth_method(self) -> str:
        rule = TYPE_RULES.get(self.client_type)
        if rule is not None and rule.public:
            return "none"
        return self.auth_method or "client_secret_basic"

    def as_metadata(self) -> dict:
        """JSON-safe, without the operator-only credentials (for approvals and diffs)."""
        data = dataclasses.asdict(self)
        data.pop("client_id")
        data.pop("client_secret")
        data["scope"] = self.effective_scope
        data["auth_method"] = self.effective_auth_method
        return data

    @classmethod
    def from_metadata(cls, data: dict) -> ClientSpec:
        known = {f.name for f in dataclasses.fields(cls)} - {"client_id", "client_secret"}
        return cls(**{k: v for k, v in data.items() if k in known})


def _uri_problems(spec: ClientSpec, *, allow_http_loopback: bool) -> list[Problem]:
    problems = []
    native = spec.client_type == "native"
    for name in uris.REDIRECT_FIELDS:
        values = getattr(spec, name)
        if len(values) > MAX_URIS:
            problems.append(Problem(name, "too_many"))
        if len(set(values)) != len(values):
            problems.append(Problem(name, "duplicate"))
        for uri in values:
            code = uris.problem(uri, name, native=native, allow_http_loopback=allow_http_loopback)
            if code:
                problems.append(Problem(name, code, f"{uri!r}: {uris.explain(code)}", value=uri))
    for name in uris.URL_FIELDS:
        uri = getattr(spec, name)
        if uri is None:
            continue
        code = uris.problem(uri, name, allow_http_loopback=allow_http_loopback)
        if code:
            problems.append(Problem(name, code, f"{uri!r}: {uris.explain(code)}"))
    return problems


def _auth_problems(spec: ClientSpec, rule: TypeRule) -> list[Problem]:
    problems = []
    method = spec.auth_method
    if rule.public:
        if method not in (None, "none"):
            problems.append(Problem("token_endpoint_auth_method", "public_client"))
    elif method not in (None, *CONFIDENTIAL_METHODS):
        problems.append(Problem("token_endpoint_auth_method", "auth_method"))
    if spec.jwks is not None and spec.jwks_uri is not None:
        problems.append(Problem("jwks", "jwks_and_jwks_uri"))
    if spec.jwks is not None:
        try:
            parse_public_jwks(spec.jwks)
        except ClientKeysError as exc:
            problems.append(Problem("jwks", exc.code))
    if method == "private_key_jwt" and spec.jwks is None and spec.jwks_uri is None:
        problems.append(Problem("jwks", "jwks_required"))
    if spec.auth_signing_alg is not None and spec.auth_signing_alg not in ASSERTION_ALGS:
        problems.append(Problem("token_endpoint_auth_signing_alg", "alg"))
    return problems


def _sensitive_problems(spec: ClientSpec) -> list[Problem]:
    problems = []
    unknown = [c for c in spec.sensitive_claims if c not in SENSITIVE_CLAIMS]
    if unknown:
        problems.append(Problem("sensitive_claims", "unknown_claim", f"unknown {unknown}"))
    if spec.sensitive_claims:
        if not (spec.sensitive_purpose or "").strip():
            problems.append(Problem("sensitive_purpose", "required"))
        if not (spec.sensitive_legal_basis or "").strip():
            problems.append(Problem("sensitive_legal_basis", "required"))
    return problems


def problems_of(spec: ClientSpec, *, allow_http_loopback: bool) -> list[Problem]:
    """Everything wrong with `spec` that can be told without the network."""
    problems = []
    if not (spec.name or "").strip() or len(spec.name) > 200:
        problems.append(Problem("client_name", "required", "required, at most 200 characters"))
    rule = TYPE_RULES.get(spec.client_type)
    if spec.client_type not in CLIENT_TYPES or rule is None:
        problems.append(Problem("client_type", "unknown_type",
                                f"one of {', '.join(CLIENT_TYPES)}"))
        return problems
    if spec.environment not in ENVIRONMENTS:
        problems.append(Problem("environment", "unknown_environment"))
    if rule.interactive and not spec.redirect_uris:
        problems.append(Problem("redirect_uris", "required", "at least one is required"))
    if not rule.interactive:
        for name in ("redirect_uris", "post_logout_redirect_uris", "frontchannel_logout_uri",
                     "initiate_login_uri"):
            if getattr(spec, name):
                problems.append(Problem(name, "not_for_type"))
    problems += _uri_problems(spec, allow_http_loopback=allow_http_loopback)
    if rule.public and not spec.require_pkce:
        problems.append(Problem("require_pkce", "public_pkce", "public clients always use PKCE"))
    problems += _auth_problems(spec, rule)
    if spec.id_token_alg not in SIGNING_ALGS:
        problems.append(Problem("id_token_signed_response_alg", "alg",
                                f"one of {', '.join(SIGNING_ALGS)}"))
    if spec.subject_type not in ("public", "pairwise"):
        problems.append(Problem("subject_type", "subject_type", "public or pairwise"))
    if spec.min_real_name_level not in (0, 1, 2, 3, 4):
        problems.append(Problem("min_real_name_level", "level", "0 to 4"))
    if spec.min_acr is not None and spec.min_acr not in assurance.ISSUED:
        problems.append(Problem("min_acr", "unknown_acr", f"one of {', '.join(assurance.ISSUED)}"))
    if spec.sector_identifier_uri and spec.subject_type != "pairwise":
        problems.append(Problem("sector_identifier_uri", "pairwise_only"))
    if spec.client_type != "service":
        unknown = [s for s in spec.effective_scope.split() if s not in SUPPORTED_SCOPES]
        if unknown:
            problems.append(Problem("scope", "unknown_scope", f"unknown {' '.join(unknown)}"))
    problems += _sensitive_problems(spec)
    for name in ("description", "sensitive_purpose", "sensitive_legal_basis"):
        if len(getattr(spec, name) or "") > MAX_TEXT:
            problems.append(Problem(name, "too_long"))
    if len(spec.contacts) > 5 or any(not isinstance(c, str) or not c.strip() or len(c) > 254
                                     for c in spec.contacts):
        problems.append(Problem("contacts", "contacts"))
    return problems


def apply(client: Client, spec: ClientSpec, now: datetime) -> None:
    """Copy `spec` onto `client` (metadata only: never its id, secret or status)."""
    rule = TYPE_RULES[spec.client_type]
    client.name = spec.name.strip()
    client.client_type = spec.client_type
    client.token_endpoint_auth_method = spec.effective_auth_method
    client.redirect_uris = list(spec.redirect_uris)
    client.post_logout_redirect_uris = list(spec.post_logout_redirect_uris)
    client.frontchannel_logout_uri = spec.frontchannel_logout_uri
    client.backchannel_logout_uri = spec.backchannel_logout_uri
    client.backchannel_logout_session_required = spec.backchannel_logout_session_required
    client.grant_types = list(rule.grants)
    client.response_types = ["code"] if rule.interactive else []
    client.scope = spec.effective_scope
    client.require_pkce = spec.require_pkce or rule.public
    client.require_nonce = spec.require_nonce
    client.first_party = spec.first_party
    client.id_token_signed_response_alg = spec.id_token_alg
    client.subject_type = spec.subject_type
    client.environment = spec.environment
    client.description = spec.description
    client.contacts = list(spec.contacts)
    for name in ("logo_uri", "client_uri", "policy_uri", "tos_uri", "initiate_login_uri",
                 "sensitive_purpose", "sensitive_legal_basis", "jwks_uri"):
        setattr(client, name, getattr(spec, name))
    client.sensitive_claims = list(spec.sensitive_claims)
    client.sector_identifier_uri = spec.sector_identifier_uri
    if spec.sector_identifier_uri:
        # OIDC Core §8.1: the sector is the host of the sector_identifier_uri.
        client.sector_identifier = urlsplit(spec.sector_identifier_uri).hostname
    client.jwks = spec.jwks
    client.token_endpoint_auth_signing_alg = spec.auth_signing_alg
    client.min_acr = spec.min_acr
    client.min_real_name_level = spec.min_real_name_level
    client.full_identity_approved = spec.full_identity_approved
    client.release_employee_number = spec.release_employee_number
    client.updated_at = now


def spec_of(client: Client) -> ClientSpec:
    """The metadata `client` is registered with now."""
    return ClientSpec(
        name=client.name, client_type=client.client_type,
        redirect_uris=list(client.redirect_uris or []),
        post_logout_redirect_uris=list(client.post_logout_redirect_uris or []),
        frontchannel_logout_uri=client.frontchannel_logout_uri,
        backchannel_logout_uri=client.backchannel_logout_uri,
        backchannel_logout_session_required=client.backchannel_logout_session_required,
        scope=client.scope,
        first_party=client.first_party, require_pkce=client.require_pkce,
        require_nonce=client.require_nonce,
        auth_method=(None if client.token_endpoint_auth_method == "none"
                     else client.token_endpoint_auth_method),
        id_token_alg=client.id_token_signed_response_alg, subject_type=client.subject_type,
        environment=client.environment or "production", description=client.description,
        contacts=list(client.contacts or []), logo_uri=client.logo_uri,
        client_uri=client.client_uri, policy_uri=client.policy_uri, tos_uri=client.tos_uri,
        initiate_login_uri=client.initiate_login_uri,
        sensitive_claims=list(client.sensitive_claims or []),
        sensitive_purpose=client.sensitive_purpose,
        sensitive_legal_basis=client.sensitive_legal_basis,
        sector_identifier_uri=client.sector_identifier_uri, jwks=client.jwks,
        jwks_uri=client.jwks_uri, auth_signing_alg=client.token_endpoint_auth_signing_alg,
        min_acr=client.min_acr, min_real_name_level=client.min_real_name_level,
        full_identity_approved=client.full_identity_approved,
        release_employee_number=client.release_employee_number)


def create(spec: ClientSpec, *, now: datetime, allow_http_loopback: bool,
           status: str = "active", organisation_id: int | None = None,
           via: str = "cli", person_id: int | None = None) -> tuple[Client, str | None]:
    """Create a client; returns it with its secret, which is shown once and stored hashed."""
    problems = problems_of(spec, allow_http_loopback=allow_http_loopback)
    if spec.client_id and db.session.scalar(select(Client).where(
            Client.client_id == spec.client_id)):
        problems.append(Problem("client_id", "exists", "already exists"))
    if problems:
        raise ClientRejected(problems)
    public = TYPE_RULES[spec.client_type].public
    uses_secret = not public and spec.effective_auth_method in SECRET_METHODS
    secret = (spec.client_secret or new_client_secret()) if uses_secret else None
    client = Client(client_id=spec.client_id or new_client_id(), status=status,
                    organisation_id=organisation_id, registered_via=via, created_at=now)
    apply(client, spec, now)
    client.set_secret(secret)
    db.session.add(client)
    db.session.flush()
    audit.record("client.created", person_id=person_id, client_id=client.client_id,
                 client_type=client.client_type, status=status, via=via,
                 environment=client.environment)
    return client, secret


def describe(client: Client) -> dict:
    return {
        "client_id": client.client_id, "name": client.name, "type": client.client_type,
        "status": client.status, "environment": client.environment,
        "token_endpoint_auth_method": client.token_endpoint_auth_method,
        "redirect_uris": client.redirect_uris,
        "post_logout_redirect_uris": client.post_logout_redirect_uris,
        "frontchannel_logout_uri": client.frontchannel_logout_uri,
        "backchannel_logout_uri": client.backchannel_logout_uri,
        "grant_types": client.grant_types, "scope": client.scope,
        "first_party": client.first_party, "require_pkce": client.require_pkce,
        "min_acr": client.min_acr,
        "min_real_name_level": client.min_real_name_level,
        "full_identity_approved": client.full_identity_approved,
        "release_employee_number": client.release_employee_number,
    }
