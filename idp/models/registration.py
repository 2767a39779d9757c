"""Client registration bookkeeping: the requests a system admin approves or rejects, and the
initial access tokens that let an organisation register clients dynamically (RFC 7591 §3)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, DateTime, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db

REQUEST_KINDS = ("registration", "change")
REQUEST_STATES = ("pending", "approved", "rejected", "superseded", "withdrawn")


class ClientRequest(db.Model):
    """A new client, or a widening change to an approved one, waiting for a system admin.

    `baseline` is the client's approved metadata when the request was made and `proposed` what
    it would become, so the admin sees exactly what changes."""

    __tablename__ = "client_request"

    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("client.id", ondelete="CASCADE"),
                                           index=True)
    #: one of REQUEST_KINDS
    kind: Mapped[str] = mapped_column(String(16))
    #: one of REQUEST_STATES
    status: Mapped[str] = mapped_column(String(16), default="pending", index=True)
    baseline: Mapped[dict] = mapped_column(JSON, default=dict)
    proposed: Mapped[dict] = mapped_column(JSON, default=dict)
    #: "portal" or "dcr"
    via: Mapped[str] = mapped_column(String(16))
    requested_by: Mapped[int | None] = mapped_column(ForeignKey("person.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(DateTime)
    decided_by: Mapped[int | None] = mapped_column(ForeignKey("person.id", ondelete="SET NULL"))
    decided_at: Mapped[datetime | None] = mapped_column(DateTime)
    reason: Mapped[str | None] = mapped_column(Text)


class InitialAccessToken(db.Model):
    """Lets its holder call the registration endpoint for one organisation, a limited number of
    times, until it expires. Stored as SHA-256; the value is shown once."""

    __tablename__ = "initial_access_token"

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(
        ForeignKey("organisation.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    label: Mapped[str] = mapped_column(String(100))
    #: "production" (clients wait for approval) or "sandbox" (clients work at once, test accounts)
    environment: Mapped[str] = mapped_column(String(16))
    max_uses: Mapped[int] = mapped_column(Integer, default=1)
    uses: Mapped[int] = mapped_column(Integer, default=0)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("person.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(DateTime)
    expires_at: Mapped[datetime] = mapped_column(DateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime)
