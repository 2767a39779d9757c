"""Client credentials grant (RFC 6749 §4.4) for department back ends: confidential clients only,
scopes limited to what the client was approved for, never a refresh token."""

from __future__ import annotations

from authlib.oauth2.rfc6749 import InvalidScopeError, UnauthorizedClientError, grants

from ... import audit
from ..issuance import GrantContext
from .issuing import NoAuthlibTokenStore, issue_tokens


class ClientCredentialsGrant(NoAuthlibTokenStore, grants.ClientCredentialsGrant):
    TOKEN_ENDPOINT_AUTH_METHODS = ["client_secret_basic", "client_secret_post", "private_key_jwt"]

    def validate_token_request(self):
        client = self.authenticate_token_endpoint_client()
        if not client.check_grant_type(self.GRANT_TYPE):
            raise UnauthorizedClientError(
                f"The client is not authorized to use 'grant_type={self.GRANT_TYPE}'.")
        self.request.client = client
        requested = (self.request.payload.scope or "").split()
        allowed = set(client.scope.split())
        # Authlib only checks the server-wide list; a client may get only what it was approved for.
        if any(s not in allowed or s in ("openid", "offline_access") for s in requested):
            raise InvalidScopeError("A requested scope is not allowed for this client.")
        self.request.scope = " ".join(requested)

    def generate_token(self, user=None, scope=None, grant_type=None, expires_in=None,
                       include_refresh_token=False):
        ctx = GrantContext(client=self.request.client, scope=self.request.scope or "")
        token = issue_tokens(ctx, include_refresh=False)
        audit.record("token.issued", client_id=ctx.client.client_id,
                     grant_type="client_credentials")
        return token
