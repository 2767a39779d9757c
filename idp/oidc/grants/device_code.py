"""Device code grant (RFC 8628 §3.4–3.5): the terminal polls until the person decides.

* `authorization_pending` while undecided; `slow_down` when polled sooner than the interval,
  which then grows by 5 s for this and every later poll (§3.5); `expired_token` after the
  code's lifetime; `access_denied` when the person said no; `invalid_grant` for an unknown or
  already redeemed code.
* Redemption is atomic (approved → issued in one conditional UPDATE): a code buys one token set.
* Terminals get short sessions and never a refresh token: the tokens live
  `terminal_session_ttl` and carry the `sid` of a session of their own (channel "device").
"""

from __future__ import annotations

from datetime import timedelta

from authlib.oauth2.rfc6749 import (
    AccessDeniedError,
    InvalidGrantError,
    InvalidRequestError,
    UnauthorizedClientError,
)
from authlib.oauth2.rfc8628 import (
    AuthorizationPendingError,
    ExpiredTokenError,
    SlowDownError,
)
from authlib.oauth2.rfc8628 import (
    DeviceCodeGrant as AuthlibDeviceCodeGrant,
)
from sqlalchemy import select, update

from ... import audit
from ...channels import device
from ...clock import utcnow
from ...extensions import db
from ...models import DeviceAuthorization, Person
from ..issuance import GrantContext
from ..provider import provider
from .issuing import NoAuthlibTokenStore, issue_tokens

#: RFC 8628 §3.5: "the interval MUST be increased by 5 seconds"
SLOW_DOWN_STEP = 5


class DeviceCodeGrant(NoAuthlibTokenStore, AuthlibDeviceCodeGrant):
    TOKEN_ENDPOINT_AUTH_METHODS = ["client_secret_basic", "client_secret_post", "none"]

    def validate_token_request(self):
        device_code = self.request.form.get("device_code")
        if not device_code:
            raise InvalidRequestError("Missing 'device_code'.")
        client = self.authenticate_token_endpoint_client()
        if not client.check_grant_type(self.GRANT_TYPE):
            raise UnauthorizedClientError(
                f"The client is not authorized to use 'grant_type={self.GRANT_TYPE}'.")
        row = self.query_device_credential(device_code)
        if row is None or row.client_id != client.id:
            raise InvalidGrantError("Unknown or already used 'device_code'.")
        self.request.client = client
        self.request.credential = row
        self.request.user = self.validate_device_credential(row)

    def query_device_credential(self, device_code):
        if len(device_code) > 100:
            return None
        return db.session.scalar(select(DeviceAuthorization).where(
            DeviceAuthorization.device_code_hash == device.hash_device_code(device_code)))

    def validate_device_credential(self, row: DeviceAuthorization):
        now = utcnow()
        if row.state == "issued":
            raise InvalidGrantError("Unknown or already used 'device_code'.")
        if now >= row.expires_at:
            raise ExpiredTokenError("The device code has expired.")
        if row.state == "denied":
            raise AccessDeniedError("The person declined.")
        too_soon = (row.last_poll_at is not None
                    and now < row.last_poll_at + timedelta(seconds=row.interval))
        # Every poll is remembered, also the ones answered with an error (the view rolls back
        # error responses, so commit here).
        row.last_poll_at = now
        if too_soon:
            row.interval += SLOW_DOWN_STEP
            db.session.commit()
            raise SlowDownError(f"Poll at most every {row.interval} seconds.")
        if row.state == "pending":
            db.session.commit()
            raise AuthorizationPendingError()
        person = db.session.get(Person, row.person_id)
        if person is None or not person.is_active:
            db.session.commit()
            raise AccessDeniedError("The account is not active.")
        return person

    def create_token_response(self):
        row: DeviceAuthorization = self.request.credential
        client = self.request.client
        now = utcnow()
        claimed = db.session.execute(
            update(DeviceAuthorization)
            .where(DeviceAuthorization.id == row.id, DeviceAuthorization.state == "approved")
            .values(state="issued", issued_at=now).execution_options(synchronize_session=False))
        if claimed.rowcount != 1:
            raise InvalidGrantError("Unknown or already used 'device_code'.")
        ttl = provider().settings.terminal_session_ttl
        session = device.open_terminal_session(row, client, now, ttl)
        ctx = GrantContext(client=client, scope=row.scope, person=self.request.user,
                           sid=session.sid, auth_time=row.auth_time, acr=session.acr,
                           amr=list(session.amr or []))
        token = issue_tokens(ctx, include_refresh=False, ttl=ttl)
        audit.record("token.issued", person_id=row.person_id, client_id=client.client_id,
                     sid=session.sid, grant_type="device_code")
        return 200, token, self.TOKEN_RESPONSE_HEADER
