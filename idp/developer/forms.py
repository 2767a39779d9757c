"""The client registration form of the developer portal: what the person typed, as a
:class:`~.clients.ClientSpec`, and each validation problem in words they understand."""

from __future__ import annotations

import json

from flask_babel import lazy_gettext as _l

from ..oidc.claims import SUPPORTED_SCOPES
from .clients import SENSITIVE_CLAIMS, ClientSpec, Problem

TYPE_LABELS = {
    "web": _l("Web portal (server-side, keeps a secret)"),
    "spa": _l("Single-page app (runs in the browser, no secret)"),
    "native": _l("Native app (phone or desktop, no secret)"),
    "mini_program": _l("Mini-program back end (token exchange)"),
    "terminal": _l("Self-service terminal, kiosk or TV (device flow)"),
    "service": _l("Back-end service (no people, client credentials)"),
}
SCOPE_LABELS = {
    "openid": _l("Sign-in (an identifier for the person)"),
    "profile": _l("Name and username"),
    "email": _l("Email address"),
    "phone": _l("Mobile number"),
    "offline_access": _l("Stay connected (refresh tokens that outlive the session)"),
}
SENSITIVE_LABELS = {
    "legal_name": _l("Full legal name"),
    "id_number": _l("Identity document number"),
}
AUTH_LABELS = {
    "client_secret_basic": _l("Client secret (HTTP Basic)"),
    "client_secret_post": _l("Client secret (in the form body)"),
    "private_key_jwt": _l("Private key (signed JWT, private_key_jwt)"),
}
FIELD_LABELS = {
    "client_name": _l("Name"), "client_type": _l("Type"), "environment": _l("Environment"),
    "redirect_uris": _l("Redirect URIs"),
    "post_logout_redirect_uris": _l("Post-logout redirect URIs"),
    "frontchannel_logout_uri": _l("Front-channel logout URI"),
    "backchannel_logout_uri": _l("Back-channel logout URI"),
    "initiate_login_uri": _l("Login initiation URI"), "logo_uri": _l("Logo URL"),
    "client_uri": _l("Home page"), "policy_uri": _l("Privacy policy URL"),
    "tos_uri": _l("Terms of service URL"), "jwks_uri": _l("JWKS URL"), "jwks": _l("Public keys"),
    "sector_identifier_uri": _l("Sector identifier URL"), "scope": _l("Scopes"),
    "token_endpoint_auth_method": _l("Client authentication"),
    "token_endpoint_auth_signing_alg": _l("Signing algorithm"),
    "id_token_signed_response_alg": _l("ID token algorithm"),
    "subject_type": _l("Subject identifiers"), "require_pkce": _l("PKCE"),
    "sensitive_claims": _l("Sensitive information"), "sensitive_purpose": _l("Purpose"),
    "sensitive_legal_basis": _l("Legal basis"), "description": _l("Description"),
    "contacts": _l("Contact"),
    # the same fields under the names the approval diff uses
    "name": _l("Name"), "auth_method": _l("Client authentication"),
    "id_token_alg": _l("ID token algorithm"), "auth_signing_alg": _l("Signing algorithm"),
    "first_party": _l("First-party portal (no consent page)"),
    "require_nonce": _l("Nonce required"),
}
MESSAGES = {
    "required": _l("This is required."),
    "too_long": _l("This is too long."),
    "too_many": _l("Too many entries (at most 20)."),
    "duplicate": _l("An entry appears twice."),
    "empty": _l("An entry is empty."),
    "whitespace": _l("Addresses cannot contain spaces or control characters."),
    "not_uri": _l("This is not a valid address."),
    "not_absolute": _l("Use a full address, starting with https://"),
    "fragment": _l("Addresses cannot contain a # fragment."),
    "wildcard": _l("Wildcards (*) are not allowed: list every address exactly."),
    "credentials": _l("Addresses cannot contain a user name or password (@)."),
    "host_missing": _l("The address has no host."),
    "scheme": _l("This kind of address is not allowed. Use https://"),
    "https_only": _l("Use an https:// address."),
    "http_loopback_only": _l(
        "Use https. Plain http is only for native apps on 127.0.0.1 or [::1]."),
    "private_scheme": _l(
        "App schemes must be a reversed domain name you own, e.g. cn.gov.example.app"),
    "not_for_type": _l("Clients of this type do not use this."),
    "unknown_type": _l("Choose a type."),
    "unknown_environment": _l("Choose sandbox or production."),
    "public_pkce": _l("Apps without a secret always use PKCE."),
    "public_client": _l("Apps of this type cannot keep a secret and use no client authentication."),
    "auth_method": _l("Choose one of the offered authentication methods."),
    "jwks_required": _l("Give your public keys or the URL where they are published."),
    "jwks_and_jwks_uri": _l("Give your public keys or their URL, not both."),
    "jwks_shape": _l("Paste a JSON Web Key Set: {\"keys\": [...]}."),
    "jwks_count": _l("Give between 1 and 10 keys."),
    "jwks_key_type": _l("Only RSA and EC public keys are accepted."),
    "jwks_private": _l("This contains a private key. Paste only the public keys."),
    "jwks_kid": _l("Each key needs its own key id (kid)."),
    "jwks_invalid": _l("A key could not be read."),
    "jwks_weak": _l("RSA keys must have at least 2048 bits."),
    "alg": _l("This algorithm is not offered."),
    "subject_type": _l("Choose public or pairwise."),
    "pairwise_only": _l("Only for pairwise subject identifiers."),
    "unknown_scope": _l("A scope is not offered."),
    "unknown_claim": _l("Unknown sensitive information."),
    "contacts": _l("Give up to 5 contacts."),
    "fetch_refused": _l("The address points somewhere this service may not reach."),
    "fetch_failed": _l("The address could not be read. Check that it is online and public."),
    "sector_mismatch": _l("The document at this address must list every redirect URI."),
    "sector_format": _l("The document at this address must be a JSON list of URIs."),
    "exists": _l("Already exists."),
    "json": _l("This is not valid JSON."),
}


