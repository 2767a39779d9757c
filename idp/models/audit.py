"""Audit events: named `<object>.<verb>`, append-only, hash-chained, never holding a secret.

Each record holds the hash of the record before it (`prev_hash`) and its own `hash`, computed
over a canonical JSON form of its content and `prev_hash` (see idp/audit_trail/chain.py). Records
moved out of the table by the archive command are described by an :class:`AuditArchive` row, so
the live chain stays verifiable against what was archived.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, DateTime, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db


class AuditEvent(db.Model):
    __tablename__ = "audit_event"
    # Every officer search is "newest first" over (at, id) with one equality filter: one
    # composite index per filter keeps keyset pagination an index range scan at any size.
    __table_args__ = (
        Index("ix_audit_event_at_id", "at", "id"),
        Index("ix_audit_event_person_at_id", "person_id", "at", "id"),
        Index("ix_audit_event_client_at_id", "client_id", "at", "id"),
        Index("ix_audit_event_event_at_id", "event", "at", "id"),
        Index("ix_audit_event_ip_at_id", "ip", "at", "id"),
        Index("ix_audit_event_actor_at_id", "actor_id", "at", "id"),
        # Ids are never reused, not even after an archive empties the table (SQLite would
        # otherwise start again at 1).
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime)
    event: Mapped[str] = mapped_column(String(64))
    person_id: Mapped[int | None] = mapped_column()
    client_id: Mapped[str | None] = mapped_column(String(64))
    ip: Mapped[str | None] = mapped_column(String(45))
    sid: Mapped[str | None] = mapped_column(String(43))
    #: the officer (or other person) who did this to `person_id`, when not the person themself
    actor_id: Mapped[int | None] = mapped_column()
    detail: Mapped[dict] = mapped_column(JSON, default=dict)
    #: hash of the previous record in the chain (64 zeros for the first record ever)
    prev_hash: Mapped[str] = mapped_column(String(64))
    #: SHA-256 over this record's canonical form, which includes prev_hash
    hash: Mapped[str] = mapped_column(String(64))


class AuditArchive(db.Model):
    """A run of the oldest records moved to a file by `flask audit archive`. Append-only too."""

    __tablename__ = "audit_archive"

    id: Mapped[int] = mapped_column(primary_key=True)
    created_at: Mapped[datetime] = mapped_column(DateTime)
    #: file name as written (the operator moves it to cold storage)
    filename: Mapped[str] = mapped_column(Text)
    first_id: Mapped[int] = mapped_column(Integer)
    last_id: Mapped[int] = mapped_column(Integer)
    count: Mapped[int] = mapped_column(Integer)
    #: chain hash before the first archived record, and of the last one
    prev_hash: Mapped[str] = mapped_column(String(64))
    last_hash: Mapped[str] = mapped_column(String(64))
    #: SHA-256 of the file's bytes
    file_sha256: Mapped[str] = mapped_column(String(64))
