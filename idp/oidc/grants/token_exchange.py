"""Token exchange (RFC 8693) for mini-program back ends.

The back end (a confidential client allowed this grant) presents the code its mini-program got
from the platform as the `subject_token`:

* ``urn:tongban:params:oauth:token-type:wechat-code`` — the `code` from WeChat `wx.login`;
* ``urn:tongban:params:oauth:token-type:alipay-auth-code`` — the `authCode` from Alipay
  `my.getAuthCode`;

with `platform_appid` naming the platform app when the client has more than one for that platform.
Tongban redeems the code with the platform itself (code2Session / alipay.system.oauth.token) and
never takes the client's word for who the user is.

* Linked identity: an access token (`issued_token_type` access_token; an ID token too when
  `openid` is asked for) whose `acr` is ``urn:tongban:aal1`` and `amr` ``["mca"]`` — one factor,
  vouched for by the platform's app over a second channel — while `real_name_level` is the
  person's own. No refresh token: the mini-program repeats the (silent) exchange, so every token
  rests on a fresh platform check.
* Not linked: ``interaction_required`` (RFC 8693 §2.2.2 error response) carrying a one-time
  binding ticket for this client, valid `binding_ticket_ttl` seconds, and the `binding_uri` the
  mini-program opens in its web-view.
"""

from __future__ import annotations

from authlib.oauth2.rfc6749 import (
    BaseGrant,
    InvalidGrantError,
    InvalidRequestError,
    TokenEndpointMixin,
    UnauthorizedClientError,
)
from authlib.oauth2.rfc6749.errors import InvalidScopeError
from flask import current_app

from ... import audit
from ...authn import throttle
from ...channels import binding, platforms
from ...channels.exchange_throttle import (
    REFUSED_EVENT,
    ExchangeThrottled,
    throttle_token_exchange,
)
from ...clock import utcnow
from ...extensions import db
from ...security import client_ip
from ..errors import InteractionRequiredError, TemporarilyUnavailableError
from ..issuance import GrantContext
from ..provider import provider
from .issuing import NoAuthlibTokenStore, issue_tokens

GRANT_TYPE = "urn:ietf:params:oauth:grant-type:token-exchange"
ACCESS_TOKEN_TYPE = "urn:ietf:params:oauth:token-type:access_token"
SUBJECT_TOKEN_TYPES = {
    "urn:tongban:params:oauth:token-type:wechat-code": "wechat",
    "urn:tongban:params:oauth:token-type:alipay-auth-code": "alipay",
}
ACR_PLATFORM = "urn:tongban:aal1"
AMR_PLATFORM = ("mca",)


class BindingRequiredError(InteractionRequiredError):
    """interaction_required, with what the mini-program needs to let the person link."""

    def __init__(self, ticket: str, binding_uri: str, expires_in: int):
        super().__init__("The platform identity is not linked to a Tongban account yet.")
        self.extra = [("binding_ticket", ticket), ("binding_uri", binding_uri),
                      ("expires_in", expires_in)]

    def get_body(self):
        return [*super().get_body(), *self.extra]


