"""A person: the one account a citizen (or staff member) has, whatever they log in with."""

from __future__ import annotations

import secrets
from datetime import datetime

from sqlalchemy import Boolean, DateTime, ForeignKey, String, false
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db


def new_subject() -> str:
    # The public `sub` is random and never derived from anything about the person.
    return secrets.token_urlsafe(16)


class Person(db.Model):
    __tablename__ = "person"

    id: Mapped[int] = mapped_column(primary_key=True)
    sub: Mapped[str] = mapped_column(String(43), unique=True, default=new_subject)
    username: Mapped[str | None] = mapped_column(String(64), unique=True)
    email: Mapped[str | None] = mapped_column(String(254), unique=True)
    phone: Mapped[str | None] = mapped_column(String(20), unique=True)
    email_verified: Mapped[bool] = mapped_column(Boolean, default=False)
    phone_verified: Mapped[bool] = mapped_column(Boolean, default=False)
    display_name: Mapped[str | None] = mapped_column(String(100))
    password_hash: Mapped[str | None] = mapped_column(String(255))
    password_changed_at: Mapped[datetime | None] = mapped_column(DateTime)
    #: "active", "locked" (by an officer, reversible) or "disabled"
    status: Mapped[str] = mapped_column(String(16), default="active")
    #: an officer asked for a new password: the next password login must set one first
    password_reset_required: Mapped[bool] = mapped_column(Boolean, default=False,
                                                          server_default=false())
    created_at: Mapped[datetime] = mapped_column(DateTime)
    updated_at: Mapped[datetime] = mapped_column(DateTime)
    #: set for a test account: a made-up person an organisation's developers created to try
    #: their sandbox clients. Sandbox clients accept nobody else.
    test_organisation_id: Mapped[int | None] = mapped_column(
        ForeignKey("organisation.id", ondelete="CASCADE"))

    @property
    def is_active(self) -> bool:
        return self.status == "active"

    @property
    def is_test_account(self) -> bool:
        return self.test_organisation_id is not None

    def get_user_id(self) -> int:  # Authlib's user protocol
        return self.id

    def __repr__(self) -> str:
        return f"<Person {self.id}>"
