"""The audit trail is a keyed hash chain: `flask audit verify` proves that no record was
changed, removed or inserted, and names the first bad record when one was."""

from __future__ import annotations

import hashlib
import itertools
import json
import threading

import pytest
from sqlalchemy import select, text

from idp import audit
from idp.audit_trail.chain import GENESIS, canonical_json, content_of, record_hash
from idp.extensions import db
from idp.models import AuditEvent

from .conftest import tamper, verify


def write(app, n: int, **fields) -> list[int]:
    with app.app_context():
        for i in range(n):
            audit.record("test.happened", person_id=i, ip="198.51.100.7", number=i, **fields)
        db.session.commit()
        return list(db.session.scalars(select(AuditEvent.id).order_by(AuditEvent.id)))


def rows(app) -> list[AuditEvent]:
    with app.app_context():
        found = db.session.scalars(select(AuditEvent).order_by(AuditEvent.id)).all()
        db.session.expunge_all()
        return found


def test_records_form_one_chain(app):
    ids = write(app, 5, name="张三·李")
    chain = rows(app)
    assert chain[0].prev_hash == GENESIS
    for before, after in itertools.pairwise(chain):
        assert after.prev_hash == before.hash
    key = app.extensions["tongban.audit_key"]
    for row in chain:
        assert record_hash(key, content_of(row), row.prev_hash) == row.hash
    result = verify(app)
    assert result.exit_code == 0, result.output
    assert f"5 records {ids[0]}..{ids[-1]}" in result.output
    assert f"head: {ids[-1]}:{chain[-1].hash}" in result.output


def test_hash_is_keyed(app):
    write(app, 1)
    (row,) = rows(app)
    plain = hashlib.sha256(canonical_json({**content_of(row), "prev_hash": row.prev_hash})
                           .encode()).hexdigest()
    assert row.hash != plain


def test_rolled_back_transaction_leaves_no_record(app):
    write(app, 2)
    with app.app_context():
        audit.record("test.happened", number=99)
        db.session.rollback()
        audit.record("test.happened", number=100)
        db.session.commit()
    assert [r.detail["number"] for r in rows(app)] == [0, 1, 100]
    assert verify(app).exit_code == 0


def test_changed_record_is_named(app):
    ids = write(app, 5)
    tamper(app, "UPDATE audit_event SET ip = '192.0.2.1' WHERE id = :id", id=ids[2])
    result = verify(app)
    assert result.exit_code == 1
    assert f"first bad record: {ids[2]}." in result.output
    assert "changed or inserted" in result.output


def test_changed_detail_is_named(app):
    ids = write(app, 4)
    detail = json.dumps({"number": 7})
    tamper(app, "UPDATE audit_event SET detail = :d WHERE id = :id", d=detail, id=ids[1])
    result = verify(app)
    assert result.exit_code == 1 and f"first bad record: {ids[1]}." in result.output


def test_rechained_change_without_the_key_is_named(app):
    """Re-computing the hash as a bare SHA-256 (no key) does not make a change pass."""
    ids = write(app, 3)
    row = rows(app)[1]
    forged = hashlib.sha256(canonical_json({**content_of(row), "ip": "192.0.2.1",
                                            "prev_hash": row.prev_hash}).encode()).hexdigest()
    tamper(app, "UPDATE audit_event SET ip = '192.0.2.1', hash = :h WHERE id = :id",
           h=forged, id=ids[1])
    result = verify(app)
    assert result.exit_code == 1 and f"first bad record: {ids[1]}." in result.output


def test_removed_record_is_reported_at_its_successor(app):
    ids = write(app, 5)
    tamper(app, "DELETE FROM audit_event WHERE id = :id", id=ids[2])
    result = verify(app)
    assert result.exit_code == 1
    assert f"first bad record: {ids[3]}." in result.output
    assert f"does not follow record {ids[1]}" in result.output
    assert "removed" in result.output


def test_removed_first_record_is_reported(app):
    ids = write(app, 3)
    tamper(app, "DELETE FROM audit_event WHERE id = :id", id=ids[0])
    result = verify(app)
    assert result.exit_code == 1 and f"first bad record: {ids[1]}." in result.output