def message_for(problem: Problem) -> str:
    message = str(MESSAGES.get(problem.code, problem))
    value = getattr(problem, "value", None)
    return f"{value[:200]} — {message}" if value else message


def by_field(problems: list[Problem]) -> dict[str, list[str]]:
    grouped: dict[str, list[str]] = {}
    for problem in problems:
        grouped.setdefault(problem.field, []).append(message_for(problem))
    return grouped


def _lines(value: str | None) -> list[str]:
    return [line.strip() for line in (value or "").splitlines() if line.strip()]


def _optional(value: str | None) -> str | None:
    value = (value or "").strip()
    return value or None


def spec_from_form(form, base: ClientSpec | None = None) -> tuple[ClientSpec, list[Problem]]:
    """The spec the form describes (on top of `base` when editing), and any problems that
    are about the form itself (e.g. keys that are not JSON)."""
    problems = []
    jwks = None
    raw_jwks = (form.get("jwks") or "").strip()
    if raw_jwks:
        try:
            jwks = json.loads(raw_jwks)
        except ValueError:
            problems.append(Problem("jwks", "json"))
    scopes = [s for s in SUPPORTED_SCOPES if form.get(f"scope_{s}")]
    sensitive = [c for c in SENSITIVE_CLAIMS if form.get(f"sensitive_{c}")]
    client_type = base.client_type if base else form.get("client_type", "web")
    auth_method = form.get("auth_method") or None
    contact = _optional(form.get("contact"))
    spec = ClientSpec(
        name=(form.get("name") or "").strip(), client_type=client_type,
        environment=base.environment if base else form.get("environment", "sandbox"),
        redirect_uris=_lines(form.get("redirect_uris")),
        post_logout_redirect_uris=_lines(form.get("post_logout_redirect_uris")),
        frontchannel_logout_uri=_optional(form.get("frontchannel_logout_uri")),
        backchannel_logout_uri=_optional(form.get("backchannel_logout_uri")),
        initiate_login_uri=_optional(form.get("initiate_login_uri")),
        scope=" ".join(scopes) if client_type != "service" else (
            _optional(form.get("service_scope")) or ""),
        auth_method=auth_method, jwks=jwks, jwks_uri=_optional(form.get("jwks_uri")),
        subject_type=form.get("subject_type") or "public",
        description=_optional(form.get("description")),
        contacts=[contact] if contact else [],
        logo_uri=_optional(form.get("logo_uri")), policy_uri=_optional(form.get("policy_uri")),
        tos_uri=_optional(form.get("tos_uri")), client_uri=_optional(form.get("client_uri")),
        sector_identifier_uri=_optional(form.get("sector_identifier_uri")),
        sensitive_claims=sensitive, sensitive_purpose=_optional(form.get("sensitive_purpose")),
        sensitive_legal_basis=_optional(form.get("sensitive_legal_basis")),
    )
    if base is not None:
        spec.first_party = base.first_party
        spec.id_token_alg = base.id_token_alg
        spec.require_nonce = base.require_nonce
        spec.require_pkce = base.require_pkce
        spec.auth_signing_alg = base.auth_signing_alg
    return spec, problems


def form_values(spec: ClientSpec) -> dict:
    """What the form shows for `spec` (editing, or re-showing after a problem)."""
    return {
        "name": spec.name, "client_type": spec.client_type, "environment": spec.environment,
        "redirect_uris": "\n".join(spec.redirect_uris),
        "post_logout_redirect_uris": "\n".join(spec.post_logout_redirect_uris),
        "frontchannel_logout_uri": spec.frontchannel_logout_uri or "",
        "backchannel_logout_uri": spec.backchannel_logout_uri or "",
        "initiate_login_uri": spec.initiate_login_uri or "",
        "scopes": set(spec.effective_scope.split()), "service_scope": spec.effective_scope,
        "auth_method": spec.auth_method or "client_secret_basic",
        "jwks": json.dumps(spec.jwks, indent=1) if spec.jwks else "",
        "jwks_uri": spec.jwks_uri or "", "subject_type": spec.subject_type,
        "description": spec.description or "", "contact": (spec.contacts or [""])[0],
        "logo_uri": spec.logo_uri or "", "policy_uri": spec.policy_uri or "",
        "tos_uri": spec.tos_uri or "", "client_uri": spec.client_uri or "",
        "sector_identifier_uri": spec.sector_identifier_uri or "",
        "sensitive": set(spec.sensitive_claims),
        "sensitive_purpose": spec.sensitive_purpose or "",
        "sensitive_legal_basis": spec.sensitive_legal_basis or "",
    }
