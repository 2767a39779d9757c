"""Organisations that build relying parties (departments and their contractors), the people who
develop for them, and the invitations that bring co-developers in. Clients belong to an
organisation, never to one person, so a developer leaving does not orphan a portal."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, DateTime, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db

KINDS = ("department", "contractor")
MEMBER_ROLES = ("owner", "developer")


class Organisation(db.Model):
    __tablename__ = "organisation"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    #: one of KINDS
    kind: Mapped[str] = mapped_column(String(16))
    #: public keys whose signature on an RFC 7591 software statement this organisation vouches for
    software_statement_jwks: Mapped[dict | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(DateTime)
    #: a person id, deliberately without a foreign key: test accounts (person) point at their
    #: organisation, and a cycle of foreign keys would make both tables hard to delete from
    created_by: Mapped[int | None] = mapped_column()


class Membership(db.Model):
    __tablename__ = "organisation_member"
    __table_args__ = (UniqueConstraint("organisation_id", "person_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(
        ForeignKey("organisation.id", ondelete="CASCADE"), index=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"),
                                           index=True)
    #: one of MEMBER_ROLES; owners also manage members
    role: Mapped[str] = mapped_column(String(16), default="developer")
    joined_at: Mapped[datetime] = mapped_column(DateTime)


class Invitation(db.Model):
    """A single-use link that makes whoever opens it (logged in) a developer of the organisation.
    Only the SHA-256 of the link's token is stored."""

    __tablename__ = "organisation_invitation"

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(
        ForeignKey("organisation.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    #: who it is meant for, as the inviter wrote it (shown to the inviter only)
    note: Mapped[str | None] = mapped_column(String(200))
    created_by: Mapped[int | None] = mapped_column(ForeignKey("person.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(DateTime)
    expires_at: Mapped[datetime] = mapped_column(DateTime)
    accepted_at: Mapped[datetime | None] = mapped_column(DateTime)
    accepted_by: Mapped[int | None] = mapped_column(ForeignKey("person.id", ondelete="SET NULL"))
