"""The provider's runtime: settings, keys and the secrets derived from the master secret,
created once per app and reached through :func:`provider`."""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass

from flask import current_app

from ..settings import Settings
from .keys import KeyStore


def derive(secret: str, purpose: str) -> bytes:
    """A subkey for one purpose, so no two features share key material."""
    return hmac.new(secret.encode(), f"tongban/{purpose}".encode(), hashlib.sha256).digest()


def _timestamp() -> int:
    # The app's clock (tests freeze it) wherever there is an app context; start-up and tooling
    # outside one use the wall clock.
    from flask import has_app_context

    from ..clock import Clock, clock

    return clock().timestamp() if has_app_context() else Clock().timestamp()


@dataclass
class Provider:
    settings: Settings
    keys: KeyStore
    pairwise_key: bytes
    refresh_key: bytes

    @classmethod
    def create(cls, settings: Settings) -> Provider:
        return cls(settings=settings, keys=KeyStore(settings.keys_dir, clock=_timestamp),
                   pairwise_key=derive(settings.secret_key, "pairwise-subject"),
                   refresh_key=derive(settings.secret_key, "refresh-successor"))

    @property
    def issuer(self) -> str:
        return self.settings.issuer

    def url(self, path: str) -> str:
        # Never from the Host header: every published URL is built from the issuer.
        return self.settings.issuer + path


def provider() -> Provider:
    return current_app.extensions["tongban.provider"]
