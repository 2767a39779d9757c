"""The security officer's overview: sign-ins, failures and lockouts per hour and per channel
over the last day, and alerts for bursts of failures from one address or against one account.
All counted from the audit trail (and the sessions' channels) with index range scans.

A series is a list of audit events; a feature that adds events worth watching (lockouts by the
login throttle, new real-name verifications) adds them to SERIES.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from ..extensions import db
from ..models import AuditEvent, Person, SsoSession
from ..settings import Settings

#: a refused attempt is a failed sign-in, whether the secret was wrong or the throttle said wait
FAILURE_EVENTS = ("login.failed", "login.throttled")
SERIES = (
    ("logins", _l("Sign-ins"), ("login.succeeded",)),
    ("failures", _l("Failed sign-ins"), FAILURE_EVENTS),
    ("lockouts", _l("Lockouts"), ("account.locked",)),
)
HOURS = 24


def _hour_bucket():
    if db.session.get_bind().dialect.name == "postgresql":
        return func.to_char(func.date_trunc("hour", AuditEvent.at), "YYYY-MM-DD HH24")
    return func.strftime("%Y-%m-%d %H", AuditEvent.at)


def hourly(events: tuple[str, ...], now: datetime) -> list[tuple[str, int]]:
    end = now.replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
    start = end - timedelta(hours=HOURS)
    bucket = _hour_bucket()
    counts = dict(db.session.execute(
        select(bucket, func.count()).where(AuditEvent.event.in_(events),
                                           AuditEvent.at >= start, AuditEvent.at < end)
        .group_by(bucket)).all())
    hours = [start + timedelta(hours=i) for i in range(HOURS)]
    return [(h.strftime("%H:00"), counts.get(h.strftime("%Y-%m-%d %H"), 0)) for h in hours]


def per_channel(now: datetime) -> dict[str, dict[str, int]]:
    """Sessions started, by their channel; failed logins by the channel the login path names in
    its audit detail (the web form names none: web). Logins that renew an existing session
    open no new one, so this column can be lower than the hourly sign-in count."""
    since = now - timedelta(hours=HOURS)
    table: dict[str, dict[str, int]] = {}
    for channel, count in db.session.execute(
            select(SsoSession.channel, func.count())
            .join(AuditEvent, AuditEvent.sid == SsoSession.sid)
            .where(AuditEvent.event == "session.started", AuditEvent.at >= since)
            .group_by(SsoSession.channel)):
        table.setdefault(channel, {"logins": 0, "failures": 0})["logins"] = count
    channel_of = func.coalesce(AuditEvent.detail["channel"].as_string(), "web")
    for channel, count in db.session.execute(
            select(channel_of, func.count())
            .where(AuditEvent.event.in_(FAILURE_EVENTS), AuditEvent.at >= since)
            .group_by(channel_of)):
        table.setdefault(channel, {"logins": 0, "failures": 0})["failures"] = count
    return dict(sorted(table.items()))


@dataclass(frozen=True)
class Alert:
    #: "source" (one address) or "account"
    kind: str
    subject: str
    failures: int
    person_id: int | None = None


def alerts(now: datetime, settings: Settings) -> list[Alert]:
    since = now - timedelta(seconds=settings.alert_window)
    failed = (AuditEvent.event.in_(FAILURE_EVENTS), AuditEvent.at >= since)
    found = [Alert("source", ip, n) for ip, n in db.session.execute(
        select(AuditEvent.ip, func.count()).where(*failed, AuditEvent.ip.is_not(None))
        .group_by(AuditEvent.ip).having(func.count() >= settings.alert_source_failures)
        .order_by(func.count().desc()).limit(20))]
    for person_id, username, n in db.session.execute(
            select(AuditEvent.person_id, Person.username, func.count())
            .join(Person, Person.id == AuditEvent.person_id)
            .where(*failed).group_by(AuditEvent.person_id, Person.username)
            .having(func.count() >= settings.alert_account_failures)
            .order_by(func.count().desc()).limit(20)):
        found.append(Alert("account", username or str(person_id), n, person_id))
    return found
