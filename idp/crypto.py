"""Personal data at rest: AES-256-GCM sealing, and keyed HMAC indexes for looking sealed values
up without decrypting them. The keys come from settings (TONGBAN_DATA_KEY), never from the
database, and each purpose derives its own subkey."""

from __future__ import annotations

import base64
import hashlib
import hmac
import os

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

VERSION = b"\x01"


def _subkey(data_key: bytes, purpose: str) -> bytes:
    return hmac.new(data_key, f"tongban/{purpose}".encode(), hashlib.sha256).digest()


def seal(data_key: bytes, purpose: str, plaintext: str) -> str:
    """Encrypt `plaintext`; `purpose` is bound in as associated data, so a value sealed for one
    column cannot be moved into another."""
    nonce = os.urandom(12)
    box = AESGCM(_subkey(data_key, "seal/" + purpose)).encrypt(nonce, plaintext.encode(),
                                                               purpose.encode())
    return base64.urlsafe_b64encode(VERSION + nonce + box).decode()


def unseal(data_key: bytes, purpose: str, sealed: str) -> str:
    raw = base64.urlsafe_b64decode(sealed.encode())
    if raw[:1] != VERSION:
        raise ValueError("unknown sealed-value version")
    nonce, box = raw[1:13], raw[13:]
    return AESGCM(_subkey(data_key, "seal/" + purpose)).decrypt(nonce, box,
                                                               purpose.encode()).decode()


def index(data_key: bytes, purpose: str, value: str) -> str:
    """A deterministic keyed hash: equal values give equal indexes, and nobody without the key
    can test a guess (identity numbers have little entropy, a plain hash would be reversible)."""
    return hmac.new(_subkey(data_key, "index/" + purpose), value.encode(),
                    hashlib.sha256).hexdigest()
