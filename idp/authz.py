"""Who may do what: the one check every privileged page calls, so that tightening it (AAL2 for
administrators, DESIGN.md §5) is a change in one place."""

from __future__ import annotations

from sqlalchemy import select

from .errors import TongbanError
from .extensions import db
from .models import ROLES, Person, PersonRole


class Forbidden(TongbanError):
    status = 403
    public = "You do not have permission to do this."


def has_role(person: Person | None, role: str) -> bool:
    if role not in ROLES:
        raise ValueError(f"unknown role {role!r}")
    if person is None or not person.is_active or person.is_test_account:
        return False
    return db.session.scalar(select(PersonRole.id).where(
        PersonRole.person_id == person.id, PersonRole.role == role)) is not None


def require_role(person: Person | None, role: str) -> Person:
    """`person` if they hold `role`; otherwise :class:`Forbidden` (403)."""
    if not has_role(person, role):
        raise Forbidden(detail=f"person {getattr(person, 'id', None)} lacks role {role}")
    return person
