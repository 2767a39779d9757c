"""Server-side SSO sessions at the IdP, and the clients that joined each one."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, DateTime, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from .person import Person


class SsoSession(db.Model):
    __tablename__ = "sso_session"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: public session id, the `sid` claim relying parties see; not the cookie value
    sid: Mapped[str] = mapped_column(String(43), unique=True)
    #: SHA-256 of the cookie value; a new value at every login and step-up
    secret_hash: Mapped[str] = mapped_column(String(64), unique=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime)
    auth_time: Mapped[datetime] = mapped_column(DateTime)
    last_seen_at: Mapped[datetime] = mapped_column(DateTime)
    expires_at: Mapped[datetime] = mapped_column(DateTime)
    acr: Mapped[str] = mapped_column(String(64))
    amr: Mapped[list] = mapped_column(JSON, default=list)
    #: how the session was opened: "web" (the login page), later "qr", "device", ...
    channel: Mapped[str] = mapped_column(String(16), default="web", server_default="web")
    ip: Mapped[str | None] = mapped_column(String(45))
    user_agent: Mapped[str | None] = mapped_column(String(255))
    ended_at: Mapped[datetime | None] = mapped_column(DateTime, index=True)
    end_reason: Mapped[str | None] = mapped_column(String(32))

    person: Mapped[Person] = relationship(lazy="joined")
    clients: Mapped[list[SessionClient]] = relationship(back_populates="session",
                                                        cascade="all, delete-orphan")


class SessionClient(db.Model):
    """A client that received tokens within a session (it must hear about the logout)."""

    __tablename__ = "session_client"
    __table_args__ = (UniqueConstraint("session_id", "client_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("sso_session.id", ondelete="CASCADE"))
    client_id: Mapped[int] = mapped_column(ForeignKey("client.id", ondelete="CASCADE"))
    joined_at: Mapped[datetime] = mapped_column(DateTime)
    last_at: Mapped[datetime] = mapped_column(DateTime)

    session: Mapped[SsoSession] = relationship(back_populates="clients")
    client = relationship("Client", lazy="joined")