class TokenExchangeGrant(NoAuthlibTokenStore, BaseGrant, TokenEndpointMixin):
    GRANT_TYPE = GRANT_TYPE
    TOKEN_ENDPOINT_AUTH_METHODS = ["client_secret_basic", "client_secret_post"]

    def validate_token_request(self):
        client = self.authenticate_token_endpoint_client()
        if not client.check_grant_type(GRANT_TYPE):
            raise UnauthorizedClientError(
                f"The client is not authorized to use 'grant_type={GRANT_TYPE}'.")
        self.request.client = client
        form = self.request.form
        subject_token, token_type = form.get("subject_token"), form.get("subject_token_type")
        if not subject_token or not token_type:
            raise InvalidRequestError("'subject_token' and 'subject_token_type' are required.")
        if token_type not in SUBJECT_TOKEN_TYPES:
            raise InvalidRequestError("Unsupported 'subject_token_type'.")
        if form.get("actor_token") or form.get("actor_token_type"):
            raise InvalidRequestError("Delegation ('actor_token') is not supported.")
        if form.get("requested_token_type") not in (None, ACCESS_TOKEN_TYPE):
            raise InvalidRequestError("Only access tokens can be requested.")
        requested = (self.request.payload.scope or "openid").split()
        allowed = set(client.scope.split())
        if any(s not in allowed or s == "offline_access" for s in requested):
            raise InvalidScopeError("A requested scope is not allowed for this client.")
        self.request.scope = " ".join(requested)
        self.platform = SUBJECT_TOKEN_TYPES[token_type]

    def create_token_response(self):
        client = self.request.client
        now = utcnow()
        ip = client_ip()
        try:
            throttle_token_exchange(client.client_id, ip, now)
        except ExchangeThrottled as exc:
            raise TemporarilyUnavailableError("Too many refused exchanges; wait and retry.",
                                              retry_after=exc.retry_after,
                                              status_code=429) from exc
        apps = current_app.extensions["tongban.platform_apps"].for_client(
            client.client_id, self.platform, self.request.form.get("platform_appid"))
        if len(apps) != 1:
            self._refused("no_app" if not apps else "ambiguous_app")
            if not apps:
                raise UnauthorizedClientError(
                    "No mini-program app of this platform is registered for the client.")
            raise InvalidRequestError("Name the app with 'platform_appid'.")
        settings = provider().settings
        try:
            user = platforms.verify(apps[0], self.request.form["subject_token"],
                                    settings=settings)
        except platforms.PlatformRejected as exc:
            self._refused(exc.reason)
            raise InvalidGrantError("The platform did not accept the code"
                                    + (" (already used)." if exc.reason == "code_used" else ".")
                                    ) from exc
        except platforms.PlatformUnavailable as exc:
            audit.record("platform_identity.unavailable", client_id=client.client_id,
                         platform=self.platform, reason=exc.reason)
            db.session.commit()
            raise TemporarilyUnavailableError(
                "The platform cannot confirm the code right now; retry shortly.",
                retry_after=60 if exc.reason == "rate_limited" else 5) from exc

        try:
            person = binding.linked_person(user, now)
        except binding.LinkedAccountInactive as exc:
            self._refused("account_inactive")
            raise InvalidGrantError("The linked account is not active.") from exc
        if person is None:
            ticket = binding.issue_ticket(user, client.client_id, now,
                                          settings.binding_ticket_ttl)
            db.session.commit()
            from urllib.parse import urlencode

            uri = provider().url("/bind?" + urlencode({"ticket": ticket,
                                                       "client_id": client.client_id}))
            raise BindingRequiredError(ticket, uri, settings.binding_ticket_ttl)

        if throttle.is_locked(person.id):
            # An account locked after too many failures is locked on every path (cf. Keycloak
            # CVE-2026-9798): a platform identity does not unlock it.
            self._refused("account_locked")
            raise InvalidGrantError("The linked account is locked.")
        # real_name_level comes with every token for a person (issuance.py), as for any login.
        ctx = GrantContext(client=client, scope=self.request.scope, person=person,
                           auth_time=now, acr=ACR_PLATFORM, amr=list(AMR_PLATFORM))
        token = issue_tokens(ctx, include_refresh=False)
        token["issued_token_type"] = ACCESS_TOKEN_TYPE
        audit.record("token.issued", person_id=person.id, client_id=client.client_id,
                     grant_type="token_exchange", platform=self.platform)
        return 200, token, self.TOKEN_RESPONSE_HEADER

    def _refused(self, reason: str) -> None:
        # Committed now: the view rolls back every error response, and these refusals are what
        # the throttle counts.
        audit.record(REFUSED_EVENT, client_id=self.request.client.client_id,
                     platform=self.platform, reason=reason)
        db.session.commit()
