"""Failed-attempt counters for brute-force protection, one row per account or source address.
They live in the database so every process and node of a cluster shares them."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db


class ThrottleCounter(db.Model):
    __tablename__ = "throttle_counter"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: "person:<id>", "name:<keyed hash of an unknown identifier>" or "ip:<address>"
    key: Mapped[str] = mapped_column(String(80), unique=True)
    #: consecutive failures (accounts: until a completed login or an unlock; sources: until
    #: a quiet period passes)
    failures: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    last_failure_at: Mapped[datetime | None] = mapped_column(DateTime)
    #: no attempt is checked before this time (the growing delay, up to a temporary lock)
    blocked_until: Mapped[datetime | None] = mapped_column(DateTime)
    #: set at the hard-lock threshold; only an officer (or a passkey login) clears it
    locked_at: Mapped[datetime | None] = mapped_column(DateTime)
