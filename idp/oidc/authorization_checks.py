"""The authorization request checks that run once the client and its redirect URI are known
(so every failure here may be redirected to the client). Each check is a small named function;
:data:`CHECKS` is their order. They run as one Authlib hook after its own scope validation.
"""

from __future__ import annotations

from authlib.oauth2.rfc6749 import InvalidRequestError, InvalidScopeError
from joserfc import jwt
from joserfc.errors import JoseError

from ..authn import assurance
from . import claims as claims_mod
from .errors import RequestNotSupportedError, RequestUriNotSupportedError
from .keys import SIGNING_ALGS
from .provider import provider

#: Parameters that RFC 6749 §3.1 and OIDC Core say must not appear more than once.
SINGLE_VALUED = ("response_type", "client_id", "redirect_uri", "scope", "state", "nonce",
                 "prompt", "max_age", "code_challenge", "code_challenge_method", "response_mode",
                 "login_hint", "id_token_hint", "acr_values", "claims", "ui_locales", "display",
                 "request", "request_uri", "claims_locales")
RESPONSE_MODES = ("query", "form_post")
PROMPTS = {"none", "login", "consent", "select_account"}
MAX_NONCE = 512
MAX_STATE = 2048


def no_repeated_parameters(grant) -> None:
    datalist = grant.request.payload.datalist
    for name in SINGLE_VALUED:
        if len(datalist.get(name, [])) > 1:
            raise InvalidRequestError(f"Parameter '{name}' is repeated.")


def no_request_objects(grant) -> None:
    data = grant.request.payload.data
    if data.get("request"):
        raise RequestNotSupportedError("Request objects are not supported.")
    if data.get("request_uri"):
        raise RequestUriNotSupportedError("'request_uri' is not supported.")


def known_response_mode(grant) -> None:
    mode = grant.request.payload.data.get("response_mode")
    if mode and mode not in RESPONSE_MODES:
        raise InvalidRequestError("Unsupported 'response_mode': use 'query' or 'form_post'.")


def scope_has_allowed_values(grant) -> None:
    requested = grant.request.payload.scope
    if requested and not grant.request.scope:
        raise InvalidScopeError("None of the requested scopes is allowed for this client.")


def bounded_state_and_nonce(grant) -> None:
    data = grant.request.payload.data
    if len(data.get("state") or "") > MAX_STATE:
        raise InvalidRequestError("'state' is too long.")
    if len(data.get("nonce") or "") > MAX_NONCE:
        raise InvalidRequestError("'nonce' is too long.")


def nonce_when_required(grant) -> None:
    if grant.request.client.require_nonce and not grant.request.payload.data.get("nonce"):
        raise InvalidRequestError("Missing 'nonce': this client requires one.")


def valid_prompt(grant) -> None:
    raw = grant.request.payload.data.get("prompt")
    if raw is None:
        return
    values = set(raw.split())
    if not values or not values <= PROMPTS:
        raise InvalidRequestError("Invalid 'prompt' value.")
    if "none" in values and len(values) > 1:
        raise InvalidRequestError("'prompt=none' cannot be combined with other values.")


def valid_max_age(grant) -> None:
    raw = grant.request.payload.data.get("max_age")
    if raw is None:
        return
    if not raw.isdigit() or len(raw) > 10:
        raise InvalidRequestError("'max_age' must be a non-negative whole number of seconds.")


def valid_claims_request(grant) -> None:
    try:
        grant.claims_request = claims_mod.parse_claims_request(
            grant.request.payload.data.get("claims"))
    except claims_mod.ClaimsRequestError as exc:
        raise InvalidRequestError(str(exc)) from exc


def requested_acr(grant) -> None:
    """The level the request asks for: the lowest of our levels in `acr_values` (any listed
    value will do), or in an essential `acr` claim request (OIDC Core §5.5.1.1). Values that
    are not ours are ignored, as acr_values is a voluntary request."""
    values = (grant.request.payload.data.get("acr_values") or "").split()
    acr_claim = ((grant.claims_request or {}).get("id_token") or {}).get("acr") or {}
    if acr_claim.get("essential"):
        values += [v for v in (acr_claim.get("values") or [acr_claim.get("value")])
                   if isinstance(v, str)]
    grant.requested_acr = assurance.lowest_known(values)


def valid_id_token_hint(grant) -> None:
    """The hint must be an ID token we issued (signature by one of our published keys, our
    issuer); it may have expired (OIDC Core §3.1.2.1)."""
    hint = grant.request.payload.data.get("id_token_hint")
    grant.hinted_subject = None
    if not hint:
        return
    prov = provider()
    try:
        token = jwt.decode(hint, prov.keys.verification_keys(), algorithms=list(SIGNING_ALGS))
    except (JoseError, ValueError) as exc:
        raise InvalidRequestError("'id_token_hint' is not an ID token issued here.") from exc
    claims = token.claims
    aud = claims.get("aud")
    audiences = [aud] if isinstance(aud, str) else list(aud or [])
    if claims.get("iss") != prov.issuer or grant.request.client.client_id not in audiences:
        raise InvalidRequestError("'id_token_hint' was not issued to this client.")
    grant.hinted_subject = claims.get("sub")


CHECKS = (
    no_repeated_parameters,
    no_request_objects,
    known_response_mode,
    scope_has_allowed_values,
    bounded_state_and_nonce,
    nonce_when_required,
    valid_prompt,
    valid_max_age,
    valid_claims_request,
    requested_acr,
    valid_id_token_hint,
)


class AuthorizationRequestChecks:
    """Authlib grant extension that runs :data:`CHECKS` in order."""

    def __call__(self, grant) -> None:
        grant.claims_request = None
        grant.hinted_subject = None
        grant.requested_acr = None
        grant.register_hook("after_validate_authorization_request_payload", self.run)

    @staticmethod
    def run(grant, redirect_uri) -> None:
        for check in CHECKS:
            check(grant)
