"""Retention and archives: records past retention move to a file; the archive and the live
table verify as one chain; a record younger than the retention period is never archived."""

from __future__ import annotations

import gzip
import json

import pytest
from sqlalchemy import func, select

from idp import audit
from idp.extensions import db
from idp.models import AuditArchive, AuditEvent

from .conftest import tamper, verify


def old_and_new(app, frozen_clock, old: int = 5, new: int = 3) -> None:
    frozen_clock.advance(-200 * 86400)
    with app.app_context():
        for i in range(old):
            audit.record("test.happened", number=i)
            db.session.commit()
    frozen_clock.advance(200 * 86400)
    with app.app_context():
        for i in range(new):
            audit.record("test.happened", number=100 + i)
            db.session.commit()


def archive(app, path, before: str):
    return app.test_cli_runner().invoke(args=["audit", "archive", "--before", before,
                                              "--output", str(path)])


def day(frozen_clock, days_ago: int) -> str:
    from datetime import timedelta

    return (frozen_clock.now() - timedelta(days=days_ago)).strftime("%Y-%m-%d")


@pytest.mark.parametrize("suffix", [".jsonl", ".jsonl.gz"])
def test_archive_then_verify_across_it(app, frozen_clock, tmp_path, suffix):
    old_and_new(app, frozen_clock)
    path = tmp_path / f"audit-1{suffix}"
    result = archive(app, path, day(frozen_clock, 190))
    assert result.exit_code == 0, result.output
    assert "archived 5 records" in result.output
    with app.app_context():
        left = db.session.scalars(select(AuditEvent.event).order_by(AuditEvent.id)).all()
        assert left == ["test.happened"] * 3 + ["audit.archived"]
        assert db.session.scalar(select(func.count()).select_from(AuditArchive)) == 1
    opener = gzip.open if suffix.endswith(".gz") else open
    with opener(path, "rt") as fh:
        header = json.loads(fh.readline())
        records = [json.loads(line) for line in fh]
    assert header["count"] == 5 and len(records) == 5
    assert header["last_hash"] == records[-1]["hash"]

    both = verify(app, "--archive", str(path))
    assert both.exit_code == 0, both.output
    assert f"ok ({path}): 5 records" in both.output
    assert "ok (database): 4 records" in both.output
    # Without the file, the live chain still starts where the recorded archive ended.
    assert verify(app).exit_code == 0


def test_two_archives_chain(app, frozen_clock, tmp_path):
    def write(n):
        with app.app_context():
            for i in range(n):
                audit.record("test.happened", number=i)
            db.session.commit()

    frozen_clock.advance(-600 * 86400)
    write(3)
    frozen_clock.advance(200 * 86400)
    first = tmp_path / "a1.jsonl"
    assert archive(app, first, day(frozen_clock, 190)).exit_code == 0
    write(2)
    frozen_clock.advance(400 * 86400)
    write(2)
    second = tmp_path / "a2.jsonl"
    result = archive(app, second, day(frozen_clock, 190))
    assert result.exit_code == 0, result.output
    assert "archived 3 records" in result.output  # the first archive's own record and 2 more
    ok = verify(app, "--archive", str(second), "--archive", str(first))
    assert ok.exit_code == 0, ok.output
    # Only the newer archive: it still continues into the live table.
    assert verify(app, "--archive", str(second)).exit_code == 0
    # The older one alone leaves a gap before the live table.
    gap = verify(app, "--archive", str(first))
    assert gap.exit_code == 1 and "do not end where the live records begin" in gap.output


def test_tampered_archive_is_named(app, frozen_clock, tmp_path):
    old_and_new(app, frozen_clock)
    path = tmp_path / "a.jsonl"
    assert archive(app, path, day(frozen_clock, 190)).exit_code == 0
    lines = path.read_text().splitlines()
    record = json.loads(lines[3])
    record["detail"]["number"] = 42
    lines[3] = json.dumps(record)
    path.write_text("\n".join(lines) + "\n")
    result = verify(app, "--archive", str(path))
    assert result.exit_code == 1
    assert f"first bad record: {record['id']}." in result.output


def test_record_removed_from_archive_is_named(app, frozen_clock, tmp_path):
    old_and_new(app, frozen_clock)
    path = tmp_path / "a.jsonl"
    assert archive(app, path, day(frozen_clock, 190)).exit_code == 0
    lines = path.read_text().splitlines()
    removed = json.loads(lines[2])["id"]
    del lines[2]
    path.write_text("\n".join(lines) + "\n")
    result = verify(app, "--archive", str(path))
    assert result.exit_code == 1 and f"first bad record: {removed + 1}." in result.output


def test_retention_is_kept(app, frozen_clock, tmp_path):
    old_and_new(app, frozen_clock)
    result = archive(app, tmp_path / "a.jsonl", day(frozen_clock, 179))
    assert result.exit_code == 1
    assert "younger than 180 days are kept" in result.output
    assert not (tmp_path / "a.jsonl").exists()


def test_broken_chain_is_not_archived(app, frozen_clock, tmp_path):
    old_and_new(app, frozen_clock)
    with app.app_context():
        victim = db.session.scalar(select(func.min(AuditEvent.id))) + 1
    tamper(app, "UPDATE audit_event SET ip = '192.0.2.1' WHERE id = :id", id=victim)
    result = archive(app, tmp_path / "a.jsonl", day(frozen_clock, 190))
    assert result.exit_code == 1 and "does not verify" in result.output
    assert not (tmp_path / "a.jsonl").exists()


def test_retention_setting_floor():
    from idp.settings import ConfigError, Settings

    with pytest.raises(ConfigError, match="AUDIT_RETENTION_DAYS must be at least 180"):
        Settings(env="test", secret_key="x" * 40, audit_retention_days=90).completed().validate()


@pytest.mark.postgres
def test_postgres_archive_deletes_only_what_it_may(pg_app, tmp_path):
    """The trigger lets the archive remove old, archived records, and nothing else."""
    from idp.clock import Clock, FrozenClock

    clock = FrozenClock(Clock().now())
    pg_app.extensions["tongban.clock"] = clock
    old_and_new(pg_app, clock)
    path = tmp_path / "a.jsonl"
    result = archive(pg_app, path, day(clock, 190))
    assert result.exit_code == 0, result.output
    assert verify(pg_app, "--archive", str(path)).exit_code == 0
    from sqlalchemy import text

    with pg_app.app_context(), db.engine.connect() as conn, \
            pytest.raises(Exception, match="append-only"):
        conn.execute(text("DELETE FROM audit_event"))
