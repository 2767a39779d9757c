"""The real-name ladder (DESIGN §2) and the evidence each step stands on.

| level | reached by                                                  |
|-------|-------------------------------------------------------------|
| 0     | self-asserted document, format checked only                 |
| 1     | name + number matched by the population registry            |
| 2     | 1 + possession: carrier three-factor or bank four-factor    |
| 3     | 1 + remote face liveness against the registry portrait      |
| 4     | in person at a service hall (document chip read by staff)   |

A level only moves up through :func:`raise_level`, always beside an evidence row. The one way
down is :func:`supersede`: the person verified a different name or document, so what the old
evidence proved no longer describes them; it writes an evidence row and an audit event of its
own, so no level ever drops silently.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select

from .. import audit
from ..extensions import db
from ..models import IdentityDocument, VerificationEvidence
from .checks import CheckResult

LEVELS = (0, 1, 2, 3, 4)
#: the provincial labels of DESIGN §2, for pages
PROVINCIAL = {0: "二级", 1: "三级", 2: "三级+", 3: "四级", 4: "五级"}


def document_of(person_id: int) -> IdentityDocument | None:
    return db.session.scalar(select(IdentityDocument).where(
        IdentityDocument.person_id == person_id))


def level_of(person_id: int) -> int:
    level = db.session.scalar(select(IdentityDocument.level).where(
        IdentityDocument.person_id == person_id))
    return int(level or 0)


def record(person_id: int, number_index: str, result: CheckResult, now: datetime
           ) -> VerificationEvidence:
    row = VerificationEvidence(
        person_id=person_id, number_index=number_index, method=result.method,
        result=str(result.outcome), level=result.level if result.passed else None,
        checker=result.checker, reference=(result.reference or None) and result.reference[:128],
        checked_at=now, detail=dict(result.detail))
    db.session.add(row)
    return row


def raise_level(document: IdentityDocument, level: int, now: datetime, *, method: str) -> None:
    """Move `document` up to `level`; never down."""
    if level <= document.level:
        return
    before = document.level
    document.level = level
    document.verified_at = now
    audit.record("realname.level_raised", person_id=document.person_id, method=method,
                 level_before=before, level=level)


def supersede(document: IdentityDocument, now: datetime, *, reason: str) -> None:
    """The name or document changed: what the old evidence proved is void. Recorded as evidence
    and audited, and the level drops to 0 until the new facts are checked."""
    before = document.level
    db.session.add(VerificationEvidence(
        person_id=document.person_id, number_index=document.number_index, method="superseded",
        result="superseded", level=None, checker="tongban", reference=None, checked_at=now,
        detail={"reason": reason, "level_before": before}))
    document.level = 0
    document.verified_at = None
    audit.record("realname.level_reset", person_id=document.person_id, reason=reason,
                 level_before=before, level=0)


def failures_since(person_id: int, since: datetime) -> int:
    return db.session.scalar(select(func.count(VerificationEvidence.id)).where(
        VerificationEvidence.person_id == person_id,
        VerificationEvidence.result.notin_(("match", "superseded")),
        VerificationEvidence.checked_at >= since)) or 0


def passed_evidence(person_id: int, number_index: str) -> list[VerificationEvidence]:
    """The successful checks behind the current document (since it last changed), oldest first."""
    void_until = db.session.scalar(select(func.max(VerificationEvidence.id)).where(
        VerificationEvidence.person_id == person_id,
        VerificationEvidence.result == "superseded")) or 0
    return list(db.session.scalars(select(VerificationEvidence).where(
        VerificationEvidence.person_id == person_id,
        VerificationEvidence.number_index == number_index,
        VerificationEvidence.id > void_until,
        VerificationEvidence.result == "match").order_by(VerificationEvidence.id)))
