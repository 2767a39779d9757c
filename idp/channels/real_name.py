"""The one place channel tokens read a person's real-name level."""

from __future__ import annotations

from sqlalchemy import select

from ..extensions import db
from ..models import IdentityDocument, Person


def real_name_level_claim(person: Person) -> str | None:
    """The `real_name_level` claim for `person` ("L0".."L4"), or None if they have no document.

    The real-name ladder (DESIGN §2) is being built separately; until it lands this reads the
    level recorded on the person's identity document (IdentityDocument.level, 0-4). When the
    verification package offers its own accessor, call it here and nowhere else.
    """
    level = db.session.scalar(select(IdentityDocument.level).where(
        IdentityDocument.person_id == person.id))
    return None if level is None else f"L{level}"
