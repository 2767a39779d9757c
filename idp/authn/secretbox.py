"""Secrets at rest that must be read back (TOTP seeds) are sealed with AES-256-GCM; secrets that
only need comparing (recovery codes) are kept as keyed hashes. Both keys are derived from the
personal-data key (TONGBAN_DATA_KEY, see settings.py), which lives in configuration and never in
the database, like the key that seals identity numbers (idp/crypto.py)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from ..settings import Settings

VERSION = "v1"


class SealError(ValueError):
    """A sealed value that does not open with our key (tampered, moved or re-keyed)."""


def derive(settings: Settings, purpose: str) -> bytes:
    return hmac.new(settings.data_key_bytes, f"tongban/factors/{purpose}".encode(),
                    hashlib.sha256).digest()


def seal(settings: Settings, plaintext: str, *, context: str) -> str:
    """Encrypt; `context` (e.g. "totp:<person id>") is bound as associated data so a sealed
    value copied to another row does not open there."""
    nonce = os.urandom(12)
    sealed = AESGCM(derive(settings, "seal")).encrypt(nonce, plaintext.encode(), context.encode())
    return VERSION + "." + base64.urlsafe_b64encode(nonce + sealed).decode()


def unseal(settings: Settings, value: str, *, context: str) -> str:
    version, _, body = value.partition(".")
    if version != VERSION:
        raise SealError("unknown sealed-value version")
    raw = base64.urlsafe_b64decode(body.encode())
    try:
        plain = AESGCM(derive(settings, "seal")).decrypt(raw[:12], raw[12:], context.encode())
    except InvalidTag as exc:
        raise SealError("sealed value does not open") from exc
    return plain.decode()


def keyed_hash(settings: Settings, purpose: str, value: str) -> str:
    return hmac.new(derive(settings, purpose), value.encode(), hashlib.sha256).hexdigest()
