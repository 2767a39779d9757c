"""What a person granted: pending interactions, authorization codes and remembered consents."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, DateTime, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db


class Interaction(db.Model):
    """An authorization request waiting for the person (login, consent), stored server-side so
    no request parameter travels in a URL or cookie while the person logs in."""

    __tablename__ = "interaction"

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_hash: Mapped[str] = mapped_column(String(64), unique=True)
    #: the authorization request parameters as [name, value] pairs, duplicates kept
    params: Mapped[list] = mapped_column(JSON)
    #: hash of the browser binding held in the signed browser cookie; set on first use
    browser_hash: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime)
    expires_at: Mapped[datetime] = mapped_column(DateTime, index=True)
    #: set when the person approved the consent page within this interaction
    consent_at: Mapped[datetime | None] = mapped_column(DateTime)
    completed_at: Mapped[datetime | None] = mapped_column(DateTime)


class AuthorizationCode(db.Model):
    __tablename__ = "authorization_code"

    id: Mapped[int] = mapped_column(primary_key=True)
    code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("client.id", ondelete="CASCADE"), index=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"))
    sid: Mapped[str | None] = mapped_column(String(43))
    redirect_uri: Mapped[str | None] = mapped_column(Text)
    scope: Mapped[str] = mapped_column(Text, default="")
    nonce: Mapped[str | None] = mapped_column(Text)
    code_challenge: Mapped[str | None] = mapped_column(String(128))
    code_challenge_method: Mapped[str | None] = mapped_column(String(8))
    claims: Mapped[dict | None] = mapped_column(JSON)
    auth_time: Mapped[datetime] = mapped_column(DateTime)
    acr: Mapped[str | None] = mapped_column(String(64))
    amr: Mapped[list] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(DateTime)
    expires_at: Mapped[datetime] = mapped_column(DateTime, index=True)
    #: set atomically by the one redemption that wins; a second redemption finds it set
    used_at: Mapped[datetime | None] = mapped_column(DateTime)

    # --- Authlib AuthorizationCodeMixin -------------------------------------------------------
    def get_redirect_uri(self) -> str | None:
        return self.redirect_uri

    def get_scope(self) -> str:
        return self.scope

    def get_nonce(self) -> str | None:
        return self.nonce


class Consent(db.Model):
    """The scopes and claims a person allowed a client to receive, remembered per client."""

    __tablename__ = "consent"
    __table_args__ = (UniqueConstraint("person_id", "client_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"))
    client_id: Mapped[int] = mapped_column(ForeignKey("client.id", ondelete="CASCADE"))
    scopes: Mapped[list] = mapped_column(JSON, default=list)
    claims: Mapped[list] = mapped_column(JSON, default=list)
    granted_at: Mapped[datetime] = mapped_column(DateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime)

    def covers(self, scopes: set[str], claims: set[str]) -> bool:
        return (self.revoked_at is None and scopes <= set(self.scopes)
                and claims <= set(self.claims))
