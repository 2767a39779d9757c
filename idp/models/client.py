"""A relying party registered with the IdP, and the answers Authlib asks of it."""

from __future__ import annotations

import hashlib
import hmac
from datetime import datetime

from sqlalchemy import JSON, Boolean, DateTime, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db
from ..oidc import redirect_uris

CLIENT_TYPES = ("web", "spa", "native", "service", "miniprogram", "terminal")
#: terminals (kiosks, TVs, 24-hour self-service machines) stand in public places: no secret
PUBLIC_TYPES = ("spa", "native", "terminal")


def hash_secret(secret: str) -> str:
    # Client secrets are 256-bit random values: SHA-256 is enough and keeps the token endpoint fast
    # (a slow KDF would add nothing to a random secret).
    return hashlib.sha256(secret.encode()).hexdigest()


class Client(db.Model):
    __tablename__ = "client"

    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[str] = mapped_column(String(64), unique=True)
    secret_hash: Mapped[str | None] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(200))
    #: one of CLIENT_TYPES
    client_type: Mapped[str] = mapped_column(String(16), default="web")
    token_endpoint_auth_method: Mapped[str] = mapped_column(String(32),
                                                             default="client_secret_basic")
    redirect_uris: Mapped[list] = mapped_column(JSON, default=list)
    post_logout_redirect_uris: Mapped[list] = mapped_column(JSON, default=list)
    grant_types: Mapped[list] = mapped_column(JSON, default=list)
    response_types: Mapped[list] = mapped_column(JSON, default=list)
    #: the scopes this client may ask for, space separated
    scope: Mapped[str] = mapped_column(Text, default="openid")
    #: PKCE is required unless a confidential client explicitly relaxes it
    require_pkce: Mapped[bool] = mapped_column(Boolean, default=True)
    require_nonce: Mapped[bool] = mapped_column(Boolean, default=False)
    #: first-party portals skip the consent page (the person already trusts the government portal)
    first_party: Mapped[bool] = mapped_column(Boolean, default=False)
    id_token_signed_response_alg: Mapped[str] = mapped_column(String(8), default="RS256")
    #: "public" or "pairwise"
    subject_type: Mapped[str] = mapped_column(String(8), default="public")
    sector_identifier: Mapped[str | None] = mapped_column(String(255))
    frontchannel_logout_uri: Mapped[str | None] = mapped_column(Text)
    frontchannel_logout_session_required: Mapped[bool] = mapped_column(Boolean, default=True)
    backchannel_logout_uri: Mapped[str | None] = mapped_column(Text)
    backchannel_logout_session_required: Mapped[bool] = mapped_column(Boolean, default=True)
    #: "active" or "disabled"
    status: Mapped[str] = mapped_column(String(16), default="active")
    created_at: Mapped[datetime] = mapped_column(DateTime)
    updated_at: Mapped[datetime] = mapped_column(DateTime)

    # --- derived ------------------------------------------------------------------------------
    @property
    def is_public(self) -> bool:
        return self.token_endpoint_auth_method == "none"

    @property
    def is_active(self) -> bool:
        return self.status == "active"

    @property
    def client_metadata(self) -> dict:
        # Authlib's RP-initiated logout endpoint reads this mapping.
        return {"post_logout_redirect_uris": list(self.post_logout_redirect_uris or [])}

    def set_secret(self, secret: str | None) -> None:
        self.secret_hash = hash_secret(secret) if secret else None

    # --- Authlib ClientMixin ------------------------------------------------------------------
    def get_client_id(self) -> str:
        return self.client_id

    def get_default_redirect_uri(self) -> str | None:
        # OIDC requires redirect_uri in every request; there is no default.
        return None

    def get_allowed_scope(self, scope: str | None) -> str:
        if not scope:
            return ""
        allowed = set(self.scope.split())
        return " ".join(s for s in scope.split() if s in allowed)

    def check_redirect_uri(self, redirect_uri: str) -> bool:
        return redirect_uris.matches(list(self.redirect_uris or []), redirect_uri)

    def check_client_secret(self, client_secret: str) -> bool:
        if not self.secret_hash:
            return False
        return hmac.compare_digest(self.secret_hash, hash_secret(client_secret))

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        return method == self.token_endpoint_auth_method

    def check_response_type(self, response_type: str) -> bool:
        return response_type in (self.response_types or [])

    def check_grant_type(self, grant_type: str) -> bool:
        return grant_type in (self.grant_types or [])

    def __repr__(self) -> str:
        return f"<Client {self.client_id}>"
