"""Password hashing (argon2id) and the password policy.

Policy (NIST SP 800-63B §5.1.1.2): at least 8 characters, up to 128, not on the bundled list of
common and breached passwords, no composition rules.
"""

from __future__ import annotations

import gzip
import unicodedata
from functools import cache
from importlib import resources

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

MIN_LENGTH = 8
MAX_LENGTH = 128

# OWASP's argon2id baseline: 19 MiB, 2 iterations, 1 lane (~21 ms on these machines).
_hasher = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)


@cache
def _dummy_hash() -> str:
    return _hasher.hash("tongban-timing-equaliser")


def normalise(password: str) -> str:
    # NFKC so that the same password typed on different keyboards/IMEs hashes the same.
    return unicodedata.normalize("NFKC", password)


def hash_password(password: str) -> str:
    return _hasher.hash(normalise(password))


def verify_password(stored_hash: str | None, password: str) -> bool:
    """Constant work whether or not there is a hash: an unknown account costs the same argon2
    verification as a known one, so timing does not tell them apart."""
    try:
        return _hasher.verify(stored_hash or _dummy_hash(), normalise(password)) and bool(
            stored_hash)
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(stored_hash: str) -> bool:
    return _hasher.check_needs_rehash(stored_hash)


@cache
def _common_passwords() -> frozenset[str]:
    # 19,640 common passwords (Royce Williams' list, as shipped by Django: see NOTICE).
    data = resources.files("idp").joinpath("data/common-passwords.txt.gz").read_bytes()
    return frozenset(gzip.decompress(data).decode().split())


def policy_problem(password: str, *, identifiers: tuple[str, ...] = ()) -> str | None:
    """The plain-language reason a new password is refused, or None if it is acceptable."""
    password = normalise(password)
    if len(password) < MIN_LENGTH:
        return "too_short"
    if len(password) > MAX_LENGTH:
        return "too_long"
    lowered = password.lower()
    if lowered in _common_passwords() or lowered.strip() in _common_passwords():
        return "too_common"
    if any(ident and lowered == ident.lower() for ident in identifiers):
        return "same_as_identifier"
    return None
