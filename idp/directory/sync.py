"""`flask directory sync`: bring every known account up to date with its directory.

Incremental where the server supports it (entries whose modifyTimestamp / uSNChanged is at or
past the last cursor), plus two cheap full passes: the stable ids of all entries (an entry that
is gone was deleted) and the members of every mapped group (membership changes touch the group,
not the member). Disabled and deleted entries stop counting and their sessions end. Each
directory is synced and committed on its own: one that is down is reported and skipped.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select

from .. import audit
from ..extensions import db
from ..models import DirectoryAccount
from . import accounts, health
from . import dn as dn_mod
from .base import DirectoryError
from .registry import Directories

log = logging.getLogger(__name__)


@dataclass
class SyncReport:
    directory: str
    ok: bool = True
    error: str | None = None
    updated: int = 0
    disabled: int = 0
    deleted: int = 0
    sessions_ended: int = 0
    roles_changed: int = 0
    cursor: str | None = None
    notes: list[str] = field(default_factory=list)


def _roles(config, account: DirectoryAccount, members: dict[str, set[str]]) -> list[str]:
    try:
        key = dn_mod.normalise(account.dn)
    except ValueError:
        return []
    roles = set()
    for group, who in members.items():
        if key in who:
            roles.update(config.roles.get(group, ()))
    return sorted(roles)


def sync_directory(registry: Directories, directory_id: str, now: datetime,
                   *, full: bool = False) -> SyncReport:
    config = registry.config(directory_id)
    report = SyncReport(directory=config.id)
    cursor = None if full else health.cursor_of(config.id)
    db.session.commit()   # no transaction (SQLite: no write lock) held while the directory reads
    try:
        changes = registry.get(config.id).changes_since(cursor)
    except DirectoryError as exc:
        db.session.rollback()
        report.ok, report.error = False, exc.detail or exc.reason
        health.failed(config.id, report.error, now)
        health.synced(config.id, None, now, error=report.error)
        audit.record("directory.sync_failed", directory=config.id, reason=exc.reason)
        db.session.commit()
        return report
    changed = {i.external_id: i for i in changes.changed}
    known = db.session.scalars(select(DirectoryAccount).where(
        DirectoryAccount.directory == config.id)).all()
    for account in known:
        identity = changed.get(account.external_id)
        if account.external_id not in changes.present:
            if account.entry_state != "deleted":
                report.sessions_ended += accounts.mark_inactive(account, "deleted", now)
                report.deleted += 1
            continue
        if identity is not None:
            accounts.apply(account, config, identity, now, roles=account.roles,
                           keep_state=True)
            report.updated += 1
        roles = _roles(config, account, changes.group_members)
        if roles != list(account.roles or []):
            account.roles = roles
            report.roles_changed += 1
        account.synced_at = now
        state = identity.state if identity is not None else account.entry_state
        if state == "disabled":
            # Ending is idempotent: an entry disabled since its last login is caught too.
            report.disabled += account.entry_state != "disabled"
            report.sessions_ended += accounts.mark_inactive(account, "disabled", now)
        else:
            account.entry_state = state
    report.cursor = changes.cursor
    health.synced(config.id, changes.cursor, now)
    audit.record("directory.synced", directory=config.id, updated=report.updated,
                 disabled=report.disabled, deleted=report.deleted,
                 sessions_ended=report.sessions_ended, roles_changed=report.roles_changed)
    db.session.commit()
    return report


def sync_all(registry: Directories, now: datetime, *, only: str | None = None,
             full: bool = False) -> list[SyncReport]:
    reports = []
    for config in registry:
        if only and config.id != only:
            continue
        try:
            reports.append(sync_directory(registry, config.id, now, full=full))
        except Exception as exc:  # one directory's surprise never stops the others
            db.session.rollback()
            log.exception("directory %s: sync failed", config.id)
            reports.append(SyncReport(directory=config.id, ok=False,
                                      error=type(exc).__name__))
    return reports
