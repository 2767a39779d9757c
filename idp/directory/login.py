"""Logging in with a department account, and linking one to a signed-in person.

What the person typed is resolved to a directory (their choice, `DEPT\\user` or `user@dept`),
the directory authenticates it, the account is refreshed from the entry (sync on demand), and
the linked person is logged in. Every outcome is audited with its own reason; people see one
message for every kind of bad credentials and a different one when the directory is down. There
is no local password to fall back to.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime

from .. import audit
from ..authn import throttle
from ..authn.sessions import Authentication
from ..errors import ServiceUnavailable, UserError
from ..extensions import db
from ..models import DirectoryAccount, Person
from ..settings import current as _settings
from . import accounts, health
from .base import AccountInactive, BadCredentials, DirectoryIdentity, DirectoryUnavailable
from .registry import Directories

#: the same assurance as a local password (DESIGN.md §2)
ACR_DIRECTORY = "urn:tongban:aal1"
METHOD = "directory"


class DepartmentLoginFailed(UserError):
    """Unknown account, wrong password, locked or disabled entry: one face."""

    public = "The department account or password is incorrect."


class DirectoryDown(ServiceUnavailable):
    public = "Your department's directory is unavailable right now. Please try again later."


class TooManyAttempts(UserError):
    status = 429
    public = "Too many failed attempts. Please wait a few minutes and try again."


@dataclass(frozen=True)
class DepartmentLogin:
    authentication: Authentication
    account: DirectoryAccount


# --- brute-force limits -------------------------------------------------------------------------
# The same counters as every other login path (idp/authn/throttle.py): the directory account's
# name, qualified by its directory (the same username in two directories is two accounts), and
# the source address. A directory that is down costs the person nothing.

def _throttle_keys(directory: str, login: str, ip: str | None) -> throttle.Keys:
    name = f"directory:{directory}\\{login.strip().lower()}"
    return throttle.first_factor_keys(_settings(), None, name, ip)



# --- the flow -----------------------------------------------------------------------------------

def _refused(directory: str, reason: str, *, account: DirectoryAccount | None = None,
             **detail) -> None:
    audit.record("login.failed", person_id=account.person_id if account else None,
                 method=METHOD, directory=directory, reason=reason,
                 account_id=account.id if account else None, **detail)


def authenticate(registry: Directories, directory_id: str, login: str, password: str, *,
                 now: datetime, ip: str | None) -> tuple[DirectoryIdentity, DirectoryAccount]:
    """Bind to the directory and refresh the account; commits and raises on every refusal."""
    config = registry.config(directory_id)
    try:
        # Counted before the directory is asked, so parallel guesses cannot all slip through.
        attempt = throttle.begin(_throttle_keys(config.id, login, ip), now=now,
                                 settings=_settings())
    except (throttle.Throttled, throttle.AccountLocked) as exc:
        _refused(config.id, "throttled", retry_after=getattr(exc, "retry_after", None))
        db.session.commit()
        raise TooManyAttempts(detail=f"{config.id}: throttled") from None
    # No transaction stays open while the directory answers (up to its timeouts): on SQLite
    # it would hold the database's one write lock.
    db.session.commit()
    started = time.monotonic()
    try:
        identity = registry.get(config.id).authenticate(login, password)
    except DirectoryUnavailable as exc:
        attempt.passed()
        health.failed(config.id, exc.detail or exc.reason, now)
        _refused(config.id, exc.reason)
        db.session.commit()
        raise DirectoryDown(detail=f"{config.id}: {exc.detail}") from None
    except AccountInactive as exc:
        account = accounts.find(config.id, exc.identity.external_id) if exc.identity else None
        if account is not None and exc.reason == "account_disabled":
            # Sync on demand: a disabled entry ends the sessions it took part in now.
            accounts.mark_inactive(account, "disabled", now)
        elif account is not None:
            account.entry_state = "locked"
        attempt.failed()
        _refused(config.id, exc.reason, account=account)
        db.session.commit()
        raise DepartmentLoginFailed(detail=f"{config.id}: {exc.reason}") from None
    except BadCredentials as exc:
        attempt.failed()
        _refused(config.id, exc.reason)
        db.session.commit()
        raise DepartmentLoginFailed(detail=f"{config.id}: {exc.reason}") from None
    health.bind_ok(config.id, None, time.monotonic() - started, now)
    attempt.passed()
    account = accounts.upsert(config, identity, now)
    return identity, account


def log_in(registry: Directories, directory_id: str, login: str, password: str, *,
           now: datetime, ip: str | None) -> DepartmentLogin:
    """The whole department login; raises DepartmentLoginFailed, DirectoryDown,
    TooManyAttempts or accounts.NotLinked (committed and audited in every case)."""
    config = registry.config(directory_id)
    identity, account = authenticate(registry, directory_id, login, password, now=now, ip=ip)
    try:
        person = accounts.person_for_login(config, account, identity, now)
    except accounts.NotLinked as exc:
        _refused(config.id, exc.reason, account=account)
        db.session.commit()
        raise
    if not person.is_active:
        _refused(config.id, "person_disabled", account=account)
        db.session.commit()
        raise DepartmentLoginFailed(detail=f"{config.id}: person {person.id} disabled")
    account.last_login_at = now
    audit.record("login.succeeded", person_id=person.id, method=METHOD, directory=config.id,
                 account_id=account.id)
    return DepartmentLogin(Authentication(person=person, acr=ACR_DIRECTORY, amr=("pwd",)),
                           account)


def link(registry: Directories, directory_id: str, login: str, password: str, person: Person,
         *, now: datetime, ip: str | None) -> tuple[str, DirectoryAccount]:
    """`person` (signed in) proves the department account too; see accounts.link_by_proof."""
    config = registry.config(directory_id)
    identity, account = authenticate(registry, directory_id, login, password, now=now, ip=ip)
    outcome = accounts.link_by_proof(config, account, identity, person, now)
    return outcome, account
