"""Client metadata as RFC 7591 §2 and OIDC Dynamic Client Registration §2 spell it, to and from
the one :class:`~idp.developer.clients.ClientSpec` every registration path validates.

Metadata we understand but do not offer (encrypted or signed UserInfo, request objects,
`default_max_age`, ...) is refused with `invalid_client_metadata` rather than silently
ignored: a client that asked for encryption must not believe it got it. Metadata we do not
understand is ignored (RFC 7591 §2). `client_id` and `client_secret` are never taken from the
registrant (RFC 9700 §4.15).
"""

from __future__ import annotations

from authlib.oauth2.rfc7591 import InvalidClientMetadataError, InvalidRedirectURIError

from ..developer.clients import TYPE_RULES, ClientSpec, Problem

#: understood, not offered: present and not null/empty means the client expects something we
#: would not do
UNSUPPORTED = ("id_token_encrypted_response_alg", "id_token_encrypted_response_enc",
               "userinfo_signed_response_alg", "userinfo_encrypted_response_alg",
               "userinfo_encrypted_response_enc", "request_object_signing_alg",
               "request_object_encryption_alg", "request_object_encryption_enc",
               "request_uris", "default_max_age", "default_acr_values",
               "authorization_signed_response_alg", "tls_client_auth_subject_dn")
STRING_FIELDS = ("client_name", "client_uri", "logo_uri", "policy_uri", "tos_uri",
                 "initiate_login_uri", "frontchannel_logout_uri", "backchannel_logout_uri",
                 "jwks_uri", "sector_identifier_uri", "subject_type", "scope",
                 "token_endpoint_auth_method", "token_endpoint_auth_signing_alg",
                 "id_token_signed_response_alg", "application_type", "client_type",
                 "description", "sensitive_purpose", "sensitive_legal_basis")
LIST_FIELDS = ("redirect_uris", "post_logout_redirect_uris", "grant_types", "response_types",
               "contacts", "sensitive_claims")


def _type_of(data: dict) -> str:
    if data.get("client_type"):
        return data["client_type"]
    grants = data.get("grant_types") or ["authorization_code"]
    if set(grants) == {"client_credentials"}:
        return "service"
    if data.get("application_type") == "native":
        return "native"
    if data.get("token_endpoint_auth_method") == "none":
        return "spa"
    return "web"


def _shape_errors(data: dict) -> list[str]:
    errors = []
    for name in STRING_FIELDS:
        if data.get(name) is not None and not isinstance(data[name], str):
            errors.append(f"{name} must be a string")
    for name in LIST_FIELDS:
        value = data.get(name)
        if value is not None and (not isinstance(value, list)
                                  or not all(isinstance(v, str) for v in value)):
            errors.append(f"{name} must be an array of strings")
    if data.get("jwks") is not None and not isinstance(data["jwks"], dict):
        errors.append("jwks must be a JSON Web Key Set")
    for name in UNSUPPORTED:
        if data.get(name) not in (None, [], ""):
            errors.append(f"{name} is not supported")
    if data.get("application_type") not in (None, "web", "native"):
        errors.append("application_type must be web or native")
    return errors


def spec_from_metadata(data: dict, *, environment: str) -> ClientSpec:
    """Read registration metadata (already merged with any software statement)."""
    if not isinstance(data, dict):
        raise InvalidClientMetadataError("The request body must be a JSON object.")
    errors = _shape_errors(data)
    if errors:
        raise InvalidClientMetadataError("; ".join(errors))
    client_type = _type_of(data)
    rule = TYPE_RULES.get(client_type)
    if rule is None:
        raise InvalidClientMetadataError(f"client_type must be one of {', '.join(TYPE_RULES)}")
    grants = data.get("grant_types")
    if grants is not None and not set(grants) <= set(rule.grants):
        raise InvalidClientMetadataError(
            f"grant_types for a {client_type} client: {', '.join(rule.grants)}")
    response_types = data.get("response_types")
    allowed_responses = {"code"} if rule.interactive else set()
    if response_types is not None and not set(response_types) <= allowed_responses:
        raise InvalidClientMetadataError("response_types: only 'code' is supported")
    if data.get("application_type") == "native" and client_type != "native":
        raise InvalidClientMetadataError("application_type native is for native clients")
    method = data.get("token_endpoint_auth_method")
    return ClientSpec(
        name=data.get("client_name") or "", client_type=client_type,
        redirect_uris=list(data.get("redirect_uris") or []),
        post_logout_redirect_uris=list(data.get("post_logout_redirect_uris") or []),
        frontchannel_logout_uri=data.get("frontchannel_logout_uri"),
        backchannel_logout_uri=data.get("backchannel_logout_uri"),
        scope=data.get("scope"),
        auth_method=None if method in (None, "none") and rule.public else method,
        id_token_alg=data.get("id_token_signed_response_alg") or "RS256",
        subject_type=data.get("subject_type") or "public", environment=environment,
        description=data.get("description"), contacts=list(data.get("contacts") or []),
        logo_uri=data.get("logo_uri"), client_uri=data.get("client_uri"),
        policy_uri=data.get("policy_uri"), tos_uri=data.get("tos_uri"),
        initiate_login_uri=data.get("initiate_login_uri"),
        sensitive_claims=list(data.get("sensitive_claims") or []),
        sensitive_purpose=data.get("sensitive_purpose"),
        sensitive_legal_basis=data.get("sensitive_legal_basis"),
        sector_identifier_uri=data.get("sector_identifier_uri"), jwks=data.get("jwks"),
        jwks_uri=data.get("jwks_uri"),
        auth_signing_alg=data.get("token_endpoint_auth_signing_alg"))


def error_for(problems: list[Problem]):
    """The RFC 7591 §3.2.2 error for validation problems."""
    description = "; ".join(problems)[:1000]
    if any(p.field == "redirect_uris" for p in problems):
        return InvalidRedirectURIError(description)
    return InvalidClientMetadataError(description)


def metadata_of(client) -> dict:
    """The registered metadata, as a registration response shows it."""
    body = {
        "client_name": client.name, "client_type": client.client_type,
        "application_type": "native" if client.client_type == "native" else "web",
        "redirect_uris": list(client.redirect_uris or []),
        "post_logout_redirect_uris": list(client.post_logout_redirect_uris or []),
        "grant_types": list(client.grant_types or []),
        "response_types": list(client.response_types or []),
        "token_endpoint_auth_method": client.token_endpoint_auth_method,
        "scope": client.scope, "subject_type": client.subject_type,
        "id_token_signed_response_alg": client.id_token_signed_response_alg,
        "contacts": list(client.contacts or []),
        "sensitive_claims": list(client.sensitive_claims or []),
    }
    for name in ("frontchannel_logout_uri", "backchannel_logout_uri", "logo_uri", "client_uri",
                 "policy_uri", "tos_uri", "initiate_login_uri", "sector_identifier_uri",
                 "jwks_uri", "jwks", "description", "sensitive_purpose",
                 "sensitive_legal_basis", "token_endpoint_auth_signing_alg"):
        value = getattr(client, name)
        if value:
            body[name] = value
    return body
