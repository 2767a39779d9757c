"""The hash chain over audit records.

Every record stores the previous record's hash and its own, an HMAC-SHA256 (keyed with the
audit-chain key) over the canonical JSON of its content and that previous hash. A keyed hash,
not a bare SHA-256: someone who can write to the database but does not hold the key cannot
forge a record or re-compute the chain after changing, removing or inserting one.

Linking happens just before the transaction commits (:func:`link_pending`), under a single-writer
guarantee that holds across processes and nodes: on PostgreSQL a transaction-level advisory lock
around "read the last hash, insert"; on SQLite the write lock every transaction takes up front
(BEGIN IMMEDIATE, see idp/__init__.py). Linking at commit keeps that lock for milliseconds, and
taking it after the caller's own writes means it never waits while holding a row lock.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import event, select, text
from sqlalchemy.orm import Session

from ..models import AuditArchive, AuditEvent

GENESIS = "0" * 64
#: the content fields, in the canonical form's key order (sort_keys makes order moot anyway)
FIELDS = ("at", "event", "person_id", "client_id", "ip", "sid", "actor_id", "detail")
#: pg_advisory_xact_lock key: the bytes of "tongban" as one bigint
LOCK_KEY = int.from_bytes(b"tongban", "big")
PENDING = "tongban.audit_pending"
KEY = "tongban.audit_key"


def canonical_json(value) -> str:
    """One byte string per value: sorted keys, no spaces, UTF-8 as is."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                      default=str)


def at_text(at: datetime) -> str:
    return at.isoformat(timespec="microseconds")


def content_of(record) -> dict:
    """The hashed content of an AuditEvent row or of an exported/archived record mapping."""
    get = record.get if isinstance(record, Mapping) else lambda name: getattr(record, name)
    at = get("at")
    return {"at": at if isinstance(at, str) else at_text(at), "event": get("event"),
            "person_id": get("person_id"), "client_id": get("client_id"), "ip": get("ip"),
            "sid": get("sid"), "actor_id": get("actor_id"), "detail": get("detail") or {}}


def record_hash(key: bytes, content: dict, prev_hash: str) -> str:
    message = canonical_json({**content, "prev_hash": prev_hash}).encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()


# --- linking at commit ---------------------------------------------------------------------------

def add_pending(session: Session, row: AuditEvent) -> None:
    """Queue a record for the chain; it is linked and inserted when the transaction commits."""
    if not session.in_transaction():
        # Begin (lazily, no SQL yet) so that a rollback before any statement still discards it.
        session.begin()
    nested = session.get_nested_transaction()
    session.info.setdefault(PENDING, []).append((nested, row))


def last_hash(session: Session) -> str:
    prev = session.scalar(select(AuditEvent.hash).order_by(AuditEvent.id.desc()).limit(1))
    if prev is None:
        # An empty table after an archive continues the archived chain.
        prev = session.scalar(select(AuditArchive.last_hash)
                              .order_by(AuditArchive.last_id.desc()).limit(1))
    return prev or GENESIS


def lock_chain(session: Session) -> None:
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": LOCK_KEY})


def link_pending(session: Session) -> None:
    pending = session.info.pop(PENDING, None)
    if not pending:
        return
    key = session.info.get(KEY) or _key_from_app()
    session.flush()  # the caller's writes (and their row locks) first
    lock_chain(session)
    prev = last_hash(session)
    for _nested, row in pending:
        row.prev_hash = prev
        row.hash = record_hash(key, content_of(row), prev)
        prev = row.hash
        session.add(row)
        # One INSERT at a time: ids then follow chain order on every database.
        session.flush()


def _key_from_app() -> bytes:
    from flask import current_app

    return current_app.extensions["tongban.audit_key"]


def _drop_pending(session: Session, previous_transaction) -> None:
    pending = session.info.get(PENDING)
    if not pending:
        return
    if previous_transaction.nested:
        session.info[PENDING] = [(n, r) for n, r in pending if n is not previous_transaction]
    else:
        session.info.pop(PENDING, None)


def _transaction_ended(session: Session, transaction) -> None:
    if transaction.parent is None:
        session.info.pop(PENDING, None)


def install(session_target) -> None:
    """Attach the chain to the Flask-SQLAlchemy session (idempotent: one Session class)."""
    for name, fn in (("before_commit", link_pending), ("after_soft_rollback", _drop_pending),
                     ("after_transaction_end", _transaction_ended)):
        if not event.contains(session_target, name, fn):
            event.listen(session_target, name, fn)


# --- verification --------------------------------------------------------------------------------

@dataclass
class ChainReport:
    ok: bool
    count: int = 0
    first_id: int | None = None
    last_id: int | None = None
    last_hash: str = GENESIS
    #: the first bad record, and what is wrong with it
    bad_id: int | None = None
    problem: str | None = None
    source: str = "database"

    def fail(self, bad_id, problem: str) -> ChainReport:
        self.ok, self.bad_id, self.problem = False, bad_id, problem
        return self


def verify_records(key: bytes, records: Iterable, prev_hash: str, *, source: str = "database",
                   previous_id: int | None = None) -> ChainReport:
    """Walk records in chain order; stop at the first one that does not hold.

    A changed record no longer matches its own hash; a forged (inserted) one cannot match
    without the key; a removed record leaves its successor pointing at a hash that is not the
    one before it.
    """
    report = ChainReport(ok=True, last_hash=prev_hash, source=source, last_id=previous_id)
    expected = prev_hash
    for record in records:
        get = record.get if isinstance(record, Mapping) else lambda n, r=record: getattr(r, n)
        rid, stored_prev, stored = get("id"), get("prev_hash"), get("hash")
        if report.first_id is None:
            report.first_id = rid
        if not stored or not hmac.compare_digest(
                record_hash(key, content_of(record), stored_prev or ""), stored):
            return report.fail(rid, f"record {rid} was changed or inserted: its content does "
                                    "not match its hash")
        if stored_prev != expected:
            after = f"record {report.last_id}" if report.last_id is not None else "the start"
            return report.fail(rid, f"record {rid} does not follow {after}: records between "
                                    "them were removed or reordered")
        expected = stored
        report.count += 1
        report.last_id, report.last_hash = rid, stored
    return report
