"""A person's identity document: the number sealed (AES-GCM) with a keyed index for uniqueness
and lookup, never stored or logged in clear. One person per verified number."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, DateTime, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db


class IdentityDocument(db.Model):
    __tablename__ = "identity_document"

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"),
                                           unique=True)
    #: e.g. "cn_resident_id", "hk_mo_tw_permit", "foreign_permanent_residence"
    doc_type: Mapped[str] = mapped_column(String(32))
    number_sealed: Mapped[str] = mapped_column(Text)
    #: keyed HMAC of the normalised number; unique, so no two people hold one number
    number_index: Mapped[str] = mapped_column(String(64), unique=True)
    #: shown to people and officers: 1101**********1234
    number_masked: Mapped[str] = mapped_column(String(32))
    legal_name: Mapped[str] = mapped_column(String(100))
    #: real-name level reached with this document (0 = self-asserted, format-checked only)
    level: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    verified_at: Mapped[datetime | None] = mapped_column(DateTime)
    #: from the number (every supported document carries it); released as `birthdate` only in
    #: verified_claims
    birthdate: Mapped[date | None] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(DateTime)
