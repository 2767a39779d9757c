"""The directory interface over LDAP v3 with ldap3: the only module of the IdP that imports it.

Login (RFC 4513 "search then bind"): reject a blank password before anything else; connect to
the first server of the pool that answers (LDAPS, or StartTLS before any credential is sent,
the certificate checked against the configured CA and the server's name); bind as the service
account; search the user base for the login with every value escaped (RFC 4515); accept exactly
one entry, strictly below the configured base; refuse locked and disabled entries without
binding as them; then bind as the DN the directory returned, never as a DN built from input.
"""

from __future__ import annotations

import contextlib
import logging
import math
import socket
import ssl
import threading
import time
import uuid

import ldap3
from ldap3.core import exceptions as ldap_errors
from ldap3.utils.conv import escape_filter_chars

from . import dn as dn_mod
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

log = logging.getLogger(__name__)

#: a server that failed is tried last for this long, so one dead server costs one timeout
#: per node and per interval rather than one per login
DOWN_FOR = 30.0
#: Active Directory's userAccountControl ACCOUNTDISABLE bit
UF_ACCOUNTDISABLE = 0x2
#: the ppolicy value of pwdAccountLockedTime that means "locked by an administrator"
PERMANENT_LOCK = "000001010000Z"
#: AD's bind diagnostics ("... data 775, ...") for entries that exist but may not log in
AD_LOCKED, AD_DISABLED = ("775",), ("533", "701")
PAGE_SIZE = 500

#: failures of transport, TLS or the service account: the directory is unavailable
TRANSPORT_ERRORS = (ldap_errors.LDAPCommunicationError, ldap_errors.LDAPStartTLSError,
                    ldap_errors.LDAPSSLConfigurationError, ldap_errors.LDAPCertificateError,
                    ldap_errors.LDAPSessionTerminatedByServerError,
                    ldap_errors.LDAPSocketOpenError, ldap_errors.LDAPSocketReceiveError,
                    ldap_errors.LDAPSocketSendError, ldap_errors.LDAPResponseTimeoutError,
                    ldap_errors.LDAPOperationResult, ldap_errors.LDAPBindError,
                    ssl.SSLError, OSError)


def _text(values: list | None) -> str | None:
    if not values:
        return None
    value = values[0]
    return value.decode("utf-8", errors="replace") if isinstance(value, bytes) else str(value)


