"""The one clock. Code that decides expiry takes ``now`` as an argument; views get it from here,
and tests replace it (``app.extensions["tongban.clock"]``) to make expiry deterministic."""

from __future__ import annotations

import time
from datetime import UTC, datetime

from flask import current_app


class Clock:
    """Wall-clock time; tests swap in a :class:`FrozenClock`."""

    def now(self) -> datetime:
        return datetime.now(UTC).replace(tzinfo=None)

    def timestamp(self) -> int:
        return int(time.time())


class FrozenClock(Clock):
    def __init__(self, at: datetime):
        self.at = at

    def now(self) -> datetime:
        return self.at

    def timestamp(self) -> int:
        return int(self.at.replace(tzinfo=UTC).timestamp())

    def advance(self, seconds: float) -> None:
        from datetime import timedelta

        self.at = self.at + timedelta(seconds=seconds)


def clock() -> Clock:
    return current_app.extensions["tongban.clock"]


def utcnow() -> datetime:
    """Naive UTC now (the database stores naive UTC datetimes)."""
    return clock().now()


def to_timestamp(at: datetime) -> int:
    return int(at.replace(tzinfo=UTC).timestamp())
