"""An in-memory directory with the same interface and the same refusals as the LDAP one, for
fast tests of the login, linking and sync flows. It counts binds, so a test can prove that a
password never reached one."""

from __future__ import annotations

import dataclasses
import hmac
from dataclasses import dataclass, field

from .base import (
    AccountDisabled,
    AccountLocked,
    BadCredentials,
    Changes,
    DirectoryIdentity,
    DirectoryUnavailable,
    login_problem,
    password_is_blank,
)
from .config import DirectoryConfig


@dataclass
class FakeEntry:
    identity: DirectoryIdentity
    password: str = field(repr=False, default="")


class FakeDirectory:
    def __init__(self, config: DirectoryConfig, entries: list[FakeEntry] | None = None):
        self.config = config
        self.entries: dict[str, FakeEntry] = {}
        self.available = True
        self.binds = 0
        self.clock = 0
        for entry in entries or []:
            self.put(entry.identity, entry.password)

    # --- test controls --------------------------------------------------------------------------

    def put(self, identity: DirectoryIdentity, password: str | None = None) -> DirectoryIdentity:
        """Add or change an entry (a change bumps its change marker, like a real server)."""
        self.clock += 1
        identity = dataclasses.replace(identity, changed=f"{self.clock:08d}")
        old = self.entries.get(identity.external_id)
        self.entries[identity.external_id] = FakeEntry(
            identity, password if password is not None else (old.password if old else ""))
        return identity

    def change(self, external_id: str, **fields) -> DirectoryIdentity:
        entry = self.entries[external_id]
        return self.put(dataclasses.replace(entry.identity, **fields))

    def delete(self, external_id: str) -> None:
        self.entries.pop(external_id, None)

    # --- the interface --------------------------------------------------------------------------

    def _check(self) -> None:
        if not self.available:
            raise DirectoryUnavailable(detail="fake directory switched off")

    def _find(self, login: str) -> DirectoryIdentity | None:
        found = [e.identity for e in self.entries.values()
                 if e.identity.login.lower() == login.lower()]
        if len(found) > 1:
            raise BadCredentials("ambiguous_login")
        return found[0] if found else None

    def authenticate(self, login: str, password: str) -> DirectoryIdentity:
        if password_is_blank(password):
            raise BadCredentials("empty_password")
        problem = login_problem(login)
        if problem:
            raise BadCredentials(problem)
        self._check()
        identity = self._find(login)
        if identity is None:
            raise BadCredentials("unknown_account")
        if identity.state == "disabled":
            raise AccountDisabled(identity=identity)
        if identity.state == "locked":
            raise AccountLocked(identity=identity)
        self.binds += 1
        if not hmac.compare_digest(self.entries[identity.external_id].password.encode(),
                                   password.encode()):
            raise BadCredentials("bad_password")
        return identity

    def lookup(self, login: str) -> DirectoryIdentity | None:
        self._check()
        try:
            return self._find(login)
        except BadCredentials:
            return None

    def changes_since(self, cursor: str | None) -> Changes:
        self._check()
        changed = [e.identity for e in self.entries.values()
                   if cursor is None or (e.identity.changed or "") >= cursor]
        members: dict[str, set[str]] = {group: set() for group in self.config.roles}
        from . import dn as dn_mod

        for entry in self.entries.values():
            for group in entry.identity.groups:
                key = dn_mod.normalise(group)
                if key in members:
                    members[key].add(dn_mod.normalise(entry.identity.dn))
        newest = max((i.changed for i in changed if i.changed), default=cursor)
        return Changes(changed=changed, present=set(self.entries), group_members=members,
                       cursor=newest)

    def ping(self) -> tuple[str, float]:
        self._check()
        return "memory://" + self.config.id, 0.0
