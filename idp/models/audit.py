"""Audit events: named `<object>.<verb>`, append-only, never holding a secret."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, DateTime, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db


class AuditEvent(db.Model):
    __tablename__ = "audit_event"
    __table_args__ = (
        Index("ix_audit_event_person_at", "person_id", "at"),
        Index("ix_audit_event_event_at", "event", "at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime, index=True)
    event: Mapped[str] = mapped_column(String(64))
    person_id: Mapped[int | None] = mapped_column()
    client_id: Mapped[str | None] = mapped_column(String(64))
    ip: Mapped[str | None] = mapped_column(String(45))
    sid: Mapped[str | None] = mapped_column(String(43))
    detail: Mapped[dict] = mapped_column(JSON, default=dict)
