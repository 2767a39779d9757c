"""OAuth/OIDC error codes Authlib does not define. Authlib's OAuth2Error carries the public
code and description; descriptions are plain ASCII (RFC 6749 §4.1.2.1)."""

from authlib.oauth2.rfc6749.errors import OAuth2Error


class RequestNotSupportedError(OAuth2Error):
    """OIDC Core §6: the `request` parameter (request objects) is not supported."""

    error = "request_not_supported"


class RequestUriNotSupportedError(OAuth2Error):
    error = "request_uri_not_supported"


class InteractionRequiredError(OAuth2Error):
    error = "interaction_required"


class UnsupportedTokenTypeError(OAuth2Error):
    """RFC 7009 §2.2.1: a 400 like any RFC 6749 §5.2 error (Authlib's is a 401 that carries no
    WWW-Authenticate challenge)."""

    error = "unsupported_token_type"


class UnmetAuthenticationRequirementsError(OAuth2Error):
    """OpenID Connect Core Unmet Authentication Requirements 1.0: the person could not (or
    chose not to) reach the authentication level the request or the client requires."""

    error = "unmet_authentication_requirements"


class TemporarilyUnavailableError(OAuth2Error):
    """Something the token endpoint depends on (a platform API) cannot answer now, or the
    caller must slow down: 503 (or 429) with Retry-After, never a description of the cause."""

    error = "temporarily_unavailable"
    status_code = 503

    def __init__(self, description=None, *, retry_after: int = 5, status_code: int = 503):
        super().__init__(description, status_code=status_code)
        self.retry_after = retry_after

    def get_headers(self):
        return [*super().get_headers(), ("Retry-After", str(self.retry_after))]
