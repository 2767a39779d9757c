"""The mini-program apps Tongban verifies platform identities for (TONGBAN_PLATFORM_APPS_FILE).

Platform credentials are secrets of the kind that live beside the signing keys, not in the
database: a WeChat AppSecret, an Alipay app private key and Alipay's public key. The file::

    {"apps": [
      {"platform": "wechat", "appid": "wx5e1f0c2a9b7d3e4f", "name": "通办 WeChat mini-program",
       "secret": "...", "client_ids": ["tbc_..."]},
      {"platform": "alipay", "appid": "2021004123456789", "name": "通办 Alipay mini-program",
       "private_key_file": "alipay-app-private.pem",
       "alipay_public_key_file": "alipay-public.pem", "client_ids": ["tbc_..."]}
    ]}

Key file paths are relative to the file. `client_ids` are the Tongban clients (mini-program back
ends) allowed to exchange this app's codes: a code from one app never signs anyone in to another
department's client.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives import serialization

from ..settings import ConfigError
from .platforms import PLATFORMS


@dataclass(frozen=True)
class PlatformApp:
    platform: str
    appid: str
    name: str
    client_ids: tuple[str, ...]
    secret: str | None = None
    private_key: object = None
    platform_public_key: object = None

    def __repr__(self) -> str:  # never print credentials
        return f"<PlatformApp {self.platform}:{self.appid}>"


@dataclass(frozen=True)
class PlatformApps:
    apps: tuple[PlatformApp, ...] = ()

    def for_client(self, client_id: str, platform: str, appid: str | None
                   ) -> list[PlatformApp]:
        """The apps of `platform` whose codes `client_id` may exchange (narrowed to `appid`)."""
        return [a for a in self.apps if a.platform == platform and client_id in a.client_ids
                and (appid is None or a.appid == appid)]

    def get(self, platform: str, appid: str) -> PlatformApp | None:
        return next((a for a in self.apps if a.platform == platform and a.appid == appid), None)


def load(path: Path | None) -> PlatformApps:
    """Read and check the file once at start-up; any problem stops the IdP with a message."""
    if path is None:
        return PlatformApps()
    try:
        data = json.loads(Path(path).read_text())
    except (OSError, ValueError) as exc:
        raise ConfigError(f"TONGBAN_PLATFORM_APPS_FILE {path}: cannot read JSON ({exc})") from exc
    entries = data.get("apps") if isinstance(data, dict) else None
    if not isinstance(entries, list):
        raise ConfigError(f"TONGBAN_PLATFORM_APPS_FILE {path}: expected {{\"apps\": [...]}}")
    apps = []
    for n, entry in enumerate(entries):
        where = f"TONGBAN_PLATFORM_APPS_FILE {path}, app {n + 1}"
        apps.append(_app(entry, Path(path).parent, where))
    keys = [(a.platform, a.appid) for a in apps]
    if len(set(keys)) != len(keys):
        raise ConfigError(f"TONGBAN_PLATFORM_APPS_FILE {path}: an app is listed twice")
    return PlatformApps(tuple(apps))


def _app(entry, base: Path, where: str) -> PlatformApp:
    if not isinstance(entry, dict):
        raise ConfigError(f"{where}: expected an object")
    platform, appid = entry.get("platform"), entry.get("appid")
    clients = entry.get("client_ids", [])
    if platform not in PLATFORMS:
        raise ConfigError(f"{where}: platform must be one of {', '.join(PLATFORMS)}")
    if not isinstance(appid, str) or not appid or len(appid) > 64:
        raise ConfigError(f"{where}: appid is required")
    if not isinstance(clients, list) or not all(isinstance(c, str) for c in clients):
        raise ConfigError(f"{where}: client_ids must be a list of client ids")
    name = str(entry.get("name") or appid)
    if platform == "wechat":
        secret = entry.get("secret")
        if not isinstance(secret, str) or not secret:
            raise ConfigError(f"{where}: a WeChat app needs its AppSecret in 'secret'")
        return PlatformApp(platform, appid, name, tuple(clients), secret=secret)
    private_key = _pem(base, entry.get("private_key_file"), where, private=True)
    public_key = _pem(base, entry.get("alipay_public_key_file"), where, private=False)
    return PlatformApp(platform, appid, name, tuple(clients), private_key=private_key,
                       platform_public_key=public_key)


def _pem(base: Path, name, where: str, *, private: bool):
    what = "private_key_file" if private else "alipay_public_key_file"
    if not isinstance(name, str) or not name:
        raise ConfigError(f"{where}: an Alipay app needs '{what}'")
    try:
        data = (base / name).read_bytes()
        if private:
            return serialization.load_pem_private_key(data, password=None)
        return serialization.load_pem_public_key(data)
    except (OSError, ValueError) as exc:
        raise ConfigError(f"{where}: cannot load {what} {name} ({exc})") from exc
