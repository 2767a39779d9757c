"""Brute-force brake for token exchange (DESIGN §5: the same counters on every login path).

Each refused exchange is recorded in the audit trail (`token.exchange_refused`); a client that
collects too many refusals from one source address within a minute is told to wait. This keeps a
broken or hostile back end from burning the platform's API quota (WeChat answers 45011 for the
whole app) or probing codes. The shared throttle of idp/authn will replace the counting here.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import func, select

from ..extensions import db
from ..models import AuditEvent

WINDOW = timedelta(seconds=60)
#: refusals per client and source address per WINDOW before further attempts wait
MAX_REFUSALS = 10
REFUSED_EVENT = "token.exchange_refused"


class ExchangeThrottled(Exception):
    def __init__(self, retry_after: int):
        super().__init__(f"retry after {retry_after} s")
        self.retry_after = retry_after


def throttle_token_exchange(client_id: str, ip: str | None, now: datetime) -> None:
    """Raise ExchangeThrottled when `client_id` from `ip` was refused too often just now."""
    refusals = db.session.scalar(
        select(func.count()).select_from(AuditEvent).where(
            AuditEvent.event == REFUSED_EVENT, AuditEvent.at > now - WINDOW,
            AuditEvent.client_id == client_id, AuditEvent.ip == ip))
    if refusals >= MAX_REFUSALS:
        raise ExchangeThrottled(int(WINDOW.total_seconds()))
