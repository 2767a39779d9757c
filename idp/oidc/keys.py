"""Signing keys: generation, rotation, the published JWKS (RFC 7517) and the key that signs now.

Keys live as private JWK files in the keys directory (0600), one file per key, shared by every
node of a cluster. Each file also records when the key starts signing and when it stops being
published, so rotation needs no coordination between nodes:

* ``rotate`` writes a new key whose ``activates_at`` lies ``key_publish_ahead`` seconds in the
  future: it is published at once but signs only later, so relying parties that cache the JWKS
  already hold it when they meet its first token;
* the keys it supersedes get ``retires_at`` = new key's activation + the longest token lifetime:
  they stay published until every token they signed has expired.

The key that signs for an algorithm is the one with the latest ``activates_at`` not in the future.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from joserfc.errors import JoseError
from joserfc.jwk import ECKey, KeySet, RSAKey, import_key

log = logging.getLogger(__name__)

#: The only algorithms the IdP signs with or accepts for its own tokens; never "none", never HMAC.
SIGNING_ALGS = ("RS256", "PS256", "ES256")
#: ID tokens default to RS256 (OIDC Core); access tokens are ES256 (cheap to sign and verify).
DEFAULT_ID_TOKEN_ALG = "RS256"
ACCESS_TOKEN_ALG = "ES256"


@dataclass(frozen=True)
class StoredKey:
    kid: str
    alg: str
    key: ECKey | RSAKey
    created_at: int
    activates_at: int
    retires_at: int | None

    def published(self, now: int) -> bool:
        return self.retires_at is None or now < self.retires_at

    def public_jwk(self) -> dict:
        return self.key.as_dict(private=False)


def _generate(alg: str) -> ECKey | RSAKey:
    params = {"alg": alg, "use": "sig"}
    if alg == "ES256":
        key = ECKey.generate_key("P-256", parameters=params, private=True)
    else:
        key = RSAKey.generate_key(2048, parameters=params, private=True)
    # The RFC 7638 thumbprint is a kid that is distinct for distinct keys by construction.
    key.ensure_kid()
    return key


class KeyStore:
    """The keys directory, read into memory and re-read whenever the directory changes."""

    def __init__(self, directory: Path, clock: Callable[[], int] | None = None):
        self.directory = Path(directory)
        #: unix time now; the app passes its own clock so that rotation follows a frozen clock
        self._clock = clock or (lambda: int(time.time()))
        self._lock = threading.Lock()
        self._stamp: int | None = None
        self._checked_at = 0.0
        self._keys: list[StoredKey] = []
        self._jwks_cache: tuple[tuple, dict] | None = None
        self._verify_cache: tuple[tuple, KeySet] | None = None

    # --- reading ------------------------------------------------------------------------------
    def _current_stamp(self) -> int | None:
        try:
            return self.directory.stat().st_mtime_ns
        except FileNotFoundError:
            return None

    #: how often the directory is looked at for another node's rotation (a stat() per token
    #: verification is measurable); this node's own writes are seen at once
    RECHECK_SECONDS = 1.0

    def keys(self) -> list[StoredKey]:
        checked = time.monotonic()
        if self._stamp is not None and checked - self._checked_at < self.RECHECK_SECONDS:
            return self._keys
        self._checked_at = checked
        stamp = self._current_stamp()
        if stamp != self._stamp:
            with self._lock:
                if stamp != self._stamp:
                    self._keys = self._load()
                    self._stamp = stamp
                    self._jwks_cache = None
        return self._keys

    def _load(self) -> list[StoredKey]:
        if not self.directory.is_dir():
            return []
        loaded = []
        for path in sorted(self.directory.glob("*.json")):
            try:
                record = json.loads(path.read_text())
                key = import_key(record["jwk"])
                loaded.append(StoredKey(
                    kid=record["jwk"]["kid"], alg=record["jwk"]["alg"], key=key,
                    created_at=int(record["created_at"]),
                    activates_at=int(record["activates_at"]),
                    retires_at=record.get("retires_at"),
                ))
            except (OSError, ValueError, KeyError, TypeError, JoseError) as exc:
                # A damaged key file must not take the IdP down, but operators must see it.
                log.error("ignoring unreadable key file %s: %s", path.name, type(exc).__name__)
        return loaded

    def signing_key(self, alg: str, now: int | None = None) -> StoredKey | None:
        now = self._clock() if now is None else now
        candidates = [k for k in self.keys()
                      if k.alg == alg and k.activates_at <= now and k.published(now)]
        return max(candidates, key=lambda k: (k.activates_at, k.created_at), default=None)

    def published(self, now: int | None = None) -> list[StoredKey]:
        now = self._clock() if now is None else now
        return [k for k in self.keys() if k.published(now)]

    def jwks(self, now: int | None = None) -> dict:
        now = self._clock() if now is None else now
        self.keys()
        # Cached per (directory state, second): fetched often, changes only with rotation.
        stamp = (self._stamp, now)
        if self._jwks_cache and self._jwks_cache[0] == stamp:
            return self._jwks_cache[1]
        body = {"keys": [k.public_jwk() for k in self.published(now)]}
        self._jwks_cache = (stamp, body)
        return body

    def verification_keys(self, now: int | None = None) -> KeySet:
        published = self.published(now)
        kids = tuple(k.kid for k in published)
        cached = self._verify_cache
        if cached is None or cached[0] != kids:
            cached = (kids, KeySet([import_key(k.public_jwk()) for k in published]))
            self._verify_cache = cached
        return cached[1]

    def missing_algs(self, now: int | None = None) -> list[str]:
        return [alg for alg in SIGNING_ALGS if self.signing_key(alg, now) is None]

    # --- writing ------------------------------------------------------------------------------
    def _write(self, key: ECKey | RSAKey, created_at: int, activates_at: int,
               retires_at: int | None) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        record = {"jwk": key.as_dict(private=True), "created_at": created_at,
                  "activates_at": activates_at, "retires_at": retires_at}
        final = self.directory / f"{key.kid}.json"
        temp = self.directory / f".{key.kid}.tmp"
        fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as fh:
            json.dump(record, fh)
        os.replace(temp, final)

    def _rewrite_retirement(self, stored: StoredKey, retires_at: int) -> None:
        self._write(stored.key, stored.created_at, stored.activates_at, retires_at)

    def ensure(self, now: int | None = None) -> list[str]:
        """Create an immediately active key for every algorithm that has none; returns the new
        kids."""
        now = self._clock() if now is None else now
        created = []
        for alg in self.missing_algs(now):
            key = _generate(alg)
            self._write(key, now, now, None)
            created.append(key.kid)
            log.info("generated %s signing key %s", alg, key.kid)
        self._stamp = None
        return created

    def rotate(self, alg: str, *, publish_ahead: int, token_ttl: int,
               now: int | None = None) -> StoredKey:
        """Publish a new key that starts signing after `publish_ahead` seconds, and schedule the
        retirement of the keys it replaces once the last token they could sign has expired."""
        if alg not in SIGNING_ALGS:
            raise ValueError(f"unsupported algorithm {alg}")
        now = self._clock() if now is None else now
        activates_at = now + publish_ahead
        retire = activates_at + token_ttl
        for old in self.keys():
            if old.alg == alg and old.retires_at is None:
                self._rewrite_retirement(old, retire)
        key = _generate(alg)
        self._write(key, now, activates_at, None)
        self._stamp = None
        return next(k for k in self.keys() if k.kid == key.kid)

    def prune(self, now: int | None = None) -> list[str]:
        """Delete the files of keys that are no longer published."""
        now = self._clock() if now is None else now
        removed = []
        for stored in self.keys():
            if not stored.published(now):
                (self.directory / f"{stored.kid}.json").unlink(missing_ok=True)
                removed.append(stored.kid)
        self._stamp = None
        return removed
