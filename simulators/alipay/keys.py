"""Key material for a simulated Alipay app: the app's RSA key pair (Tongban signs with the
private half, the simulator checks with the public half) and the simulator's own "Alipay" key
pair (it signs replies, Tongban checks them). Real deployments get these from Alipay's console."""

from __future__ import annotations

import os
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa


def _write(path: Path, data: bytes, private: bool) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600 if private else 0o644)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)


def make_pair(directory: Path, name: str) -> tuple[Path, Path]:
    """`<name>-private.pem` and `<name>-public.pem` in `directory` (kept if present)."""
    private, public = directory / f"{name}-private.pem", directory / f"{name}-public.pem"
    if private.exists() and public.exists():
        return private, public
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    _write(private, key.private_bytes(serialization.Encoding.PEM,
                                      serialization.PrivateFormat.PKCS8,
                                      serialization.NoEncryption()), private=True)
    _write(public, key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo),
        private=False)
    return private, public
