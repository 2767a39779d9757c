"""What an officer (or an operator) can do to an account: lock, unlock, disable, and require a
new password at the next login. Each ends the account's sessions where it should, so that every
relying party hears of it, and each is audited with who did it."""

from __future__ import annotations

from datetime import datetime

from .. import audit
from ..errors import UserError
from ..models import Person
from . import passwords, session_admin


class PasswordRefused(UserError):
    """The new password breaks the policy; `reason` is the policy's code."""

    def __init__(self, reason: str):
        super().__init__(detail=reason)
        self.reason = reason


def lock(person: Person, now: datetime, *, actor_id: int | None, note: str = "") -> int:
    person.status, person.updated_at = "locked", now
    audit.record("account.locked", person_id=person.id, actor_id=actor_id, note=note[:200])
    return session_admin.end_for_person(person.id, now, "account_locked", actor_id=actor_id)


def unlock(person: Person, now: datetime, *, actor_id: int | None) -> None:
    person.status, person.updated_at = "active", now
    audit.record("account.unlocked", person_id=person.id, actor_id=actor_id)


def disable(person: Person, now: datetime, *, actor_id: int | None, via: str = "console") -> int:
    person.status, person.updated_at = "disabled", now
    audit.record("account.disabled", person_id=person.id, actor_id=actor_id, via=via)
    return session_admin.end_for_person(person.id, now, "account_disabled", actor_id=actor_id)


def require_password_reset(person: Person, now: datetime, *, actor_id: int | None) -> int:
    """Mark the account; the next password login must choose a new password before anything
    else. Its sessions end now: whoever holds the old password should not stay signed in."""
    person.password_reset_required, person.updated_at = True, now
    audit.record("account.password_reset_required", person_id=person.id, actor_id=actor_id)
    return session_admin.end_for_person(person.id, now, "password_reset_required",
                                        actor_id=actor_id)


def set_new_password(person: Person, new_password: str, now: datetime) -> None:
    reason = passwords.policy_problem(new_password, identifiers=tuple(
        v for v in (person.username, person.email, person.phone) if v))
    if reason:
        raise PasswordRefused(reason)
    if passwords.verify_password(person.password_hash, new_password):
        raise PasswordRefused("same_as_old")
    person.password_hash = passwords.hash_password(new_password)
    person.password_changed_at = person.updated_at = now
    person.password_reset_required = False
    audit.record("password.changed", person_id=person.id, via="required_reset")
