"""Device authorizations (RFC 8628) for self-service terminals, TVs and kiosks."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, DateTime, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db

#: pending → approved → issued; or denied
DEVICE_STATES = ("pending", "approved", "denied", "issued")


class DeviceAuthorization(db.Model):
    __tablename__ = "device_authorization"

    id: Mapped[int] = mapped_column(primary_key=True)
    device_code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    #: normalised (no separator), e.g. "BCDFGHJK"; unique among live and dead codes alike
    user_code: Mapped[str] = mapped_column(String(16), unique=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("client.id", ondelete="CASCADE"),
                                           index=True)
    scope: Mapped[str] = mapped_column(Text, default="")
    state: Mapped[str] = mapped_column(String(16), default="pending")
    created_at: Mapped[datetime] = mapped_column(DateTime)
    expires_at: Mapped[datetime] = mapped_column(DateTime, index=True)
    #: seconds the terminal must wait between polls; grows by 5 at every slow_down
    interval: Mapped[int] = mapped_column(Integer)
    last_poll_at: Mapped[datetime | None] = mapped_column(DateTime)
    person_id: Mapped[int | None] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"))
    #: how the person authenticated on the phone that approved
    acr: Mapped[str | None] = mapped_column(String(64))
    amr: Mapped[list] = mapped_column(JSON, default=list)
    auth_time: Mapped[datetime | None] = mapped_column(DateTime)
    decided_at: Mapped[datetime | None] = mapped_column(DateTime)
    issued_at: Mapped[datetime | None] = mapped_column(DateTime)

    # --- Authlib DeviceCredentialMixin ---------------------------------------------------------
    def get_scope(self) -> str:
        return self.scope

    def get_user_code(self) -> str:
        return self.user_code
