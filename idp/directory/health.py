"""Each directory's health as the nodes saw it: last successful service bind, its latency, the
last error, the last sync. Written by logins and syncs, read by `flask directory status`."""

from __future__ import annotations

import time
from datetime import datetime

from flask import current_app
from sqlalchemy import func, select

from ..extensions import db
from ..models import DirectoryAccount, DirectoryHealth

#: a node writes a healthy bind at most this often per directory (every login binds)
WRITE_EVERY = 10.0


def _last_written() -> dict[str, float]:
    return current_app.extensions.setdefault("tongban.directory_health_written", {})


def _row(directory: str) -> DirectoryHealth:
    row = db.session.get(DirectoryHealth, directory)
    if row is None:
        row = DirectoryHealth(directory=directory)
        db.session.add(row)
    return row


def bind_ok(directory: str, server: str | None, seconds: float, now: datetime,
            *, force: bool = False) -> None:
    tick = time.monotonic()
    written = _last_written()
    if not force and tick - written.get(directory, -WRITE_EVERY) < WRITE_EVERY:
        return
    written[directory] = tick
    row = _row(directory)
    row.last_bind_at, row.latency_ms = now, round(seconds * 1000, 1)
    if server:
        row.last_server = server


def failed(directory: str, detail: str, now: datetime) -> None:
    _last_written().pop(directory, None)
    row = _row(directory)
    row.last_error_at, row.last_error = now, detail[:2000]


def synced(directory: str, cursor: str | None, now: datetime, error: str | None = None) -> None:
    row = _row(directory)
    row.last_sync_at = now
    row.last_sync_error = error[:2000] if error else None
    if cursor is not None and not error:
        row.sync_cursor = cursor


def cursor_of(directory: str) -> str | None:
    row = db.session.get(DirectoryHealth, directory)
    return row.sync_cursor if row else None


def when(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M:%S") if value else "-"


def report(registry) -> list[dict]:
    """One row per configured directory, for the status command and page."""
    counts = dict(db.session.execute(select(DirectoryAccount.directory, func.count())
                                     .group_by(DirectoryAccount.directory)).all())
    rows = []
    for config in registry:
        row = db.session.get(DirectoryHealth, config.id) or DirectoryHealth(directory=config.id)
        healthy = bool(row.last_bind_at) and (row.last_error_at is None
                                              or row.last_bind_at >= row.last_error_at)
        rows.append({
            "directory": config.id, "name": config.name, "healthy": healthy,
            "state": ("ok" if healthy else "failing" if row.last_error_at else "unknown"),
            "last_bind": when(row.last_bind_at), "server": row.last_server,
            "latency_ms": row.latency_ms, "last_sync": when(row.last_sync_at),
            "last_sync_error": row.last_sync_error, "last_error": row.last_error,
            "last_error_at": when(row.last_error_at), "accounts": counts.get(config.id, 0),
        })
    return rows
