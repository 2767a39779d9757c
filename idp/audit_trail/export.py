"""Exporting audit records as JSON lines or CSV, with the chain fields, so an export of a whole
range can be checked against the chain outside the IdP."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Iterator

from .chain import at_text, canonical_json

COLUMNS = ("id", "at", "event", "person_id", "client_id", "ip", "sid", "actor_id", "detail",
           "prev_hash", "hash")


def as_dict(row) -> dict:
    return {"id": row.id, "at": at_text(row.at), "event": row.event, "person_id": row.person_id,
            "client_id": row.client_id, "ip": row.ip, "sid": row.sid, "actor_id": row.actor_id,
            "detail": row.detail or {}, "prev_hash": row.prev_hash, "hash": row.hash}


def jsonl(rows: Iterable) -> Iterator[str]:
    for row in rows:
        yield json.dumps(as_dict(row), ensure_ascii=False, separators=(",", ":")) + "\n"


def _cell(value) -> str:
    text = "" if value is None else str(value)
    # A spreadsheet would run a cell that starts like a formula (CSV injection).
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def csv_lines(rows: Iterable) -> Iterator[str]:
    buffer = io.StringIO()
    writer = csv.writer(buffer)

    def flush() -> str:
        value = buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
        return value

    writer.writerow(COLUMNS)
    yield flush()
    for row in rows:
        data = as_dict(row)
        data["detail"] = canonical_json(data["detail"])
        writer.writerow([_cell(data[c]) for c in COLUMNS])
        yield flush()
