"""Granting and revoking administrative roles.

三员分立: the system admin, the security officer and the auditor are three different people. A
person holds at most one of those three roles, so no one can audit their own administration or
administer what they audit. Nobody grants a role to themselves, and roles are granted only by an
operator on the command line (`flask --app wsgi roles grant`): no page of the console can
grant a role, so no role can reach another through the console.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from .. import audit
from ..extensions import db
from ..models import ROLES, Person, PersonRole

#: the separated three: mutually exclusive
SEPARATED = ("system_admin", "security_officer", "auditor")


class RoleRefused(ValueError):
    pass


def roles_of(person_id: int) -> set[str]:
    return set(db.session.scalars(select(PersonRole.role).where(
        PersonRole.person_id == person_id)))


def grant(person: Person, role: str, *, granted_by: Person | None, now: datetime) -> PersonRole:
    if role not in ROLES:
        raise RoleRefused(f"unknown role {role!r}; one of {', '.join(ROLES)}")
    if granted_by is not None and granted_by.id == person.id:
        raise RoleRefused("nobody grants a role to themselves")
    if not person.is_active:
        raise RoleRefused("the account is not active")
    held = roles_of(person.id)
    if role in held:
        raise RoleRefused(f"{person.username} already holds {role}")
    if role in SEPARATED:
        clash = held & set(SEPARATED)
        if clash:
            raise RoleRefused(f"{person.username} already holds {', '.join(sorted(clash))}; "
                              "system admin, security officer and auditor are separate people")
    row = PersonRole(person_id=person.id, role=role, granted_at=now,
                     granted_by=granted_by.id if granted_by else None)
    db.session.add(row)
    audit.record("role.granted", person_id=person.id, actor_id=granted_by.id if granted_by
                 else None, role=role, via="cli")
    return row


def revoke(person: Person, role: str, *, revoked_by: Person | None, now: datetime) -> None:
    row = db.session.scalar(select(PersonRole).where(PersonRole.person_id == person.id,
                                                     PersonRole.role == role))
    if row is None:
        raise RoleRefused(f"{person.username} does not hold {role}")
    db.session.delete(row)
    audit.record("role.revoked", person_id=person.id, actor_id=revoked_by.id if revoked_by
                 else None, role=role, via="cli")
