"""`flask audit verify`: archives (oldest first) and then the live table, as one chain."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from sqlalchemy import select

from ..extensions import db
from ..models import AuditArchive, AuditEvent
from . import archive as archive_mod
from .chain import ChainReport, verify_records

BATCH = 5000


def live_rows() -> Iterator:
    table = AuditEvent.__table__
    after = None
    while True:
        query = select(table).order_by(table.c.id).limit(BATCH)
        if after is not None:
            query = query.where(table.c.id > after)
        rows = db.session.execute(query).all()
        if not rows:
            return
        yield from rows
        after = rows[-1].id


def verify(key: bytes, archives: list[Path] = (), anchor: tuple[int, str] | None = None
           ) -> list[ChainReport]:
    """One report per archive and one for the live table; the first failing one ends the walk."""
    reports: list[ChainReport] = []
    known = {a.last_id: a for a in db.session.scalars(select(AuditArchive))}
    loaded = []
    for path in archives:
        header, records = archive_mod.read(Path(path))
        loaded.append((header, records, Path(path)))
    loaded.sort(key=lambda item: item[0]["first_id"])
    expected = loaded[0][0]["prev_hash"] if loaded else archive_mod.live_start_hash()
    seen: dict[int, str] = {}
    last_id = None
    for header, records, path in loaded:
        source = str(path)
        if header["prev_hash"] != expected:
            reports.append(ChainReport(ok=False, source=source, bad_id=header["first_id"],
                                       problem=f"archive {path.name} does not continue the "
                                               "archive before it"))
            return reports
        report = verify_records(key, _remember(records, seen, anchor), expected, source=source,
                                previous_id=last_id)
        if report.ok and (report.count != header["count"]
                          or report.last_hash != header["last_hash"]):
            report.fail(header["last_id"], f"archive {path.name} does not hold the records its "
                                           "header announces")
        registered = known.get(header["last_id"])
        if report.ok and registered is not None and (
                registered.last_hash != header["last_hash"]
                or registered.file_sha256 != archive_mod.file_sha256(path)):
            report.fail(header["last_id"], f"archive {path.name} is not the file the database "
                                           "recorded for these records")
        reports.append(report)
        if not report.ok:
            return reports
        expected, last_id = report.last_hash, report.last_id
    if loaded and expected != archive_mod.live_start_hash():
        reports.append(ChainReport(ok=False, source="database", problem=(
            "the archives given do not end where the live records begin: pass every archive "
            "made since the oldest one given")))
        return reports
    live = verify_records(key, _remember(live_rows(), seen, anchor), expected,
                          previous_id=last_id)
    if live.ok and anchor is not None:
        anchor_id, anchor_hash = anchor
        if seen.get(anchor_id) != anchor_hash:
            live.fail(anchor_id, f"record {anchor_id} with the hash noted earlier is no longer "
                                 "in the chain: records were removed from its end or changed")
    reports.append(live)
    return reports


def _remember(records, seen: dict[int, str], anchor):
    for record in records:
        if anchor is not None:
            get = record.get if isinstance(record, dict) else lambda n, r=record: getattr(r, n)
            if get("id") == anchor[0]:
                seen[anchor[0]] = get("hash")
        yield record
