"""Moving records past their retention out of the database, into a file the chain still covers.

An archive is a JSON-lines file (gzip when its name ends in .gz): a header line describing the
run of records (first and last id, count, the hash before the first record and the hash of the
last), then every record with its chain fields. The database keeps an AuditArchive row per
archive; the first live record after it continues from the archive's last hash, so
`flask audit verify --archive FILE` proves the archive and the live table form one chain.

Only a prefix of the chain is ever archived (records are removed oldest first), never a record
younger than the retention period, and never a run whose chain does not verify.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import delete, func, select

from ..extensions import db
from ..models import AuditArchive, AuditEvent
from .chain import GENESIS, at_text, last_hash, lock_chain, verify_records
from .export import as_dict

FORMAT = "tongban-audit-archive/1"
BATCH = 5000


class ArchiveRefused(Exception):
    """The archive cannot be made; the message says why."""


@dataclass
class ArchiveResult:
    path: Path
    first_id: int
    last_id: int
    count: int
    last_hash: str


def _open(path: Path, mode: str, *, gz: bool | None = None):
    if path.suffix == ".gz" if gz is None else gz:
        return gzip.open(path, mode + "t", encoding="utf-8")
    return open(path, mode, encoding="utf-8")


def previous_archive_hash() -> str:
    return db.session.scalar(select(AuditArchive.last_hash)
                             .order_by(AuditArchive.last_id.desc()).limit(1)) or GENESIS


def _rows_up_to(last_id: int) -> Iterator:
    table = AuditEvent.__table__
    after = 0
    while True:
        rows = db.session.execute(select(table).where(table.c.id > after, table.c.id <= last_id)
                                  .order_by(table.c.id).limit(BATCH)).all()
        if not rows:
            return
        yield from rows
        after = rows[-1].id


def archive(*, before: datetime, now: datetime, retention_days: int, output: Path,
            key: bytes) -> ArchiveResult:
    """Write every record older than `before` (a prefix of the chain) to `output`, then remove
    them from the table in the same transaction that records the archive."""
    oldest_allowed = now - timedelta(days=retention_days)
    if before > oldest_allowed:
        raise ArchiveRefused(f"records younger than {retention_days} days are kept: choose a "
                             f"date on or before {oldest_allowed.date().isoformat()}")
    if output.exists():
        raise ArchiveRefused(f"{output} already exists")
    lock_chain(db.session())
    first_young = db.session.scalar(select(func.min(AuditEvent.id)).where(AuditEvent.at >= before))
    upper = (first_young - 1) if first_young is not None else db.session.scalar(
        select(func.max(AuditEvent.id)))
    first_id = db.session.scalar(select(func.min(AuditEvent.id)).where(AuditEvent.id <= upper)) \
        if upper else None
    if not first_id:
        raise ArchiveRefused("no record is older than that date")
    prev = previous_archive_hash()
    report = verify_records(key, _rows_up_to(upper), prev)
    if not report.ok:
        raise ArchiveRefused(f"the chain does not verify, nothing archived: {report.problem}")

    temporary = output.with_name(output.name + ".part")
    with _open(temporary, "w", gz=output.suffix == ".gz") as fh:
        fh.write(json.dumps({"format": FORMAT, "created_at": at_text(now),
                             "first_id": report.first_id, "last_id": report.last_id,
                             "count": report.count, "prev_hash": prev,
                             "last_hash": report.last_hash}) + "\n")
        for row in _rows_up_to(upper):
            fh.write(json.dumps(as_dict(row), ensure_ascii=False, separators=(",", ":")) + "\n")
        fh.flush()
        os.fsync(fh.fileno())
    digest = hashlib.sha256(temporary.read_bytes()).hexdigest()
    os.replace(temporary, output)

    db.session.add(AuditArchive(created_at=now, filename=str(output), first_id=report.first_id,
                                last_id=report.last_id, count=report.count, prev_hash=prev,
                                last_hash=report.last_hash, file_sha256=digest))
    db.session.flush()
    db.session.execute(delete(AuditEvent).where(AuditEvent.id <= upper))
    return ArchiveResult(path=output, first_id=report.first_id, last_id=report.last_id,
                         count=report.count, last_hash=report.last_hash)


def read(path: Path) -> tuple[dict, Iterator[dict]]:
    """The header of an archive file and an iterator over its records."""
    fh = _open(path, "r")
    header = json.loads(fh.readline() or "{}")
    if header.get("format") != FORMAT:
        fh.close()
        raise ArchiveRefused(f"{path} is not a Tongban audit archive")

    def records() -> Iterator[dict]:
        with fh:
            for line in fh:
                if line.strip():
                    yield json.loads(line)

    return header, records()


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def live_start_hash() -> str:
    """What the first live record must point at: the last archived hash, or the genesis."""
    return previous_archive_hash()


__all__ = ["ArchiveRefused", "archive", "file_sha256", "last_hash", "live_start_hash", "read"]
