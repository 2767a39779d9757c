"""The three things a person may log in with, each normalised one way: username, email, phone."""

from __future__ import annotations

import re
import unicodedata

USERNAME = re.compile(r"^[a-z][a-z0-9_.-]{2,63}$")
EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]+$")
MAINLAND_MOBILE = re.compile(r"^1[3-9]\d{9}$")


def normalise_phone(value: str) -> str | None:
    digits = re.sub(r"[\s\-()]", "", value)
    if digits.startswith("+86"):
        digits = digits[3:]
    elif digits.startswith("0086"):
        digits = digits[4:]
    return digits if MAINLAND_MOBILE.match(digits) else None


def normalise_email(value: str) -> str | None:
    value = value.strip().lower()
    return value if EMAIL.match(value) and len(value) <= 254 else None


def normalise_username(value: str) -> str | None:
    value = unicodedata.normalize("NFKC", value).strip().lower()
    return value if USERNAME.match(value) else None


def classify(identifier: str) -> tuple[str, str] | None:
    """(kind, normalised value) for what the person typed into "account", or None."""
    identifier = unicodedata.normalize("NFKC", identifier or "").strip()
    if not identifier or len(identifier) > 254:
        return None
    if "@" in identifier:
        email = normalise_email(identifier)
        return ("email", email) if email else None
    phone = normalise_phone(identifier)
    if phone:
        return "phone", phone
    username = normalise_username(identifier)
    return ("username", username) if username else None
