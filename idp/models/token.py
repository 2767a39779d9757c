"""Issued tokens. Access tokens are JWTs verified offline; their rows exist so that revocation,
introspection and code-reuse revocation can find them. Refresh tokens are opaque and stored
only as SHA-256."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, DateTime, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db


class AccessToken(db.Model):
    __tablename__ = "access_token"

    id: Mapped[int] = mapped_column(primary_key=True)
    jti: Mapped[str] = mapped_column(String(43), unique=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("client.id", ondelete="CASCADE"), index=True)
    person_id: Mapped[int | None] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"),
                                                  index=True)
    #: the code this token came from (a reused code revokes it)
    code_id: Mapped[int | None] = mapped_column(index=True)
    #: the refresh family this token came from (a reused refresh token revokes it)
    family_id: Mapped[str | None] = mapped_column(String(43), index=True)
    sid: Mapped[str | None] = mapped_column(String(43), index=True)
    scope: Mapped[str] = mapped_column(Text, default="")
    #: the `claims` request parameter's userinfo/id_token members, if any
    claims: Mapped[dict | None] = mapped_column(JSON)
    issued_at: Mapped[datetime] = mapped_column(DateTime)
    expires_at: Mapped[datetime] = mapped_column(DateTime, index=True)
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime)


class RefreshToken(db.Model):
    __tablename__ = "refresh_token"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    #: every token rotated from one grant shares a family; reuse revokes the family, nothing else
    family_id: Mapped[str] = mapped_column(String(43), index=True)
    parent_id: Mapped[int | None] = mapped_column()
    client_id: Mapped[int] = mapped_column(ForeignKey("client.id", ondelete="CASCADE"), index=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"), index=True)
    code_id: Mapped[int | None] = mapped_column(index=True)
    sid: Mapped[str | None] = mapped_column(String(43), index=True)
    scope: Mapped[str] = mapped_column(Text, default="")
    claims: Mapped[dict | None] = mapped_column(JSON)
    auth_time: Mapped[datetime] = mapped_column(DateTime)
    acr: Mapped[str | None] = mapped_column(String(64))
    amr: Mapped[list] = mapped_column(JSON, default=list)
    issued_at: Mapped[datetime] = mapped_column(DateTime)
    #: idle expiry: a token unused until then is dead
    expires_at: Mapped[datetime] = mapped_column(DateTime, index=True)
    #: absolute expiry of the whole family
    family_expires_at: Mapped[datetime] = mapped_column(DateTime)
    #: set atomically by the one refresh that rotates this token
    rotated_at: Mapped[datetime | None] = mapped_column(DateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime)

    # --- Authlib TokenMixin -------------------------------------------------------------------
    def get_scope(self) -> str:
        return self.scope

    def check_client(self, client) -> bool:
        return self.client_id == client.id
