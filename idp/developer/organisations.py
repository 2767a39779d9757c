"""Organisations, their developers, invitations and test accounts.

Any person who is signed in can found an organisation (becoming its owner) or join one through an
invitation link an owner or developer created. Invitation links are single-use, expire after
``INVITATION_DAYS`` and are stored as SHA-256. Test accounts are made-up people an
organisation's developers create to try their sandbox clients; they can sign in to sandbox
clients only (see idp/oidc/authorize.py) and never hold an administrative role (idp/authz.py).
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from sqlalchemy import select, update

from .. import audit
from ..authn import registration
from ..errors import UserError
from ..extensions import db
from ..models import Invitation, Membership, Organisation, Person
from ..models.organisation import KINDS

INVITATION_DAYS = 7
INVITATION_PREFIX = "tbv_"


class NotAllowed(UserError):
    public = "You cannot do this for this organisation."


class InvalidOrganisation(UserError):
    public = "Please give the organisation a name (at most 200 characters) and a kind."


def _hash(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def create(*, name: str, kind: str, person_id: int, now: datetime) -> Organisation:
    name = (name or "").strip()
    if not name or len(name) > 200 or kind not in KINDS:
        raise InvalidOrganisation()
    org = Organisation(name=name, kind=kind, created_at=now, created_by=person_id)
    db.session.add(org)
    db.session.flush()
    db.session.add(Membership(organisation_id=org.id, person_id=person_id, role="owner",
                              joined_at=now))
    audit.record("organisation.created", person_id=person_id, organisation_id=org.id, kind=kind)
    return org


def membership(person: Person | None, organisation_id: int) -> Membership | None:
    if person is None or person.is_test_account:
        return None
    return db.session.scalar(select(Membership).where(
        Membership.organisation_id == organisation_id, Membership.person_id == person.id))


def require_member(person: Person | None, organisation_id: int, *,
                   owner: bool = False) -> Membership:
    member = membership(person, organisation_id)
    if member is None or (owner and member.role != "owner"):
        raise NotAllowed(detail=f"person {getattr(person, 'id', None)} org {organisation_id}")
    return member


def organisations_of(person: Person) -> list[tuple[Organisation, Membership]]:
    rows = db.session.execute(
        select(Organisation, Membership).join(
            Membership, Membership.organisation_id == Organisation.id)
        .where(Membership.person_id == person.id).order_by(Organisation.name))
    return [(org, member) for org, member in rows]


def members(organisation_id: int) -> list[tuple[Membership, Person]]:
    rows = db.session.execute(
        select(Membership, Person).join(Person, Person.id == Membership.person_id)
        .where(Membership.organisation_id == organisation_id).order_by(Membership.joined_at))
    return [(m, p) for m, p in rows]


def invite(*, organisation_id: int, note: str, person_id: int, now: datetime
           ) -> tuple[Invitation, str]:
    value = INVITATION_PREFIX + secrets.token_urlsafe(24)
    row = Invitation(organisation_id=organisation_id, token_hash=_hash(value),
                     note=(note or "").strip()[:200] or None, created_by=person_id,
                     created_at=now, expires_at=now + timedelta(days=INVITATION_DAYS))
    db.session.add(row)
    db.session.flush()
    audit.record("invitation.created", person_id=person_id, organisation_id=organisation_id)
    return row, value


def find_invitation(value: str, now: datetime) -> Invitation | None:
    if not value or not value.startswith(INVITATION_PREFIX) or len(value) > 64:
        return None
    row = db.session.scalar(select(Invitation).where(Invitation.token_hash == _hash(value)))
    if row is None or row.accepted_at is not None or now >= row.expires_at:
        return None
    return row


def accept(row: Invitation, person: Person, now: datetime) -> Membership:
    """Make `person` a developer; the invitation is used up atomically, even if two people
    open the same link at once."""
    if person.is_test_account:
        raise NotAllowed(detail="test accounts cannot join organisations")
    existing = membership(person, row.organisation_id)
    claimed = db.session.execute(
        update(Invitation).where(Invitation.id == row.id, Invitation.accepted_at.is_(None),
                                 Invitation.expires_at > now)
        .values(accepted_at=now, accepted_by=person.id)
        .execution_options(synchronize_session=False))
    if claimed.rowcount != 1:
        raise NotAllowed(detail="invitation already used")
    if existing is not None:
        return existing
    member = Membership(organisation_id=row.organisation_id, person_id=person.id,
                        role="developer", joined_at=now)
    db.session.add(member)
    db.session.flush()
    audit.record("invitation.accepted", person_id=person.id,
                 organisation_id=row.organisation_id)
    return member


def remove_member(*, organisation_id: int, person_id: int, by: int, now: datetime) -> None:
    member = db.session.scalar(select(Membership).where(
        Membership.organisation_id == organisation_id, Membership.person_id == person_id))
    if member is None:
        return
    owners = db.session.scalars(select(Membership).where(
        Membership.organisation_id == organisation_id, Membership.role == "owner")).all()
    if member.role == "owner" and len(owners) == 1:
        raise NotAllowed(detail="the last owner cannot be removed")
    db.session.delete(member)
    audit.record("organisation.member_removed", person_id=by, organisation_id=organisation_id,
                 member_id=person_id)


def create_test_account(*, organisation_id: int, username: str, password: str,
                        display_name: str, person_id: int, now: datetime) -> Person:
    """A made-up person for sandbox clients (RegistrationRefused if a field is unacceptable)."""
    person = registration.register(username=username, password=password,
                                   display_name=display_name, now=now, via="developer_portal")
    person.test_organisation_id = organisation_id
    audit.record("person.test_account_created", person_id=person_id,
                 organisation_id=organisation_id, test_person_id=person.id)
    return person


def test_accounts(organisation_id: int) -> list[Person]:
    return list(db.session.scalars(select(Person).where(
        Person.test_organisation_id == organisation_id).order_by(Person.created_at)))
