"""Distinguished names (RFC 4514), compared the way a directory compares them: attribute types
and values case-insensitively, escapes decoded (``\\2C`` and ``\\,`` are the same comma),
spaces around separators ignored, multi-valued RDNs in any order."""

from __future__ import annotations

from functools import lru_cache

from ldap3.core.exceptions import LDAPInvalidDnError
from ldap3.utils.dn import escape_rdn, parse_dn

HEX = "0123456789abcdefABCDEF"


def _unescape(value: str) -> str:
    out = bytearray()
    i = 0
    while i < len(value):
        char = value[i]
        if char == "\\" and i + 1 < len(value):
            pair = value[i + 1:i + 3]
            if len(pair) == 2 and all(c in HEX for c in pair):
                out.append(int(pair, 16))
                i += 3
                continue
            out.extend(value[i + 1].encode())
            i += 2
            continue
        out.extend(char.encode())
        i += 1
    return out.decode("utf-8", errors="replace")


@lru_cache(maxsize=65536)
def components(dn: str) -> tuple[tuple[tuple[str, str], ...], ...]:
    """The RDNs of `dn`, most specific first, each a sorted tuple of (type, value) in lower
    case. Raises ValueError for anything that is not a DN. (Cached: a sync checks thousands
    of entries against the same base, some twice.)"""
    if not isinstance(dn, str) or not dn.strip() or "\x00" in dn:
        raise ValueError("not a DN")
    try:
        parts = parse_dn(dn, strip=True)
    except LDAPInvalidDnError as exc:
        raise ValueError(f"not a DN: {exc}") from exc
    rdns: list[tuple[tuple[str, str], ...]] = []
    current: list[tuple[str, str]] = []
    for attr, value, separator in parts:
        current.append((attr.lower(), _unescape(value).lower()))
        if separator != "+":
            rdns.append(tuple(sorted(current)))
            current = []
    return tuple(rdns)


def is_valid(dn: str) -> bool:
    try:
        components(dn)
    except ValueError:
        return False
    return True


def normalise(dn: str) -> str:
    """One spelling per DN, for comparing and for keys."""
    return ",".join("+".join(f"{attr}={escape_rdn(value)}" for attr, value in rdn)
                    for rdn in components(dn))


def is_below(dn: str, base: str) -> bool:
    """True when `dn` lies strictly below `base`. Anything unparsable is outside."""
    try:
        entry, top = components(dn), components(base)
    except ValueError:
        return False
    return len(entry) > len(top) and entry[len(entry) - len(top):] == top
