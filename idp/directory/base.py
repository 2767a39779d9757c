"""The directory interface: what the rest of the IdP may ask of a department directory, and the
plain identities and typed errors it gets back. Two implementations: :mod:`.ldap` (ldap3, the
only module that speaks LDAP) and :mod:`.fake` (in memory, for fast tests of the flows).

"The person got it wrong" (:class:`BadCredentials`, :class:`AccountInactive`) and "the
directory is broken" (:class:`DirectoryUnavailable`) are different types: people see one
message for the first and a clear outage message for the second; operators see the reason.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from .config import DirectoryConfig

#: longest login name accepted; anything longer never reaches a directory
MAX_LOGIN = 256


@dataclass(frozen=True)
class DirectoryIdentity:
    """One directory entry, as plain values."""

    directory: str
    #: the entry's stable id (entryUUID / objectGUID as a UUID string)
    external_id: str
    dn: str
    login: str
    display_name: str | None = None
    mail: str | None = None
    phone: str | None = None
    id_number: str | None = field(default=None, repr=False)
    employee_number: str | None = None
    groups: tuple[str, ...] = ()
    #: "active", "locked" or "disabled"
    state: str = "active"
    #: the entry's change marker (modifyTimestamp or uSNChanged), for incremental sync
    changed: str | None = None


@dataclass
class Changes:
    """What a sync learns: entries changed since the cursor, every entry's stable id (so deleted
    entries are noticed), the members of every mapped group, and where to start next time."""

    changed: list[DirectoryIdentity]
    present: set[str]
    group_members: dict[str, set[str]]
    cursor: str | None


class DirectoryError(Exception):
    """Base of what a directory call raises on purpose. `reason` is for the audit trail."""

    reason = "directory_error"

    def __init__(self, reason: str | None = None, *, detail: str = "",
                 identity: DirectoryIdentity | None = None):
        super().__init__(reason or self.reason)
        if reason:
            self.reason = reason
        #: for the operator's log; never holds a password
        self.detail = detail
        #: the entry, when it was found (locked/disabled entries)
        self.identity = identity


class BadCredentials(DirectoryError):
    """Unknown login, wrong password, empty password, ambiguous login: one face outside."""

    reason = "bad_password"


class AccountInactive(DirectoryError):
    """The entry exists but may not log in."""


class AccountLocked(AccountInactive):
    reason = "account_locked"


class AccountDisabled(AccountInactive):
    reason = "account_disabled"


class DirectoryUnavailable(DirectoryError):
    """No server of the pool answered properly (network, TLS, timeout, service bind)."""

    reason = "directory_unavailable"


def password_is_blank(password: str | None) -> bool:
    """Empty and whitespace-only passwords: an LDAP simple bind with an empty password is an
    "unauthenticated bind" that many servers report as success (RFC 4513 §5.1.2), so these must
    never reach bind()."""
    return not password or not password.strip()


def login_problem(login: str | None) -> str | None:
    if not login or not login.strip():
        return "empty_login"
    if len(login) > MAX_LOGIN:
        return "login_too_long"
    if any(ord(c) < 0x20 or ord(c) == 0x7F for c in login):
        return "control_character"
    return None


class Directory(Protocol):
    config: DirectoryConfig

    def authenticate(self, login: str, password: str) -> DirectoryIdentity:
        """Find exactly one entry for `login` and bind as it with `password`."""

    def lookup(self, login: str) -> DirectoryIdentity | None:
        """The entry for `login`, read with the service account (no password)."""

    def changes_since(self, cursor: str | None) -> Changes:
        """Everything a sync needs in one pass; raises DirectoryUnavailable."""

    def ping(self) -> tuple[str, float]:
        """Connect and bind as the service account: (server URL, seconds taken)."""
