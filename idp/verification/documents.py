"""Storing and finding identity numbers without holding them in clear."""

from __future__ import annotations

from flask import current_app
from sqlalchemy import select

from .. import crypto
from ..extensions import db
from ..models import IdentityDocument, Person

PURPOSE = "identity-number"


def _key() -> bytes:
    return current_app.extensions["tongban.settings"].data_key_bytes


def normalise_number(number: str) -> str:
    return "".join(number.split()).upper()


def mask(number: str) -> str:
    number = normalise_number(number)
    if len(number) <= 8:
        return number[:1] + "*" * max(len(number) - 2, 0) + number[-1:]
    return number[:4] + "*" * (len(number) - 8) + number[-4:]


def number_index(number: str) -> str:
    return crypto.index(_key(), PURPOSE, normalise_number(number))


def seal_number(number: str) -> str:
    return crypto.seal(_key(), PURPOSE, normalise_number(number))


def reveal_number(document: IdentityDocument) -> str:
    """The full number: only for the few places a role and a consent allow it."""
    return crypto.unseal(_key(), PURPOSE, document.number_sealed)


def person_with_verified_number(number: str, *, min_level: int = 1) -> Person | None:
    """The one person whose identity number `number` was verified (level ≥ `min_level`)."""
    document = db.session.scalar(select(IdentityDocument).where(
        IdentityDocument.number_index == number_index(number),
        IdentityDocument.level >= min_level))
    return db.session.get(Person, document.person_id) if document else None