class LdapDirectory:
    def __init__(self, config: DirectoryConfig):
        self.config = config
        self._servers = [(url, self._server(url)) for url in config.urls]
        self._down_until: dict[str, float] = {}
        self._lock = threading.Lock()
        a = config.attributes
        wanted = [a.login, a.id, a.changed, a.name, a.mail, a.phone, a.id_number,
                  a.employee_number, config.groups.member_of_attribute,
                  *config.disabled_when]
        if config.kind == "openldap":
            wanted.append("pwdAccountLockedTime")
        else:
            wanted += ["userAccountControl", "lockoutTime"]
        self._attributes = sorted({w for w in wanted if w})

    # --- connections ----------------------------------------------------------------------------

    def _server(self, url: str) -> ldap3.Server:
        config = self.config
        tls = None
        if config.tls != "none":
            # PROTOCOL_TLS_CLIENT: TLS 1.2 at least; ldap3 checks the name after the handshake.
            tls = ldap3.Tls(validate=ssl.CERT_REQUIRED, version=ssl.PROTOCOL_TLS_CLIENT,
                            ca_certs_file=config.ca_file or None)
        return ldap3.Server(url, use_ssl=config.tls == "ldaps", tls=tls, get_info=ldap3.NONE,
                            connect_timeout=config.connect_timeout)

    def _ordered(self):
        now = time.monotonic()
        with self._lock:
            up = [s for s in self._servers if self._down_until.get(s[0], 0) <= now]
            down = [s for s in self._servers if self._down_until.get(s[0], 0) > now]
        return up + down

    def _mark(self, url: str, ok: bool) -> None:
        with self._lock:
            if ok:
                self._down_until.pop(url, None)
            else:
                self._down_until[url] = time.monotonic() + DOWN_FOR

    def connect(self) -> tuple[ldap3.Connection, str, float]:
        """A connection bound as the service account, from the first server that works:
        (connection, server URL, seconds taken)."""
        config = self.config
        problems = []
        for url, server in self._ordered():
            started = time.monotonic()
            conn = ldap3.Connection(server, user=config.bind_dn or None,
                                    password=config.bind_password or None,
                                    # whole seconds: ldap3 packs it into SO_RCVTIMEO
                                    receive_timeout=max(1, math.ceil(config.receive_timeout)),
                                    raise_exceptions=True, read_only=True,
                                    auto_referrals=False, client_strategy=ldap3.SYNC)
            try:
                conn.open()
                # Requests are small and answered at once: without TCP_NODELAY the first write
                # after the TLS handshake waits ~40 ms for a delayed ACK (Nagle).
                conn.socket.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                if config.tls == "starttls":
                    # Before any credential is sent; start_tls raises unless it succeeded.
                    conn.start_tls()
                if config.bind_dn:
                    conn.bind()
            except TRANSPORT_ERRORS as exc:
                problems.append(f"{url}: {type(exc).__name__}: {exc}")
                self._mark(url, ok=False)
                self._close(conn)
                continue
            self._mark(url, ok=True)
            return conn, url, time.monotonic() - started
        raise DirectoryUnavailable(detail="; ".join(problems))

    @staticmethod
    def _close(conn: ldap3.Connection) -> None:
        # Closing a broken socket can fail in many ways; none of them matters here.
        with contextlib.suppress(Exception):
            conn.unbind()

    def ping(self) -> tuple[str, float]:
        conn, url, took = self.connect()
        self._close(conn)
        return url, took

    # --- entries --------------------------------------------------------------------------------

    def _login_filter(self, login: str) -> str:
        # Every value from outside goes through RFC 4515 escaping; the rest is configuration.
        return (f"(&{self.config.user_filter}"
                f"({self.config.attributes.login}={escape_filter_chars(login)}))")

    def _search_entry(self, conn: ldap3.Connection, login: str) -> dict | None:
        conn.search(self.config.user_base, self._login_filter(login), ldap3.SUBTREE,
                    attributes=self._attributes, size_limit=2,
                    dereference_aliases=ldap3.DEREF_NEVER, time_limit=int(
                        self.config.receive_timeout) or 1)
        entries = [e for e in conn.response or [] if e.get("type") == "searchResEntry"]
        if len(entries) > 1:
            raise BadCredentials("ambiguous_login", detail=f"{len(entries)} entries match")
        if not entries:
            return None
        entry = entries[0]
        if not dn_mod.is_below(entry["dn"], self.config.user_base):
            raise BadCredentials("outside_base", detail=f"entry {entry['dn']!r} is outside "
                                                        "the user base")
        return entry

    def _external_id(self, raw: dict) -> str:
        values = raw.get(self.config.attributes.id) or []
        if not values:
            raise DirectoryUnavailable(detail=f"entry has no {self.config.attributes.id}")
        value = values[0]
        if self.config.attributes.id.lower() == "objectguid" and len(value) == 16:
            return str(uuid.UUID(bytes_le=bytes(value)))
        return _text(values).lower()

    def _state(self, raw: dict) -> str:
        config = self.config
        if config.kind == "ad":
            try:
                control = int(_text(raw.get("userAccountControl")) or 0)
                lockout = int(_text(raw.get("lockoutTime")) or 0)
            except ValueError:
                control, lockout = 0, 0
            if control & UF_ACCOUNTDISABLE:
                return "disabled"
            if lockout > 0:
                return "locked"
        else:
            locked = _text(raw.get("pwdAccountLockedTime"))
            if locked:
                return "disabled" if locked == PERMANENT_LOCK else "locked"
        for attribute, values in config.disabled_when.items():
            have = {(_text([v]) or "").lower() for v in raw.get(attribute) or []}
            if have & set(values):
                return "disabled"
        return "active"

    def _groups(self, conn: ldap3.Connection, entry_dn: str, raw: dict) -> tuple[str, ...]:
        groups = self.config.groups
        if groups.member_of_attribute:
            values = raw.get(groups.member_of_attribute) or []
            return tuple(sorted(_text([v]) for v in values))
        if not groups.base:
            return ()
        conn.search(groups.base, f"(&{groups.filter}({groups.member_attribute}="
                                 f"{escape_filter_chars(entry_dn)}))", ldap3.SUBTREE,
                    attributes=[ldap3.NO_ATTRIBUTES], dereference_aliases=ldap3.DEREF_NEVER)
        return tuple(sorted(e["dn"] for e in conn.response or []
                            if e.get("type") == "searchResEntry"))

    def _identity(self, conn: ldap3.Connection, entry: dict, *, with_groups: bool = True
                  ) -> DirectoryIdentity:
        raw = entry["raw_attributes"]
        a = self.config.attributes
        return DirectoryIdentity(
            directory=self.config.id, external_id=self._external_id(raw), dn=entry["dn"],
            login=_text(raw.get(a.login)) or "", display_name=_text(raw.get(a.name)),
            mail=_text(raw.get(a.mail)), phone=_text(raw.get(a.phone)),
            id_number=_text(raw.get(a.id_number)) if a.id_number else None,
            employee_number=_text(raw.get(a.employee_number)) if a.employee_number else None,
            groups=self._groups(conn, entry["dn"], raw) if with_groups else (),
            state=self._state(raw), changed=_text(raw.get(a.changed)))

    # --- the interface --------------------------------------------------------------------------

    def authenticate(self, login: str, password: str) -> DirectoryIdentity:
        if password_is_blank(password):
            raise BadCredentials("empty_password")
        problem = login_problem(login)
        if problem:
            raise BadCredentials(problem)
        conn, url, _ = self.connect()
        try:
            entry = self._search_entry(conn, login)
            if entry is None:
                raise BadCredentials("unknown_account")
            identity = self._identity(conn, entry)
            if identity.state == "disabled":
                raise AccountDisabled(identity=identity)
            if identity.state == "locked":
                raise AccountLocked(identity=identity)
            self._bind_as(conn, identity, password)
            return identity
        except TRANSPORT_ERRORS as exc:
            self._mark(url, ok=False)
            raise DirectoryUnavailable(detail=f"{url}: {type(exc).__name__}: {exc}") from exc
        finally:
            self._close(conn)

    @staticmethod
    def _bind_as(conn: ldap3.Connection, identity: DirectoryIdentity, password: str) -> None:
        """Bind as the DN the directory returned. A refusal is a wrong password, unless Active
        Directory's diagnostic says the entry is locked or disabled."""
        try:
            conn.rebind(user=identity.dn, password=password)
        except (ldap_errors.LDAPInvalidCredentialsResult, ldap_errors.LDAPBindError,
                ldap_errors.LDAPUnwillingToPerformResult,
                ldap_errors.LDAPInappropriateAuthenticationResult) as exc:
            message = str((conn.result or {}).get("message") or "")
            code = message.partition(" data ")[2][:3].lower()
            if code in AD_LOCKED:
                raise AccountLocked(identity=identity, detail=message) from None
            if code in AD_DISABLED:
                raise AccountDisabled(identity=identity, detail=message) from None
            raise BadCredentials("bad_password", detail=type(exc).__name__) from None

    def lookup(self, login: str) -> DirectoryIdentity | None:
        if login_problem(login):
            return None
        conn, url, _ = self.connect()
        try:
            entry = self._search_entry(conn, login)
            return self._identity(conn, entry) if entry else None
        except BadCredentials:
            return None
        except TRANSPORT_ERRORS as exc:
            raise DirectoryUnavailable(detail=f"{url}: {type(exc).__name__}: {exc}") from exc
        finally:
            self._close(conn)

    def changes_since(self, cursor: str | None) -> Changes:
        config = self.config
        a = config.attributes
        conn, url, _ = self.connect()
        try:
            flt = config.user_filter
            if cursor:
                flt = f"(&{flt}({a.changed}>={escape_filter_chars(cursor)}))"
            changed = []
            newest = cursor
            for entry in self._paged(conn, config.user_base, flt, self._attributes):
                if not dn_mod.is_below(entry["dn"], config.user_base):
                    continue
                identity = self._identity(conn, entry, with_groups=False)
                changed.append(identity)
                if identity.changed and (newest is None or _later(identity.changed, newest)):
                    newest = identity.changed
            if cursor is None:
                # A full read already listed every entry.
                present = {i.external_id for i in changed}
            else:
                present = set()
                for entry in self._paged(conn, config.user_base, config.user_filter, [a.id]):
                    if dn_mod.is_below(entry["dn"], config.user_base):
                        present.add(self._external_id(entry["raw_attributes"]))
            members = {group: self._members(conn, group) for group in config.roles}
            return Changes(changed=changed, present=present, group_members=members,
                           cursor=newest)
        except TRANSPORT_ERRORS as exc:
            raise DirectoryUnavailable(detail=f"{url}: {type(exc).__name__}: {exc}") from exc
        finally:
            self._close(conn)

    def _paged(self, conn: ldap3.Connection, base: str, flt: str, attributes: list[str]):
        entries = [e for e in conn.extend.standard.paged_search(
            base, flt, ldap3.SUBTREE, attributes=attributes, paged_size=PAGE_SIZE,
            dereference_aliases=ldap3.DEREF_NEVER, generator=True)
            if e.get("type") == "searchResEntry"]
        result = conn.result or {}
        if result.get("result", 0) != 0:
            # A listing cut short (size or time limit) must never read as "the rest were
            # deleted": the sync stops here instead.
            raise DirectoryUnavailable(detail=f"incomplete listing of {base}: "
                                              f"{result.get('description')}")
        return entries

    def _members(self, conn: ldap3.Connection, group_dn: str) -> set[str]:
        attribute = self.config.groups.member_attribute
        try:
            conn.search(group_dn, "(objectClass=*)", ldap3.BASE, attributes=[attribute],
                        dereference_aliases=ldap3.DEREF_NEVER)
        except ldap_errors.LDAPNoSuchObjectResult:
            log.warning("directory %s: mapped group %s does not exist", self.config.id, group_dn)
            return set()
        members = set()
        for entry in conn.response or []:
            for value in entry.get("raw_attributes", {}).get(attribute, []):
                try:
                    members.add(dn_mod.normalise(_text([value])))
                except ValueError:
                    continue
        return members


def _later(a: str, b: str) -> bool:
    """Change markers compare as numbers (uSNChanged) or as GeneralizedTime strings of one
    format (modifyTimestamp, always UTC 'YYYYmmddHHMMSSZ' from one server)."""
    if a.isdigit() and b.isdigit():
        return int(a) > int(b)
    return a > b

