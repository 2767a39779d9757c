"""Administrative roles (三员分立: system admin, security officer, auditor; plus service-hall
officers who record in-person verification). A person holds each role at most once; nobody can
grant a role to themselves (enforced where roles are granted)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db

ROLES = ("system_admin", "security_officer", "auditor", "hall_officer")


class PersonRole(db.Model):
    __tablename__ = "person_role"
    __table_args__ = (UniqueConstraint("person_id", "role"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"), index=True)
    #: one of ROLES
    role: Mapped[str] = mapped_column(String(32))
    granted_at: Mapped[datetime] = mapped_column(DateTime)
    granted_by: Mapped[int | None] = mapped_column(ForeignKey("person.id", ondelete="SET NULL"))
