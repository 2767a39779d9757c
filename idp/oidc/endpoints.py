"""Token introspection (RFC 7662), revocation (RFC 7009) and RP-initiated logout (OIDC
RP-Initiated Logout 1.0) as Authlib endpoint subclasses.

A client may only learn about, or revoke, its own tokens (cf. authentik CVE-2024-47077): anything
else answers `active: false` / a silent 200.
"""

from __future__ import annotations

from authlib.oauth2.rfc6749 import InvalidRequestError
from authlib.oauth2.rfc7009 import RevocationEndpoint
from authlib.oauth2.rfc7662 import IntrospectionEndpoint
from authlib.oidc.rpinitiated import EndSessionEndpoint
from sqlalchemy import select

from .. import audit
from ..clock import to_timestamp, utcnow
from ..extensions import db
from ..models import Client, Person, RefreshToken
from . import access_tokens, issuance
from .errors import UnsupportedTokenTypeError
from .keys import SIGNING_ALGS
from .provider import provider
from .revocation import revoke_family


def _find(value: str, hint: str | None, *, check_expiry: bool):
    """('access_token', VerifiedAccessToken) | ('refresh_token', RefreshToken) | None."""
    kinds = ("refresh_token", "access_token") if hint == "refresh_token" else (
        "access_token", "refresh_token")
    for kind in kinds:
        if kind == "access_token":
            found = access_tokens.verify(value, check_expiry=check_expiry)
            if found:
                return kind, found
        elif value.startswith(issuance.REFRESH_PREFIX):
            row = db.session.scalar(select(RefreshToken).where(
                RefreshToken.token_hash == issuance.token_hash(value)))
            if row is not None:
                return kind, row
    return None


def _check_params(request) -> None:
    """RFC 7662 §2.1 / RFC 7009 §2.1: `token` is required, `token_type_hint` one we know."""
    if "token" not in request.form:
        raise InvalidRequestError("Missing 'token'.")
    hint = request.form.get("token_type_hint")
    if hint and hint not in ("access_token", "refresh_token"):
        raise UnsupportedTokenTypeError("'token_type_hint' must be access_token or refresh_token.")


def _client_id_of(found) -> int:
    kind, obj = found
    return obj.row.client_id if kind == "access_token" else obj.client_id


class Introspection(IntrospectionEndpoint):
    CLIENT_AUTH_METHODS = ["client_secret_basic", "client_secret_post", "private_key_jwt"]

    def authenticate_token(self, request, client):
        _check_params(request)
        found = _find(request.form["token"], request.form.get("token_type_hint"),
                      check_expiry=True)
        if found is None or _client_id_of(found) != client.id:
            return None
        return found

    def create_introspection_payload(self, token):
        if token is None:
            return {"active": False}
        kind, obj = token
        now = utcnow()
        if kind == "access_token":
            claims = obj.claims
            body = {k: claims[k] for k in ("scope", "client_id", "sub", "aud", "iss", "exp", "iat",
                                           "jti", "auth_time", "acr", "sid") if k in claims}
            return {"active": True, "token_type": "Bearer", **body}
        person = db.session.get(Person, obj.person_id)
        if obj.revoked_at is not None or obj.rotated_at is not None or now >= obj.expires_at \
                or now >= obj.family_expires_at or person is None or not person.is_active:
            return {"active": False}
        client = db.session.get(Client, obj.client_id)
        return {"active": True, "token_type": "refresh_token", "scope": obj.scope,
                "client_id": client.client_id, "iss": provider().issuer,
                "exp": to_timestamp(obj.expires_at), "iat": to_timestamp(obj.issued_at)}


class Revocation(RevocationEndpoint):
    # Public clients may revoke their own tokens with just their client_id (RFC 7009 §2.1).
    CLIENT_AUTH_METHODS = ["client_secret_basic", "client_secret_post", "private_key_jwt", "none"]

    def authenticate_token(self, request, client):
        _check_params(request)
        found = _find(request.form["token"], request.form.get("token_type_hint"),
                      check_expiry=False)
        if found is None or _client_id_of(found) != client.id:
            return None
        return found

    def revoke_token(self, token, request):
        kind, obj = token
        now = utcnow()
        if kind == "access_token":
            obj.row.revoked_at = obj.row.revoked_at or now
            person_id, family = obj.row.person_id, None
        else:
            # Revoking a refresh token ends its whole grant (RFC 7009 §2.1).
            revoke_family(obj.family_id, now)
            person_id, family = obj.person_id, obj.family_id
        audit.record("token.revoked", person_id=person_id, client_id=request.client.client_id,
                     token_kind=kind, family_id=family)
        db.session.commit()


class EndSession(EndSessionEndpoint):
    """Validation of logout requests is Authlib's; ending the IdP session is the view's."""

    def get_server_jwks(self):
        return provider().keys.verification_keys()

    def get_algorithms(self) -> list[str]:
        # Never "none", never HMAC: only what we sign with.
        return list(SIGNING_ALGS)

    def validate_request(self, request):
        validated = super().validate_request(request)
        claims = validated.id_token_claims
        if claims is not None and claims.get("iss") != provider().issuer:
            from authlib.oauth2.rfc6749 import InvalidRequestError

            raise InvalidRequestError("'id_token_hint' was not issued here.")
        return validated

    def end_session(self, end_session_request):
        # The view ends the browser's session once the person has confirmed (or the hint
        # proved the request came from a client of this session).
        return None