@pytest.mark.parametrize("how", ["forged", "copied"])
def test_inserted_record_is_named(app, how):
    ids = write(app, 3)
    last = rows(app)[-1]
    first = rows(app)[0]
    content = {"at": last.at, "event": "login.succeeded", "person_id": 1, "client_id": None,
               "ip": "192.0.2.66", "sid": None, "actor_id": None, "detail": "{}"}
    if how == "forged":
        # A well-formed record that links to the head, hashed without the key.
        prev = last.hash
        digest = hashlib.sha256(canonical_json({**content_of({**content, "detail": {}}),
                                                "prev_hash": prev}).encode()).hexdigest()
    else:
        # A genuine record replayed at the end.
        content.update(event=first.event, person_id=first.person_id, ip=first.ip,
                       detail=json.dumps(first.detail), at=first.at)
        prev, digest = first.prev_hash, first.hash
    tamper(app, "INSERT INTO audit_event (id, at, event, person_id, client_id, ip, sid, "
                "actor_id, detail, prev_hash, hash) VALUES (:id, :at, :event, :person_id, "
                ":client_id, :ip, :sid, :actor_id, :detail, :prev, :hash)",
           id=ids[-1] + 5, prev=prev, hash=digest, **content)
    result = verify(app)
    assert result.exit_code == 1
    assert f"first bad record: {ids[-1] + 5}." in result.output


def test_removed_tail_is_caught_with_an_anchor(app):
    ids = write(app, 4)
    head = verify(app).output.rsplit("head: ", 1)[1].strip()
    assert head.startswith(f"{ids[-1]}:")
    tamper(app, "DELETE FROM audit_event WHERE id = :id", id=ids[-1])
    # The chain alone cannot see a shortened end; the head noted outside the database can.
    assert verify(app).exit_code == 0
    result = verify(app, "--anchor", head)
    assert result.exit_code == 1 and f"first bad record: {ids[-1]}." in result.output


def test_concurrent_writers_keep_one_chain(app):
    """Writers in parallel (threads, each with its own connection) never fork the chain."""
    errors = []

    def writer(n):
        try:
            for i in range(10):
                with app.app_context():
                    audit.record("test.happened", number=n * 100 + i)
                    db.session.commit()
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert len(rows(app)) == 40
    result = verify(app)
    assert result.exit_code == 0, result.output


def test_secrets_never_reach_the_trail(app):
    with app.app_context(), pytest.raises(audit.AuditError):
        audit.record("test.happened", password="hunter2")


# --- PostgreSQL: append-only for the application -------------------------------------------------

@pytest.mark.postgres
@pytest.mark.parametrize("statement", [
    "UPDATE audit_event SET ip = '192.0.2.1'",
    "DELETE FROM audit_event",
    "TRUNCATE audit_event",
])
def test_postgres_refuses_changes_to_the_trail(pg_app, statement):
    write(pg_app, 2)
    with pg_app.app_context(), db.engine.connect() as conn:
        with pytest.raises(Exception, match="append-only") as caught:
            conn.execute(text(statement))
        assert "insufficient_privilege" in type(caught.value.orig).__name__.lower() or \
            caught.value.orig.sqlstate == "42501"
    assert verify(pg_app).exit_code == 0
    assert len(rows(pg_app)) == 2


@pytest.mark.postgres
def test_postgres_refuses_changes_to_archive_records(pg_app):
    with pg_app.app_context(), db.engine.connect() as conn:
        conn.execute(text(
            "INSERT INTO audit_archive (created_at, filename, first_id, last_id, count, "
            "prev_hash, last_hash, file_sha256) VALUES (now(), 'x', 1, 1, 1, :z, :z, :z)"),
            {"z": "0" * 64})
        conn.commit()
        for statement in ("UPDATE audit_archive SET last_id = 99", "DELETE FROM audit_archive"):
            with pytest.raises(Exception, match="append-only"):
                conn.execute(text(statement))
            conn.rollback()


@pytest.mark.postgres
def test_postgres_chain_holds_under_concurrency(pg_app):
    test_concurrent_writers_keep_one_chain(pg_app)
