"""QR-code logins: a PC browser shows a code, a logged-in government app scans and confirms it,
and only then does the PC browser get a session."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, DateTime, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db

#: waiting → scanned → confirmed → completed; or declined / expired on the way
QR_STATES = ("waiting", "scanned", "confirmed", "completed", "declined")


class QrLogin(db.Model):
    __tablename__ = "qr_login"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: SHA-256 of the secret in the QR code (what the app presents)
    code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    #: SHA-256 of the id the PC page polls with; useless without the browser binding
    poll_hash: Mapped[str] = mapped_column(String(64), unique=True)
    #: hash of the PC browser's binding (random value in its signed cookie)
    browser_hash: Mapped[str] = mapped_column(String(64))
    state: Mapped[str] = mapped_column(String(16), default="waiting")
    #: where the PC browser goes after login (a local path) and who asked for it
    next_path: Mapped[str] = mapped_column(Text)
    client_name: Mapped[str | None] = mapped_column(String(200))
    pc_ip: Mapped[str | None] = mapped_column(String(45))
    pc_user_agent: Mapped[str | None] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(DateTime)
    expires_at: Mapped[datetime] = mapped_column(DateTime, index=True)
    last_poll_at: Mapped[datetime | None] = mapped_column(DateTime)
    #: the app session that scanned: only it may confirm
    person_id: Mapped[int | None] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"))
    app_sid: Mapped[str | None] = mapped_column(String(43))
    app_client_id: Mapped[str | None] = mapped_column(String(64))
    scanned_at: Mapped[datetime | None] = mapped_column(DateTime)
    #: copied from the app's session when it confirms
    acr: Mapped[str | None] = mapped_column(String(64))
    amr: Mapped[list] = mapped_column(JSON, default=list)
    decided_at: Mapped[datetime | None] = mapped_column(DateTime)
    completed_at: Mapped[datetime | None] = mapped_column(DateTime)
