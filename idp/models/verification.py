"""Real-name verification: the evidence behind every level, and each person's separate consent to
release their full legal name and document number to one client (PIPL art. 29)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, DateTime, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db


class VerificationEvidence(db.Model):
    """One check and its answer: what was asked, of whom, when, and what came back. Rows are only
    added, never changed; a level is always the result of rows like these."""

    __tablename__ = "verification_evidence"

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"),
                                           index=True)
    #: keyed index of the document number the check was about (never the number itself)
    number_index: Mapped[str] = mapped_column(String(64))
    #: registry_2f, carrier_3f, bank_4f, face_liveness, in_person, superseded
    method: Mapped[str] = mapped_column(String(32))
    #: match, no_match, no_record, cancelled, deceased, rejected, superseded
    result: Mapped[str] = mapped_column(String(16))
    #: the level this row supports when result == "match" (else None)
    level: Mapped[int | None] = mapped_column(Integer)
    #: who answered: the gateway's name, or "officer:<person id>"
    checker: Mapped[str] = mapped_column(String(64))
    #: the checker's own reference (gateway transaction id, card chip serial, ...)
    reference: Mapped[str | None] = mapped_column(String(128))
    checked_at: Mapped[datetime] = mapped_column(DateTime)
    detail: Mapped[dict] = mapped_column(JSON, default=dict)


class DisclosureConsent(db.Model):
    """A person's separate decision about releasing their full legal name and document number to
    one client. Withdrawable at any time; only an active grant releases anything."""

    __tablename__ = "disclosure_consent"
    __table_args__ = (UniqueConstraint("person_id", "client_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"))
    client_id: Mapped[int] = mapped_column(ForeignKey("client.id", ondelete="CASCADE"))
    #: "granted", "declined" or "withdrawn"
    state: Mapped[str] = mapped_column(String(16))
    decided_at: Mapped[datetime] = mapped_column(DateTime)

    @property
    def active(self) -> bool:
        return self.state == "granted"
