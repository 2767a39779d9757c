"""The back-channel logout outbox (OIDC Back-Channel Logout 1.0): one row per client to tell
that a session ended, written in the transaction that ended it and delivered by the worker."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db

#: waiting for (another) attempt; accepted by the client; given up on
STATES = ("pending", "delivered", "failed")


class LogoutDelivery(db.Model):
    __tablename__ = "logout_delivery"
    __table_args__ = (
        Index("ix_logout_delivery_due", "state", "next_attempt_at"),
        Index("ix_logout_delivery_client_created", "client_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("client.id", ondelete="CASCADE"))
    person_id: Mapped[int | None] = mapped_column(ForeignKey("person.id", ondelete="SET NULL"),
                                                  index=True)
    #: the session's public id (the `sid` the client saw in its ID token)
    sid: Mapped[str | None] = mapped_column(String(43), index=True)
    #: the subject as this client knows it (public or pairwise)
    sub: Mapped[str | None] = mapped_column(String(64))
    #: why the session ended (logout, expired, ended_by_officer, account_locked, ...)
    reason: Mapped[str] = mapped_column(String(32))
    #: the URI at the time of enqueueing (a later change of registration does not redirect it)
    uri: Mapped[str] = mapped_column(Text)
    state: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(DateTime)
    #: when the worker may try next; while an attempt runs it is the end of that attempt's lease
    next_attempt_at: Mapped[datetime] = mapped_column(DateTime)
    last_attempt_at: Mapped[datetime | None] = mapped_column(DateTime)
    #: HTTP status of the last answer, if there was one
    last_status: Mapped[int | None] = mapped_column(Integer)
    #: short operator-facing reason of the last failure (never the token)
    last_error: Mapped[str | None] = mapped_column(String(255))
    #: `jti` of the last logout token sent (tokens are minted per attempt so `iat` is fresh)
    last_jti: Mapped[str | None] = mapped_column(String(43))
    finished_at: Mapped[datetime | None] = mapped_column(DateTime)

    client = relationship("Client", lazy="joined")
