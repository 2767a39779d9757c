"""The one audit writer. Events are named `<object>.<verb>` (login.succeeded, token.revoked, ...),
written in the caller's transaction, and never carry a secret.

Records join the tamper-evident hash chain when that transaction commits
(idp/audit_trail/chain.py); a transaction that rolls back leaves no record.
"""

from __future__ import annotations

import json
import logging
import re

from flask import has_request_context

from .audit_trail import chain
from .clock import utcnow
from .extensions import db
from .models import AuditEvent

log = logging.getLogger(__name__)

EVENT_NAME = re.compile(r"^[a-z_]+\.[a-z_]+\Z")  # \Z: "$" would let a trailing newline in
#: Detail keys that could carry something replayable; the writer refuses them outright.
FORBIDDEN_KEYS = re.compile(r"password|secret|token|code|otp|cookie|verifier|assertion", re.I)
#: ...except these, which name things rather than hold them.
ALLOWED_KEYS = {"token_type", "grant_type", "code_id", "family_id", "jti", "token_kind"}


class AuditError(ValueError):
    """A programming error: an event name or detail the audit trail must not hold."""


def record(event: str, *, person_id: int | None = None, client_id: str | None = None,
           sid: str | None = None, ip: str | None = None, actor_id: int | None = None,
           **detail) -> AuditEvent:
    """Append an event. `person_id` is whom it concerns; `actor_id` who did it, when that was
    someone else (an officer)."""
    if not EVENT_NAME.match(event):
        raise AuditError(f"audit event names are <object>.<verb>: {event!r}")
    for key in detail:
        if key not in ALLOWED_KEYS and FORBIDDEN_KEYS.search(key):
            raise AuditError(f"audit detail {key!r} could hold a secret")
    if ip is None and has_request_context():
        from .security import client_ip

        ip = client_ip()
    # Stored exactly as hashed: what comes back from the database canonicalises the same.
    detail = json.loads(chain.canonical_json(detail))
    row = AuditEvent(at=utcnow(), event=event, person_id=person_id, client_id=client_id,
                     sid=sid, ip=ip, actor_id=actor_id, detail=detail)
    chain.add_pending(db.session(), row)
    log.info("audit %s person=%s client=%s", event, person_id, client_id)
    return row
