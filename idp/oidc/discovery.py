"""OpenID Provider metadata (OIDC Discovery 1.0 §3, RFC 8414): what we support, and nothing more."""

from __future__ import annotations

from ..authn import assurance
from .claims import SUPPORTED_CLAIMS, SUPPORTED_SCOPES
from .client_auth import ALGORITHMS as ASSERTION_ALGS
from .keys import SIGNING_ALGS
from .provider import Provider
from .realname import ACR_VALUES as REALNAME_ACR_VALUES
from .verified_claims import (
    CHECK_METHODS,
    CLAIMS_IN_VERIFIED_CLAIMS,
    DOCUMENT_TYPES,
    EVIDENCE_TYPES,
    TRUST_FRAMEWORK,
)


def metadata(prov: Provider) -> dict:
    url = prov.url
    return {
        "issuer": prov.issuer,
        "authorization_endpoint": url("/authorize"),
        "token_endpoint": url("/token"),
        "userinfo_endpoint": url("/userinfo"),
        "jwks_uri": url("/jwks"),
        "end_session_endpoint": url("/logout"),
        "introspection_endpoint": url("/introspect"),
        "revocation_endpoint": url("/revoke"),
        "device_authorization_endpoint": url("/device_authorization"),
        "scopes_supported": list(SUPPORTED_SCOPES),
        "response_types_supported": ["code"],
        "response_modes_supported": ["query", "form_post"],
        "grant_types_supported": ["authorization_code", "refresh_token", "client_credentials",
                                  "urn:ietf:params:oauth:grant-type:device_code",
                                  "urn:ietf:params:oauth:grant-type:token-exchange"],
        "subject_types_supported": ["public", "pairwise"],
        "id_token_signing_alg_values_supported": list(SIGNING_ALGS),
        "registration_endpoint": url("/connect/register"),
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post",
                                                  "private_key_jwt", "none"],
        "token_endpoint_auth_signing_alg_values_supported": list(ASSERTION_ALGS),
        "introspection_endpoint_auth_methods_supported": ["client_secret_basic",
                                                          "client_secret_post", "private_key_jwt"],
        "introspection_endpoint_auth_signing_alg_values_supported": list(ASSERTION_ALGS),
        "revocation_endpoint_auth_methods_supported": ["client_secret_basic",
                                                       "client_secret_post", "private_key_jwt",
                                                       "none"],
        "revocation_endpoint_auth_signing_alg_values_supported": list(ASSERTION_ALGS),
        "code_challenge_methods_supported": ["S256"],
        "claims_supported": sorted(SUPPORTED_CLAIMS),
        "claims_parameter_supported": True,
        "request_parameter_supported": False,
        "request_uri_parameter_supported": False,
        "require_request_uri_registration": True,
        "ui_locales_supported": ["zh-CN", "en"],
        "claims_locales_supported": ["zh-CN", "en"],
        "authorization_response_iss_parameter_supported": True,
        "frontchannel_logout_supported": True,
        "frontchannel_logout_session_supported": True,
        "backchannel_logout_supported": True,
        "backchannel_logout_session_supported": True,
        "acr_values_supported": [*assurance.ISSUED, *REALNAME_ACR_VALUES],
        # OpenID Connect for Identity Assurance 1.0 §7
        "verified_claims_supported": True,
        "trust_frameworks_supported": [TRUST_FRAMEWORK],
        "evidence_supported": list(EVIDENCE_TYPES),
        "documents_supported": sorted(set(DOCUMENT_TYPES.values())),
        "documents_check_methods_supported": sorted({m for m, _ in CHECK_METHODS.values()}),
        "claims_in_verified_claims_supported": list(CLAIMS_IN_VERIFIED_CLAIMS),
    }
