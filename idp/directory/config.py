"""Directory configuration: any number of department directories, read once at start-up from the
TOML or JSON file named by TONGBAN_DIRECTORIES, validated, and frozen. A bad file stops the IdP
with a message naming the directory and the key to fix (failing closed, like every setting).

TOML (a JSON file holds the same shape as ``{"directories": [...]}``)::

    [[directories]]
    id = "finance"                       # part of every account key; never change it
    name = "市财政局"                     # shown on the login page
    name_en = "Finance Bureau"
    aliases = ["FIN", "finance.gov.example"]   # for FIN\\zhangsan and zhangsan@finance.gov.example
    kind = "openldap"                    # or "ad": how locked/disabled entries are recognised
    urls = ["ldaps://ldap1.finance.example", "ldaps://ldap2.finance.example"]  # failover order
    tls = "ldaps"                        # "ldaps", "starttls", or "none" (needs allow_plaintext)
    ca_file = "/etc/tongban/finance-ca.pem"
    bind_dn = "cn=tongban,ou=services,dc=finance,dc=example"
    bind_password_env = "FINANCE_BIND_PASSWORD"   # or bind_password_file; never in this file
    user_base = "ou=people,dc=finance,dc=example"
    user_filter = "(objectClass=inetOrgPerson)"
    connect_timeout = 3.0
    receive_timeout = 5.0
    link_citizens = true                 # false: staff-only accounts, never joined to a citizen

    [directories.attributes]
    login = "uid"                        # or sAMAccountName, userPrincipalName
    name = "displayName"
    mail = "mail"
    phone = "telephoneNumber"
    id_number = ""                       # attribute holding the national ID number, if any
    employee_number = "employeeNumber"
    id = "entryUUID"                     # stable id: entryUUID, or objectGUID for AD
    changed = "modifyTimestamp"          # or uSNChanged for AD

    [directories.groups]
    base = "ou=groups,dc=finance,dc=example"
    filter = "(objectClass=groupOfNames)"
    member_attribute = "member"
    member_of_attribute = ""             # "memberOf" where entries list their groups (AD)

    [directories.roles]                  # group DN -> roles in tokens
    "cn=approvers,ou=groups,dc=finance,dc=example" = ["finance_approver"]
"""

from __future__ import annotations

import json
import os
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from ..settings import ConfigError
from . import dn as dn_mod

KINDS = ("openldap", "ad")
TLS_MODES = ("ldaps", "starttls", "none")
ID_SHAPE = re.compile(r"^[a-z][a-z0-9_-]{1,63}$")
ROLE_SHAPE = re.compile(r"^[A-Za-z0-9_.:-]{1,64}$")
ATTRIBUTE_SHAPE = re.compile(r"^[A-Za-z][A-Za-z0-9-]{0,63}$")

KIND_DEFAULTS = {
    "openldap": {"login": "uid", "id": "entryUUID", "changed": "modifyTimestamp"},
    "ad": {"login": "sAMAccountName", "id": "objectGUID", "changed": "uSNChanged"},
}


@dataclass(frozen=True)
class Attributes:
    login: str
    id: str
    changed: str
    name: str = "displayName"
    mail: str = "mail"
    phone: str = "telephoneNumber"
    id_number: str = ""
    employee_number: str = ""


@dataclass(frozen=True)
class Groups:
    base: str = ""
    filter: str = "(objectClass=groupOfNames)"
    member_attribute: str = "member"
    member_of_attribute: str = ""


@dataclass(frozen=True)
class DirectoryConfig:
    id: str
    name: str
    urls: tuple[str, ...]
    user_base: str
    attributes: Attributes
    name_en: str = ""
    aliases: tuple[str, ...] = ()
    kind: str = "openldap"
    tls: str = "starttls"
    ca_file: str = ""
    allow_plaintext: bool = False
    bind_dn: str = ""
    #: never printed: repr=False keeps it out of every log line that shows a config
    bind_password: str = field(default="", repr=False)
    user_filter: str = "(objectClass=person)"
    groups: Groups = Groups()
    #: normalised group DN -> role names
    roles: dict = field(default_factory=dict)
    #: attribute -> values (lower case) that mark an entry disabled, beside the kind's own rules
    disabled_when: dict = field(default_factory=dict)
    connect_timeout: float = 3.0
    receive_timeout: float = 5.0
    link_citizens: bool = True

    def label(self, locale: str) -> str:
        return self.name_en if locale.startswith("en") and self.name_en else self.name

    def roles_for(self, group_dns) -> list[str]:
        roles: set[str] = set()
        for group in group_dns:
            roles.update(self.roles.get(dn_mod.normalise(group), ()))
        return sorted(roles)


