"""Creating a person with a password account (self-service page and operator CLI alike)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import or_, select

from .. import audit
from ..errors import UserError
from ..extensions import db
from ..models import Person
from . import identifiers, passwords


class RegistrationRefused(UserError):
    """One or more fields are unacceptable; `problems` maps field name to a reason code."""

    public = "Please correct the highlighted fields."

    def __init__(self, problems: dict[str, str]):
        super().__init__(detail=", ".join(f"{k}={v}" for k, v in problems.items()))
        self.problems = problems


def register(*, username: str, password: str, email: str = "", phone: str = "",
             display_name: str = "", now: datetime, via: str = "self_service") -> Person:
    problems: dict[str, str] = {}
    norm_username = identifiers.normalise_username(username)
    if not norm_username:
        problems["username"] = "invalid"
    norm_email = identifiers.normalise_email(email) if email.strip() else None
    if email.strip() and not norm_email:
        problems["email"] = "invalid"
    norm_phone = identifiers.normalise_phone(phone) if phone.strip() else None
    if phone.strip() and not norm_phone:
        problems["phone"] = "invalid"
    if len(display_name) > 100:
        problems["display_name"] = "too_long"
    reason = passwords.policy_problem(
        password, identifiers=tuple(v for v in (norm_username, norm_email, norm_phone) if v))
    if reason:
        problems["password"] = reason
    withheld: list[str] = []
    if not problems:
        clauses = [Person.username == norm_username]
        if norm_email:
            clauses.append(Person.email == norm_email)
        if norm_phone:
            clauses.append(Person.phone == norm_phone)
        taken = db.session.scalars(select(Person).where(or_(*clauses))).all()
        for other in taken:
            if other.username == norm_username:
                problems["username"] = "unavailable"
            # Whether an email or mobile number has an account is nobody's business: the new
            # account is created without it (same answer, same time), and it can be added once
            # it is verified as theirs.
            if norm_email and other.email == norm_email and "email" not in withheld:
                withheld.append("email")
            if norm_phone and other.phone == norm_phone and "phone" not in withheld:
                withheld.append("phone")
    # Hashed whatever the outcome, so a refusal takes as long as a success.
    password_hash = passwords.hash_password(password)
    if problems:
        raise RegistrationRefused(problems)
    person = Person(username=norm_username, email=None if "email" in withheld else norm_email,
                    phone=None if "phone" in withheld else norm_phone,
                    display_name=display_name.strip() or None,
                    password_hash=password_hash, password_changed_at=now,
                    created_at=now, updated_at=now)
    db.session.add(person)
    db.session.flush()
    audit.record("person.registered", person_id=person.id, via=via)
    if withheld:
        audit.record("person.contact_withheld", person_id=person.id, fields=withheld)
    return person
