"""Delivering queued logout tokens (OIDC Back-Channel Logout 1.0 §2.5–2.8) with retries.

Several workers may run at once (one per node): a delivery is claimed with a conditional UPDATE
that moves its `next_attempt_at` to the end of a lease, so exactly one worker sends it; a worker
that dies mid-attempt leaves it to be retried when the lease runs out. No transaction is open
while a client is being called.

Answers (§2.8): 200/204 delivered. A 4xx other than 408/425/429 is the client rejecting the
token: retrying cannot help, the delivery fails at once. No answer, 5xx, 408, 425, 429: retried
after base·2^(attempts-1) seconds (capped), until the maximum number of attempts.
"""

from __future__ import annotations

import logging
import signal
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import select, update

from .. import audit
from ..extensions import db
from ..models import Client, LogoutDelivery
from ..outbound_http import Outcome, post_form
from ..settings import Settings
from .backchannel import logout_token
from .provider import Provider

log = logging.getLogger(__name__)
RETRYABLE_4XX = (408, 425, 429)


@dataclass
class Pass:
    delivered: int = 0
    retrying: int = 0
    failed: int = 0
    claimed: list[int] = field(default_factory=list)


def backoff(settings: Settings, attempts: int) -> timedelta:
    seconds = settings.logout_retry_base * (2 ** max(attempts - 1, 0))
    return timedelta(seconds=min(seconds, settings.logout_retry_max))


def claim_due(now: datetime, settings: Settings, limit: int) -> list[int]:
    lease = timedelta(seconds=settings.logout_timeout * 2 + 30)
    candidates = db.session.scalars(
        select(LogoutDelivery.id)
        .where(LogoutDelivery.state == "pending", LogoutDelivery.next_attempt_at <= now)
        .order_by(LogoutDelivery.next_attempt_at, LogoutDelivery.id).limit(limit)).all()
    claimed = []
    for delivery_id in candidates:
        result = db.session.execute(
            update(LogoutDelivery)
            .where(LogoutDelivery.id == delivery_id, LogoutDelivery.state == "pending",
                   LogoutDelivery.next_attempt_at <= now)
            .values(next_attempt_at=now + lease, attempts=LogoutDelivery.attempts + 1,
                    last_attempt_at=now)
            .execution_options(synchronize_session=False))
        if result.rowcount == 1:
            claimed.append(delivery_id)
    db.session.commit()
    return claimed


def _record(row: LogoutDelivery, outcome: Outcome, jti: str, now: datetime,
            settings: Settings) -> str:
    row.last_status, row.last_error, row.last_jti = outcome.status, outcome.error, jti
    if outcome.ok:
        row.state, row.finished_at, row.last_error = "delivered", now, None
        audit.record("logout.delivered", person_id=row.person_id, client_id=row.client.client_id,
                     sid=row.sid, attempts=row.attempts)
        return "delivered"
    rejected = (outcome.status is not None and 300 <= outcome.status < 500
                and outcome.status not in RETRYABLE_4XX)
    if rejected or row.attempts >= settings.logout_max_attempts:
        row.state, row.finished_at = "failed", now
        audit.record("logout.failed", person_id=row.person_id, client_id=row.client.client_id,
                     sid=row.sid, attempts=row.attempts, status=outcome.status,
                     error=outcome.error)
        log.warning("back-channel logout to %s failed for good: %s", row.client.client_id,
                    outcome.error)
        return "failed"
    row.next_attempt_at = now + backoff(settings, row.attempts)
    return "retrying"


def deliver_one(prov: Provider, delivery_id: int, now_fn) -> str:
    row = db.session.get(LogoutDelivery, delivery_id)
    client: Client = row.client
    token, jti = logout_token(prov, client, sid=row.sid, sub=row.sub, now=now_fn())
    uri = row.uri
    db.session.commit()  # no transaction (and on SQLite no write lock) while the client answers
    outcome = post_form(uri, {"logout_token": token}, timeout=prov.settings.logout_timeout)
    row = db.session.get(LogoutDelivery, delivery_id)
    result = _record(row, outcome, jti, now_fn(), prov.settings)
    db.session.commit()
    return result


def deliver_due(prov: Provider, now_fn, *, limit: int = 50) -> Pass:
    done = Pass()
    done.claimed = claim_due(now_fn(), prov.settings, limit)
    for delivery_id in done.claimed:
        try:
            result = deliver_one(prov, delivery_id, now_fn)
        except Exception:
            # A signing-key problem or a bug: the lease expires and the delivery is retried.
            db.session.rollback()
            log.exception("logout delivery %s could not be attempted", delivery_id)
            continue
        setattr(done, result, getattr(done, result) + 1)
    return done


def requeue(row: LogoutDelivery, now: datetime) -> None:
    """An officer asks for another round of attempts (e.g. after the client fixed its end)."""
    row.state, row.attempts, row.next_attempt_at, row.finished_at = "pending", 0, now, None


def run(prov: Provider, now_fn, *, sweep, once: bool = False, until_idle: bool = False,
        max_seconds: float | None = None, poll_interval: float = 1.0,
        sweep_interval: float = 60.0) -> Pass:
    """The worker loop. `sweep(now)` ends expired sessions (their logouts join the queue).

    once: one sweep and one pass over what is due. until_idle: passes until nothing is due now
    (later retries are left for later). max_seconds bounds the loop in any mode.
    """
    stop = {"now": False}

    def request_stop(*_args):
        stop["now"] = True

    previous = signal.signal(signal.SIGTERM, request_stop) if _main_thread() else None
    started = time.monotonic()
    last_sweep = float("-inf")
    total = Pass()
    try:
        while not stop["now"]:
            if time.monotonic() - last_sweep >= sweep_interval or once:
                sweep(now_fn())
                last_sweep = time.monotonic()
            result = deliver_due(prov, now_fn)
            for name in ("delivered", "retrying", "failed"):
                setattr(total, name, getattr(total, name) + getattr(result, name))
            db.session.remove()
            if once or (until_idle and not result.claimed):
                break
            if max_seconds is not None and time.monotonic() - started >= max_seconds:
                break
            if not result.claimed:
                time.sleep(poll_interval)
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)
    return total


def _main_thread() -> bool:
    import threading

    return threading.current_thread() is threading.main_thread()