def _problem(where: str, message: str) -> ConfigError:
    return ConfigError(f"Tongban cannot start: TONGBAN_DIRECTORIES {where}: {message}")


def _filter_ok(value: str) -> bool:
    """An operator-written filter: one parenthesised expression with balanced parentheses."""
    depth = 0
    for i, char in enumerate(value):
        if char == "(" and (i == 0 or value[i - 1] != "\\"):
            depth += 1
        elif char == ")" and value[i - 1] != "\\":
            depth -= 1
            if depth == 0 and i != len(value) - 1:
                return False
        if depth < 0:
            return False
    return depth == 0 and value.startswith("(")


def _password(raw: dict, where: str, environ) -> str:
    if "bind_password" in raw:
        raise _problem(where, "put the service password in bind_password_env or "
                              "bind_password_file, never in the configuration file")
    if raw.get("bind_password_env"):
        value = environ.get(raw["bind_password_env"], "")
        if not value:
            raise _problem(where, f"environment variable {raw['bind_password_env']} is empty")
        return value
    if raw.get("bind_password_file"):
        try:
            return Path(raw["bind_password_file"]).read_text().strip()
        except OSError as exc:
            raise _problem(where, f"cannot read bind_password_file ({exc.strerror})") from exc
    return ""


def parse_one(raw: dict, index: int, *, base_dir: Path, environ, production: bool
              ) -> DirectoryConfig:
    where = f"directory #{index + 1}"
    if not isinstance(raw, dict):
        raise _problem(where, "must be a table/object")
    ident = str(raw.get("id", ""))
    if not ID_SHAPE.match(ident):
        raise _problem(where, "id must be 2-64 lower-case letters, digits, '-' or '_'")
    where = f"directory {ident!r}"
    kind = raw.get("kind", "openldap")
    if kind not in KINDS:
        raise _problem(where, f"kind must be one of {', '.join(KINDS)}")
    tls = raw.get("tls", "starttls")
    if tls not in TLS_MODES:
        raise _problem(where, f"tls must be one of {', '.join(TLS_MODES)}")
    urls = raw.get("urls") or []
    if isinstance(urls, str):
        urls = [urls]
    if not urls:
        raise _problem(where, "urls: at least one server URL is required")
    for url in urls:
        scheme = str(url).split("://", 1)[0].lower()
        if tls == "ldaps" and scheme != "ldaps":
            raise _problem(where, f"{url}: tls = 'ldaps' needs ldaps:// URLs")
        if tls != "ldaps" and scheme != "ldap":
            raise _problem(where, f"{url}: tls = '{tls}' needs ldap:// URLs")
    if tls == "none":
        if not raw.get("allow_plaintext"):
            raise _problem(where, "tls = 'none' sends passwords in clear: it needs "
                                  "allow_plaintext = true")
        if production:
            raise _problem(where, "plain LDAP (tls = 'none') is refused in production")
    ca_file = str(raw.get("ca_file", ""))
    if ca_file:
        path = (base_dir / ca_file) if not os.path.isabs(ca_file) else Path(ca_file)
        if not path.is_file():
            raise _problem(where, f"ca_file {ca_file} does not exist")
        ca_file = str(path)
    user_base = str(raw.get("user_base", ""))
    if not dn_mod.is_valid(user_base):
        raise _problem(where, "user_base must be a DN")
    bind_dn = str(raw.get("bind_dn", ""))
    if bind_dn and not dn_mod.is_valid(bind_dn):
        raise _problem(where, "bind_dn must be a DN")
    password = _password(raw, where, environ)
    if bind_dn and not password:
        raise _problem(where, "bind_dn needs bind_password_env or bind_password_file")
    user_filter = str(raw.get("user_filter", "(objectClass=person)"))
    if not _filter_ok(user_filter):
        raise _problem(where, "user_filter must be one parenthesised LDAP filter")

    attrs_raw = {**KIND_DEFAULTS[kind], **(raw.get("attributes") or {})}
    unknown = set(attrs_raw) - {f for f in Attributes.__dataclass_fields__}
    if unknown:
        raise _problem(where, f"unknown attributes keys: {', '.join(sorted(unknown))}")
    for key, value in attrs_raw.items():
        if value and not ATTRIBUTE_SHAPE.match(str(value)):
            raise _problem(where, f"attributes.{key} is not an attribute name")
    attributes = Attributes(**{k: str(v) for k, v in attrs_raw.items()})

    groups_raw = raw.get("groups") or {}
    groups = Groups(**{k: str(v) for k, v in groups_raw.items()
                       if k in Groups.__dataclass_fields__})
    if groups.base and not dn_mod.is_valid(groups.base):
        raise _problem(where, "groups.base must be a DN")
    if not _filter_ok(groups.filter):
        raise _problem(where, "groups.filter must be one parenthesised LDAP filter")
    roles: dict[str, tuple[str, ...]] = {}
    for group, names in (raw.get("roles") or {}).items():
        names = [names] if isinstance(names, str) else list(names)
        if not dn_mod.is_valid(group) or not all(ROLE_SHAPE.match(str(n)) for n in names):
            raise _problem(where, f"roles: {group!r} must be a group DN mapped to role names")
        roles[dn_mod.normalise(group)] = tuple(str(n) for n in names)
    if roles and not (groups.base or groups.member_of_attribute):
        raise _problem(where, "roles need groups.base or groups.member_of_attribute")
    disabled_when = {str(k): tuple(str(v).lower() for v in (vals if isinstance(vals, list)
                                                               else [vals]))
                     for k, vals in (raw.get("disabled_when") or {}).items()}
    try:
        connect_timeout = float(raw.get("connect_timeout", 3.0))
        receive_timeout = float(raw.get("receive_timeout", 5.0))
    except (TypeError, ValueError) as exc:
        raise _problem(where, "timeouts are numbers of seconds") from exc
    if not (0 < connect_timeout <= 60 and 0 < receive_timeout <= 120):
        raise _problem(where, "timeouts must be positive (connect ≤ 60 s, receive ≤ 120 s)")
    aliases = tuple(str(a).lower() for a in raw.get("aliases") or ())
    return DirectoryConfig(
        id=ident, name=str(raw.get("name") or ident), name_en=str(raw.get("name_en", "")),
        aliases=aliases, kind=kind, urls=tuple(str(u) for u in urls), tls=tls, ca_file=ca_file,
        allow_plaintext=bool(raw.get("allow_plaintext", False)), bind_dn=bind_dn,
        bind_password=password, user_base=user_base, user_filter=user_filter,
        attributes=attributes, groups=groups, roles=roles, disabled_when=disabled_when,
        connect_timeout=connect_timeout, receive_timeout=receive_timeout,
        link_citizens=bool(raw.get("link_citizens", True)))


def load(path: str | Path, *, environ=None, production: bool = False
         ) -> tuple[DirectoryConfig, ...]:
    path = Path(path)
    environ = os.environ if environ is None else environ
    try:
        text = path.read_text()
    except OSError as exc:
        raise _problem(str(path), f"cannot be read ({exc.strerror})") from exc
    try:
        data = json.loads(text) if path.suffix == ".json" else tomllib.loads(text)
    except ValueError as exc:
        raise _problem(str(path), f"is not valid {'JSON' if path.suffix == '.json' else 'TOML'}"
                                  f": {exc}") from exc
    items = data.get("directories") if isinstance(data, dict) else None
    if not isinstance(items, list):
        raise _problem(str(path), "must hold a list named 'directories'")
    configs = tuple(parse_one(raw, i, base_dir=path.parent, environ=environ,
                              production=production) for i, raw in enumerate(items))
    names: dict[str, str] = {}
    for config in configs:
        for name in (config.id, *config.aliases):
            if name in names:
                raise _problem(f"directory {config.id!r}",
                               f"{name!r} also names directory {names[name]!r}")
            names[name] = config.id
    return configs
