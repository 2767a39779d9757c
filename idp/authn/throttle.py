"""Brute-force protection shared by every way of proving something guessable: the password form,
directory logins, authenticator-app and recovery codes, passkey assertions, token exchange.

Counters live in the database (table `throttle_counter`), so every process and node sees the
same ones. Three kinds of key:

* ``person:<id>`` counts failed first factors (password, directory password) of one person and
  ``person:<id>:2`` failed second factors (TOTP, recovery code, passkey as second factor), so a
  password login can never reset the count of someone guessing the second factor;
* ``name:<keyed hash>`` stands in for an account name that belongs to nobody, so an unknown
  account is slowed down and locked exactly like a known one (no enumeration by behaviour);
* ``ip:<address>`` counts failures from one source address (the proxy-verified one).

Policy (defaults in settings.py): the first ``throttle_free_failures`` consecutive failures
(``throttle_source_free_failures`` for a source address, which many people may share) cost
nothing; each further failure doubles the wait before the next attempt is even checked (1 s,
2 s, 4 s, ... up to ``throttle_max_delay``, the temporary lock). At ``throttle_hard_lock``
consecutive failures an account is locked until a security officer unlocks it (:func:`unlock`,
``flask users unlock``). Sources are never hard-locked (many people share an address); their
count is forgotten after ``throttle_source_quiet`` seconds without a failure.

Passkeys and lockout: a passkey assertion can't be guessed (it needs the authenticator's
private key and, for passkey-only login, the person's PIN or biometric), so the account lock is
not applied to passkey login: whoever types wrong passwords can lock the password path, never
the person's passkey. A passkey login still obeys the source counter, its failures are counted
like any other, and its success ends both the temporary and the hard lock (it is the verified
recovery).

Every attempt is counted as a failure *before* the secret is checked, in one conditional
UPDATE per key that also refuses it while the key is blocked; :meth:`Attempt.passed` takes the
count back. So N parallel guesses can never all slip through before the first one is recorded.

Usage from any login path::

    attempt = throttle.begin(throttle.first_factor_keys(person, name, ip), now=now,
                             settings=settings)        # raises Throttled / AccountLocked
    if check(secret): attempt.passed()
    else: attempt.failed()
    ...
    throttle.completed(person.id, amr, now=now)        # the login as a whole succeeded
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import case, select, update

from .. import audit
from ..errors import UserError
from ..extensions import db
from ..models import ThrottleCounter
from ..settings import Settings
from . import secretbox

log = logging.getLogger(__name__)


class Throttled(UserError):
    """Too many recent failures: the attempt was not even checked."""

    status = 429
    public = "Too many attempts. Please wait a moment and try again."

    def __init__(self, retry_after: int, *, detail: str | None = None):
        super().__init__(detail=detail)
        self.retry_after = max(1, retry_after)


class AccountLocked(UserError):
    """The hard lock: only an officer (or a passkey login) ends it."""

    status = 429
    public = ("This account is locked after too many failed attempts. Sign in with a passkey, "
              "or ask a service hall or security officer to unlock it.")


# --- keys ----------------------------------------------------------------------------------------

def person_key(person_id: int) -> str:
    return f"person:{person_id}"


def second_factor_key(person_id: int) -> str:
    return f"person:{person_id}:2"


def name_key(settings: Settings, name: str) -> str:
    # Keyed, so the table does not list the account names people tried.
    return "name:" + secretbox.keyed_hash(settings, "throttle-name", name.strip().lower())[:40]


def source_key(ip: str | None) -> str | None:
    return f"ip:{ip}" if ip else None


@dataclass(frozen=True)
class Keys:
    """What one attempt counts against. `guard` keys are only checked for a hard lock."""

    counted: tuple[str, ...]
    guard: tuple[str, ...] = ()


def first_factor_keys(settings: Settings, person_id: int | None, name: str,
                      ip: str | None) -> Keys:
    """For a password-like attempt on `name`, which resolved to `person_id` (or to nobody)."""
    if person_id is not None:
        account, guard = person_key(person_id), second_factor_key(person_id)
    else:
        account = name_key(settings, name)
        guard = account + ":2"
    return Keys(tuple(k for k in (account, source_key(ip)) if k), (guard,))


def second_factor_keys(person_id: int, ip: str | None) -> Keys:
    return Keys(tuple(k for k in (second_factor_key(person_id), source_key(ip)) if k),
                (person_key(person_id),))


def source_only_keys(ip: str | None) -> Keys:
    return Keys(tuple(k for k in (source_key(ip),) if k))


# --- the counting --------------------------------------------------------------------------------

def delay_after(failures: int, settings: Settings, *, source: bool = False) -> int:
    """Seconds to wait after `failures` consecutive failures (0 while they are free). A source
    address is shared (an office behind NAT, a service hall), so it has its own, larger
    allowance."""
    free = settings.throttle_source_free_failures if source else settings.throttle_free_failures
    excess = failures - free
    if excess <= 0:
        return 0
    return int(min(2 ** min(excess - 1, 30), settings.throttle_max_delay))


def _ensure_rows(keys: Sequence[str]) -> None:
    dialect = db.session.get_bind().dialect.name
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    # Rows are always touched in key order: two logins that share a key never lock the same
    # rows in opposite orders (a deadlock on PostgreSQL).
    db.session.execute(insert(ThrottleCounter).values(
        [{"key": k, "failures": 0} for k in sorted(set(keys))])
        .on_conflict_do_nothing(index_elements=["key"]))


def _each(keys: Sequence[str], statement) -> int:
    """Run an UPDATE of ThrottleCounter once per key, in key order (see _ensure_rows)."""
    changed = 0
    for key in sorted(set(keys)):
        changed += db.session.execute(statement.where(ThrottleCounter.key == key)
                                      .execution_options(synchronize_session=False)).rowcount
    return changed


@dataclass
class Attempt:
    keys: Keys
    now: datetime
    settings: Settings
    person_id: int | None = None
    done: bool = False

    def passed(self) -> None:
        """The secret was right: take back the failure counted in advance."""
        if self.done:
            return
        self.done = True
        hard = self.settings.throttle_hard_lock
        _each(self.keys.counted, update(ThrottleCounter)
              .where(ThrottleCounter.failures > 0)
              .values(failures=ThrottleCounter.failures - 1, blocked_until=None,
                      locked_at=case((ThrottleCounter.failures - 1 < hard, None),
                                     else_=ThrottleCounter.locked_at)))

    def failed(self) -> None:
        """The secret was wrong: the failure counted in advance stands."""
        self.done = True


def begin(keys: Keys, *, now: datetime, settings: Settings, person_id: int | None = None,
          bypass_account_lock: bool = False) -> Attempt:
    """Count an attempt against `keys` before it is checked; raise if any key is blocked.

    Commits: the count must be visible to every other process before the (slow) check runs.
    `bypass_account_lock` is the passkey policy: only source keys may refuse the attempt.
    """
    _ensure_rows([*keys.counted, *keys.guard])
    rows = {r.key: r for r in db.session.scalars(select(ThrottleCounter).where(
        ThrottleCounter.key.in_([*keys.counted, *keys.guard]))
        .execution_options(populate_existing=True))}
    if not bypass_account_lock:
        for key in keys.guard:
            if rows[key].locked_at is not None:
                db.session.commit()
                raise AccountLocked(detail=f"{key} is hard-locked")
    counted: list[str] = []
    for key in sorted(keys.counted):
        enforce = key.startswith("ip:") or not bypass_account_lock
        failures = _count(key, now, settings, enforce=enforce)
        if failures is None:
            _undo(counted)
            db.session.commit()
            row = db.session.scalar(select(ThrottleCounter).where(ThrottleCounter.key == key)
                                    .execution_options(populate_existing=True))
            if row.locked_at is not None:
                raise AccountLocked(detail=f"{key} is hard-locked")
            wait = math.ceil((row.blocked_until - now).total_seconds()) if row.blocked_until \
                else 1
            audit.record("login.throttled", person_id=person_id, key_kind=key.split(":")[0])
            db.session.commit()
            raise Throttled(wait, detail=f"{key} blocked for {wait}s")
        counted.append(key)
        _after_failure(key, failures, now, settings, person_id)
    db.session.commit()
    return Attempt(keys=keys, now=now, settings=settings, person_id=person_id)


def _count(key: str, now: datetime, settings: Settings, *, enforce: bool) -> int | None:
    """Add one failure to `key` unless it is blocked; the new count, or None if blocked."""
    table = ThrottleCounter
    if key.startswith("ip:"):
        quiet = now - timedelta(seconds=settings.throttle_source_quiet)
        new_value = case((table.last_failure_at < quiet, 1), else_=table.failures + 1)
    else:
        new_value = table.failures + 1
    statement = update(table).where(table.key == key)
    if enforce:
        statement = statement.where(table.locked_at.is_(None),
                                    (table.blocked_until.is_(None)) | (table.blocked_until <= now))
    result = db.session.execute(
        statement.values(failures=new_value, last_failure_at=now)
        .returning(table.failures).execution_options(synchronize_session=False))
    value = result.scalar()
    return value


def _after_failure(key: str, failures: int, now: datetime, settings: Settings,
                   person_id: int | None) -> None:
    values: dict = {}
    wait = delay_after(failures, settings, source=key.startswith("ip:"))
    if wait:
        values["blocked_until"] = now + timedelta(seconds=wait)
    if not key.startswith("ip:") and failures >= settings.throttle_hard_lock:
        values["locked_at"] = now
        if failures == settings.throttle_hard_lock:
            audit.record("account.locked", person_id=person_id, failures=failures)
    if values:
        db.session.execute(update(ThrottleCounter).where(ThrottleCounter.key == key)
                           .values(**values).execution_options(synchronize_session=False))


def _undo(keys: Sequence[str]) -> None:
    _each(keys, update(ThrottleCounter).where(ThrottleCounter.failures > 0)
          .values(failures=ThrottleCounter.failures - 1))


def record_failure(key: str, *, now: datetime, settings: Settings,
                   person_id: int | None = None) -> None:
    """Count a failure that was not announced with :func:`begin` (a bad passkey assertion for
    a known credential counts against its person, after the fact)."""
    _ensure_rows([key])
    failures = _count(key, now, settings, enforce=False)
    if failures is not None:
        _after_failure(key, failures, now, settings, person_id)


# --- success and officers ------------------------------------------------------------------------

def completed(person_id: int, amr: Sequence[str], *, now: datetime) -> None:
    """A login (or step-up) succeeded: reset the counters of the factors it proved. A passkey
    alone proves both (possession plus user verification) and ends any lock."""
    keys = []
    passkey = any(m in amr for m in ("hwk", "swk"))
    if "pwd" in amr or passkey:
        keys.append(person_key(person_id))
    if "mfa" in amr or passkey:
        keys.append(second_factor_key(person_id))
    _each(keys, update(ThrottleCounter).values(failures=0, blocked_until=None, locked_at=None))


def is_locked(person_id: int) -> bool:
    return db.session.scalar(select(ThrottleCounter.id).where(
        ThrottleCounter.key.in_([person_key(person_id), second_factor_key(person_id)]),
        ThrottleCounter.locked_at.is_not(None)).limit(1)) is not None


def unlock(person_id: int, *, now: datetime, by: str) -> bool:
    """A security officer's unlock: clears the person's counters. True if anything was set."""
    changed = _each([person_key(person_id), second_factor_key(person_id)], update(ThrottleCounter)
                    .where((ThrottleCounter.failures > 0) | ThrottleCounter.locked_at.is_not(None))
                    .values(failures=0, blocked_until=None, locked_at=None))
    audit.record("account.unlocked", person_id=person_id, by=by)
    return changed > 0
