"""Device authorization endpoint (RFC 8628 §3.1–3.2) for terminals, TVs and kiosks.

Authlib's endpoint, with our storage and policy: only clients allowed the device_code grant,
scopes narrowed to what the client may ask for, user codes easy to read aloud (channels/device),
device codes stored as SHA-256, `verification_uri_complete` for the terminal's QR code.
"""

from __future__ import annotations

from datetime import timedelta

from authlib.consts import default_json_headers
from authlib.oauth2.rfc6749 import InvalidScopeError, UnauthorizedClientError
from authlib.oauth2.rfc8628 import DEVICE_CODE_GRANT_TYPE
from authlib.oauth2.rfc8628 import (
    DeviceAuthorizationEndpoint as AuthlibDeviceAuthorizationEndpoint,
)
from sqlalchemy import select

from .. import audit
from ..channels import device
from ..clock import utcnow
from ..extensions import db
from ..models import DeviceAuthorization
from .provider import provider

VERIFICATION_PATH = "/device"


class DeviceAuthorizationEndpoint(AuthlibDeviceAuthorizationEndpoint):
    CLIENT_AUTH_METHODS = ["client_secret_basic", "client_secret_post", "none"]

    def create_endpoint_response(self, request):
        client = self.authenticate_client(request)
        if not client.check_grant_type(DEVICE_CODE_GRANT_TYPE):
            raise UnauthorizedClientError(
                f"The client is not authorized to use 'grant_type={DEVICE_CODE_GRANT_TYPE}'.")
        requested = (request.payload.scope or "openid").split()
        if any(s not in set(client.scope.split()) or s == "offline_access" for s in requested):
            raise InvalidScopeError("A requested scope is not allowed for this client.")
        settings = provider().settings
        user_code = self.generate_user_code()
        shown = device.display_user_code(user_code)
        data = {
            "device_code": self.generate_device_code(),
            "user_code": shown,
            "verification_uri": self.get_verification_uri(),
            "verification_uri_complete": provider().url(
                f"{VERIFICATION_PATH}?user_code={shown}"),
            "expires_in": settings.device_code_ttl,
            "interval": settings.device_poll_interval,
        }
        self.save_device_credential(client.client_id, " ".join(requested),
                                    {**data, "user_code": user_code})
        return 200, data, [*default_json_headers, ("Cache-Control", "no-store")]

    def generate_user_code(self):
        for _ in range(10):
            code = device.new_user_code()
            if db.session.scalar(select(DeviceAuthorization.id).where(
                    DeviceAuthorization.user_code == code)) is None:
                return code
        raise RuntimeError("no free user code")  # 20^8 codes: not in this universe

    def get_verification_uri(self):
        return provider().url(VERIFICATION_PATH)

    def save_device_credential(self, client_id, scope, data):
        client = self.server.query_client(client_id)
        now = utcnow()
        db.session.add(DeviceAuthorization(
            device_code_hash=device.hash_device_code(data["device_code"]),
            user_code=data["user_code"], client_id=client.id, scope=scope or "",
            state="pending", created_at=now,
            expires_at=now + timedelta(seconds=data["expires_in"]), interval=data["interval"],
            amr=[]))
        audit.record("device.requested", client_id=client_id)
