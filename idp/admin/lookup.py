"""Reading the console's filter fields: a person by any identifier, a client, a time, and the
masked form in which officers see personal data."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from ..authn.password_login import find_person
from ..extensions import db
from ..models import Client, Person

NOBODY = -1


def person_id_for(text: str | None) -> int | None:
    """None: no filter. NOBODY: a filter that matches nothing (unknown person)."""
    text = (text or "").strip()
    if not text:
        return None
    person = find_person(text) or db.session.scalar(select(Person).where(Person.sub == text))
    if person is None and text.isdigit() and len(text) < 10:
        person = db.session.get(Person, int(text))
    return person.id if person else NOBODY


def client_for(text: str | None) -> Client | None:
    text = (text or "").strip()
    return db.session.scalar(select(Client).where(Client.client_id == text)) if text else None


def when(text: str | None) -> datetime | None:
    text = (text or "").strip()
    if not text:
        return None
    for fmt in ("%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%Y-%m-%d"):
        try:
            return datetime.strptime(text, fmt)
        except ValueError:
            continue
    return None


def mask(value: str | None, *, keep_start: int = 1, keep_end: int = 1) -> str:
    if not value:
        return ""
    if len(value) <= keep_start + keep_end:
        return value[:1] + "*" * (len(value) - 1)
    return value[:keep_start] + "*" * (len(value) - keep_start - keep_end) + (
        value[-keep_end:] if keep_end else "")


def masked_person(person: Person) -> dict:
    local, _, domain = (person.email or "").partition("@")
    return {
        "id": person.id,
        "username": mask(person.username, keep_start=2, keep_end=1),
        "display_name": mask(person.display_name, keep_start=1, keep_end=0),
        "phone": mask(person.phone, keep_start=3, keep_end=4),
        "email": (mask(local, keep_start=1, keep_end=0) + "@" + domain) if person.email else "",
        "sub": person.sub,
        "status": person.status,
        "password_reset_required": person.password_reset_required,
        "created_at": person.created_at,
        "password_changed_at": person.password_changed_at,
    }
