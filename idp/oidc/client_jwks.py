"""A client's own public keys (RFC 7591 `jwks` / `jwks_uri`), used to verify its
`private_key_jwt` assertions (RFC 7523).

Only public asymmetric keys are accepted: a registered private key or a symmetric `oct` key would
mean the "client key" is a shared secret the IdP holds in plaintext. Keys behind a `jwks_uri` are
fetched through :mod:`idp.fetch` only, cached briefly, and fetched again (at most every
``REFETCH_AFTER`` seconds) when an assertion names a key id the cached set lacks, so a client
that rotates its keys keeps working (oidcc-refresh-token-rp-key-rotation).
"""

from __future__ import annotations

import threading
import time

from joserfc.errors import JoseError
from joserfc.jwk import KeySet

from .. import fetch
from ..settings import Settings

MAX_KEYS = 10
PRIVATE_MEMBERS = ("d", "p", "q", "dp", "dq", "qi", "oth", "k")
CACHE_TTL = 300
REFETCH_AFTER = 30


class ClientKeysError(ValueError):
    """The client's keys are unusable; `code` says why (for messages and RFC 7591 errors)."""

    def __init__(self, code: str, detail: str = ""):
        super().__init__(f"{code}: {detail}" if detail else code)
        self.code = code


def parse_public_jwks(data) -> KeySet:
    """The key set in `data` (a JWKS object), or ClientKeysError."""
    if not isinstance(data, dict) or not isinstance(data.get("keys"), list):
        raise ClientKeysError("jwks_shape")
    keys = data["keys"]
    if not keys or len(keys) > MAX_KEYS:
        raise ClientKeysError("jwks_count")
    kids = []
    for key in keys:
        if not isinstance(key, dict):
            raise ClientKeysError("jwks_shape")
        if key.get("kty") not in ("RSA", "EC"):
            raise ClientKeysError("jwks_key_type", str(key.get("kty")))
        if any(member in key for member in PRIVATE_MEMBERS):
            raise ClientKeysError("jwks_private")
        kids.append(key.get("kid"))
    if len(keys) > 1 and (None in kids or len(set(kids)) != len(kids)):
        raise ClientKeysError("jwks_kid")
    try:
        key_set = KeySet.import_key_set({"keys": keys})
    except (JoseError, ValueError, TypeError) as exc:
        raise ClientKeysError("jwks_invalid", type(exc).__name__) from exc
    for key in key_set.keys:
        if key.key_type == "RSA" and key.raw_value.key_size < 2048:
            raise ClientKeysError("jwks_weak")
    return key_set


class JwksCache:
    """Key sets fetched from `jwks_uri`s, per process."""

    def __init__(self):
        self._lock = threading.Lock()
        self._entries: dict[str, tuple[float, KeySet]] = {}

    def get(self, uri: str, settings: Settings, *, refresh: bool = False) -> KeySet:
        now = time.monotonic()
        with self._lock:
            entry = self._entries.get(uri)
        if entry is not None:
            age = now - entry[0]
            if age < CACHE_TTL and not (refresh and age >= REFETCH_AFTER):
                return entry[1]
        key_set = parse_public_jwks(fetch.fetch_json(uri, settings))
        with self._lock:
            self._entries[uri] = (now, key_set)
        return key_set

    def forget(self, uri: str) -> None:
        with self._lock:
            self._entries.pop(uri, None)


def key_set_for(client, settings: Settings, cache: JwksCache, *, refresh: bool = False
                ) -> KeySet:
    """The keys `client` signs its assertions with (ClientKeysError / FetchError if none)."""
    if client.jwks:
        return parse_public_jwks(client.jwks)
    if client.jwks_uri:
        return cache.get(client.jwks_uri, settings, refresh=refresh)
    raise ClientKeysError("jwks_required")
