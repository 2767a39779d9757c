"""Department directory accounts (DESIGN.md §3): one row per directory entry that ever logged in
or was linked, keyed by the directory and the entry's stable id, never by its login name; the
link conflicts waiting for a security officer; the sessions a directory login opened; and each
directory's health."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, DateTime, Float, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db

#: what the directory last said about an entry
ENTRY_STATES = ("active", "locked", "disabled", "deleted")
#: states whose link still counts (a locked entry is a temporary state of a live account)
LIVE_STATES = ("active", "locked")
REVIEW_REASONS = ("number_unverified", "number_mismatch", "linked_elsewhere",
                  "person_already_linked", "number_changed")


class DirectoryAccount(db.Model):
    __tablename__ = "directory_account"
    __table_args__ = (UniqueConstraint("directory", "external_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    #: the directory's configured id (e.g. "finance"): part of the key, so the same login name
    #: in two directories never collides
    directory: Mapped[str] = mapped_column(String(64))
    #: the entry's stable id (entryUUID, objectGUID): survives renames and moves
    external_id: Mapped[str] = mapped_column(String(128))
    login: Mapped[str] = mapped_column(String(256))
    dn: Mapped[str] = mapped_column(Text)
    display_name: Mapped[str | None] = mapped_column(String(200))
    mail: Mapped[str | None] = mapped_column(String(254))
    phone: Mapped[str | None] = mapped_column(String(32))
    employee_number: Mapped[str | None] = mapped_column(String(64))
    #: keyed index (never the number) of the directory's identity-number attribute, so a change
    #: is noticed without keeping the number
    id_number_index: Mapped[str | None] = mapped_column(String(64))
    #: role names mapped from the entry's groups
    roles: Mapped[list] = mapped_column(JSON, default=list)
    #: one of ENTRY_STATES
    entry_state: Mapped[str] = mapped_column(String(16), default="active")
    person_id: Mapped[int | None] = mapped_column(ForeignKey("person.id", ondelete="SET NULL"),
                                                  index=True)
    #: "verified_number", "proved_both", "staff" (staff-only directory), "officer"
    linked_via: Mapped[str | None] = mapped_column(String(16))
    linked_at: Mapped[datetime | None] = mapped_column(DateTime)
    created_at: Mapped[datetime] = mapped_column(DateTime)
    updated_at: Mapped[datetime] = mapped_column(DateTime)
    last_login_at: Mapped[datetime | None] = mapped_column(DateTime)
    synced_at: Mapped[datetime | None] = mapped_column(DateTime)

    @property
    def is_live(self) -> bool:
        return self.entry_state in LIVE_STATES


class DirectoryLinkReview(db.Model):
    """A link the IdP would not decide alone: a security officer links or rejects it."""

    __tablename__ = "directory_link_review"

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(
        ForeignKey("directory_account.id", ondelete="CASCADE"), index=True)
    #: one of REVIEW_REASONS
    reason: Mapped[str] = mapped_column(String(32))
    #: the person the verified number points at, if any
    candidate_person_id: Mapped[int | None] = mapped_column(
        ForeignKey("person.id", ondelete="SET NULL"))
    #: the person who asked for the link by proving both accounts, if any
    requested_by_person_id: Mapped[int | None] = mapped_column(
        ForeignKey("person.id", ondelete="SET NULL"))
    #: "open", "linked" or "rejected"
    status: Mapped[str] = mapped_column(String(16), default="open", index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime)
    resolved_at: Mapped[datetime | None] = mapped_column(DateTime)
    resolved_by: Mapped[int | None] = mapped_column(ForeignKey("person.id", ondelete="SET NULL"))
    note: Mapped[str | None] = mapped_column(Text)


class DirectorySession(db.Model):
    """An SSO session that a directory account took part in: it ends when the entry is
    disabled or deleted."""

    __tablename__ = "directory_session"
    __table_args__ = (UniqueConstraint("session_id", "account_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("sso_session.id", ondelete="CASCADE"),
                                            index=True)
    account_id: Mapped[int] = mapped_column(
        ForeignKey("directory_account.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime)


class DirectoryHealth(db.Model):
    """What every node last saw of a directory, for `flask directory status`."""

    __tablename__ = "directory_health"

    directory: Mapped[str] = mapped_column(String(64), primary_key=True)
    last_bind_at: Mapped[datetime | None] = mapped_column(DateTime)
    last_server: Mapped[str | None] = mapped_column(String(255))
    latency_ms: Mapped[float | None] = mapped_column(Float)
    last_error_at: Mapped[datetime | None] = mapped_column(DateTime)
    last_error: Mapped[str | None] = mapped_column(Text)
    last_sync_at: Mapped[datetime | None] = mapped_column(DateTime)
    last_sync_error: Mapped[str | None] = mapped_column(Text)
    #: where the next incremental sync starts (modifyTimestamp or uSNChanged value)
    sync_cursor: Mapped[str | None] = mapped_column(String(64))

