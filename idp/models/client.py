"""A relying party registered with the IdP, and the answers Authlib asks of it."""

from __future__ import annotations

import hashlib
import hmac
from datetime import datetime

from sqlalchemy import JSON, Boolean, DateTime, ForeignKey, Integer, String, Text, false
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db
from ..oidc import redirect_uris

CLIENT_TYPES = ("web", "spa", "native", "mini_program", "terminal", "service")
PUBLIC_TYPES = ("spa", "native", "terminal")
#: "production" clients serve everyone once approved; "sandbox" clients work at once, for test
#: accounts only
ENVIRONMENTS = ("production", "sandbox")


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
    #: the lowest authentication level (acr) this client accepts, e.g. "urn:tongban:aal2";
    #: a session below it is stepped up before a code is issued
    min_acr: Mapped[str | None] = mapped_column(String(64))
    #: first-party portals skip the consent page (the person already trusts the government portal)
    first_party: Mapped[bool] = mapped_column(Boolean, default=False)
    #: may receive the `employee_number` claim of department staff (scope `department`)
    release_employee_number: Mapped[bool] = mapped_column(Boolean, default=False,
                                                          server_default=false())
    id_token_signed_response_alg: Mapped[str] = mapped_column(String(8), default="RS256")
    #: "public" or "pairwise"
    subject_type: Mapped[str] = mapped_column(String(8), default="public")
    sector_identifier: Mapped[str | None] = mapped_column(String(255))
    frontchannel_logout_uri: Mapped[str | None] = mapped_column(Text)
    frontchannel_logout_session_required: Mapped[bool] = mapped_column(Boolean, default=True)
    backchannel_logout_uri: Mapped[str | None] = mapped_column(Text)
    backchannel_logout_session_required: Mapped[bool] = mapped_column(Boolean, default=True)
    #: the real-name level (0-4, DESIGN §2) a person must have reached before this client gets a
    #: code; a person below it is taken through the missing verification step during login
    min_real_name_level: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    #: approved (by an operator) to receive the full legal name and document number, which it
    #: still gets only after the person's separate consent; everyone else sees masked values
    full_identity_approved: Mapped[bool] = mapped_column(Boolean, default=False,
                                                         server_default=false())
    #: "active", "disabled", "pending" (waiting for a system admin) or "rejected"
    status: Mapped[str] = mapped_column(String(16), default="active")
    created_at: Mapped[datetime] = mapped_column(DateTime)
    updated_at: Mapped[datetime] = mapped_column(DateTime)

    # --- registration (developer portal, RFC 7591) ----------------------------------------------
    organisation_id: Mapped[int | None] = mapped_column(
        ForeignKey("organisation.id", ondelete="SET NULL"), index=True)
    #: one of ENVIRONMENTS
    environment: Mapped[str] = mapped_column(String(16), default="production",
                                             server_default="production")
    #: "cli", "portal" or "dcr"
    registered_via: Mapped[str | None] = mapped_column(String(16))
    description: Mapped[str | None] = mapped_column(Text)
    contacts: Mapped[list | None] = mapped_column(JSON)
    logo_uri: Mapped[str | None] = mapped_column(Text)
    client_uri: Mapped[str | None] = mapped_column(Text)
    policy_uri: Mapped[str | None] = mapped_column(Text)
    tos_uri: Mapped[str | None] = mapped_column(Text)
    initiate_login_uri: Mapped[str | None] = mapped_column(Text)
    #: sensitive claims (legal name, identity document) asked for, with why and on what legal
    #: basis (PIPL art. 23/29); released only once approved
    sensitive_claims: Mapped[list | None] = mapped_column(JSON)
    sensitive_purpose: Mapped[str | None] = mapped_column(Text)
    sensitive_legal_basis: Mapped[str | None] = mapped_column(Text)
    sector_identifier_uri: Mapped[str | None] = mapped_column(Text)
    #: private_key_jwt: the client's public keys, inline or at a URL fetched by idp.fetch
    jwks: Mapped[dict | None] = mapped_column(JSON)
    jwks_uri: Mapped[str | None] = mapped_column(Text)
    token_endpoint_auth_signing_alg: Mapped[str | None] = mapped_column(String(8))
    #: the secret replaced by the last rotation stays valid until previous_secret_expires_at
    previous_secret_hash: Mapped[str | None] = mapped_column(String(64))
    previous_secret_expires_at: Mapped[datetime | None] = mapped_column(DateTime)
    #: RFC 7592 registration access token (SHA-256)
    registration_token_hash: Mapped[str | None] = mapped_column(String(64), unique=True)

    # --- derived ------------------------------------------------------------------------------
    @property
    def is_public(self) -> bool:
        return self.token_endpoint_auth_method == "none"

    @property
    def may_receive_full_identity(self) -> bool:
        """Approved to ask for the full legal name and document number (still only released
        after the person's separate consent): by an operator (`full_identity_approved`) or
        through a registration a system admin approved with those sensitive claims."""
        return bool(self.full_identity_approved
                    or {"legal_name", "id_number"} & set(self.sensitive_claims or []))

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

    def check_client_secret(self, client_secret: str, now: datetime | None = None) -> bool:
        """The current secret, or the one it replaced while the rotation's overlap lasts."""
        presented = hash_secret(client_secret)
        current = bool(self.secret_hash) and hmac.compare_digest(self.secret_hash, presented)
        previous = bool(self.previous_secret_hash) and hmac.compare_digest(
            self.previous_secret_hash, presented)
        if previous:
            if now is None:
                from ..clock import utcnow

                now = utcnow()
            previous = (self.previous_secret_expires_at is not None
                        and now < self.previous_secret_expires_at)
        return current or previous

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        return method == self.token_endpoint_auth_method

    def check_response_type(self, response_type: str) -> bool:
        return response_type in (self.response_types or [])

    def check_grant_type(self, grant_type: str) -> bool:
        return grant_type in (self.grant_types or [])

    def __repr__(self) -> str:
        return f"<Client {self.client_id}>"
