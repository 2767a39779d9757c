"""The configured directories of this IdP, each behind the directory interface, and how what a
person typed (`DEPT\\user`, `user@dept`, or a plain name with a chosen department) names one."""

from __future__ import annotations

from collections.abc import Callable, Mapping

from .base import Directory
from .config import DirectoryConfig


class UnknownDirectory(LookupError):
    pass


class Directories:
    def __init__(self, configs: tuple[DirectoryConfig, ...] = (),
                 implementations: Mapping[str, Directory] | None = None,
                 factory: Callable[[DirectoryConfig], Directory] | None = None):
        self.configs = {c.id: c for c in configs}
        self._names = {name: c.id for c in configs for name in (c.id, *c.aliases)}
        self._implementations: dict[str, Directory] = dict(implementations or {})
        self._factory = factory

    def __bool__(self) -> bool:
        return bool(self.configs)

    def __iter__(self):
        return iter(self.configs.values())

    def config(self, directory_id: str) -> DirectoryConfig:
        try:
            return self.configs[directory_id]
        except KeyError:
            raise UnknownDirectory(directory_id) from None

    def get(self, directory_id: str) -> Directory:
        """The directory's implementation, created on first use (no connection at start-up)."""
        if directory_id not in self._implementations:
            config = self.config(directory_id)
            if self._factory is None:
                from .ldap import LdapDirectory

                self._factory = LdapDirectory
            self._implementations[directory_id] = self._factory(config)
        return self._implementations[directory_id]

    def named(self, name: str) -> DirectoryConfig | None:
        found = self._names.get(name.strip().lower())
        return self.configs[found] if found else None

    def resolve(self, typed: str, chosen: str | None) -> tuple[DirectoryConfig, str] | None:
        """(directory, login to search for), or None when nothing (or two different things)
        name a directory. `DEPT\\user` and `user@dept` name it inside the login; a
        userPrincipalName directory keeps `user@domain` whole, since that is its login."""
        typed = (typed or "").strip()
        picked = self.configs.get(chosen) if chosen else None
        named, login = None, typed
        if "\\" in typed:
            prefix, _, rest = typed.partition("\\")
            named, login = self.named(prefix), rest
            if named is None:
                return None
        elif "@" in typed:
            user, _, suffix = typed.rpartition("@")
            named = self.named(suffix)
            if named is not None and named.attributes.login.lower() != "userprincipalname":
                login = user
        if named and picked and named.id != picked.id:
            return None
        config = named or picked
        if config is None and len(self.configs) == 1:
            config = next(iter(self.configs.values()))
        return (config, login) if config and login else None
