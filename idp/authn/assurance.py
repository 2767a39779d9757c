"""Authentication strength: the `acr` levels and RFC 8176 `amr` values Tongban reports.

The mapping (documented in README.md, "Authentication strength"):

| what the person did                               | amr                          | acr  |
|---------------------------------------------------|------------------------------|------|
| password                                          | pwd                          | aal1 |
| password + authenticator-app code                 | pwd, otp, mfa                | aal2 |
| password + recovery code                          | pwd, otp, mfa                | aal2 |
| password + passkey/security key                   | pwd, hwk or swk (+user), mfa | aal2 |
| passkey alone, with user verification (PIN/bio)   | hwk or swk, user, mfa        | aal2 |

`hwk` is a device-bound credential (the authenticator says it cannot be backed up), `swk` a
synced one (backup eligible). A recovery code is a one-time code and is reported as `otp`.
`urn:tongban:aal3` (hardware-bound keys proven by attestation) is defined but not yet issued:
without verifying attestation the IdP cannot know that a key is hardware-bound.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

AAL1 = "urn:tongban:aal1"
AAL2 = "urn:tongban:aal2"
AAL3 = "urn:tongban:aal3"
LEVELS = (AAL1, AAL2, AAL3)
#: the levels this IdP can actually issue (published as acr_values_supported)
ISSUED = (AAL1, AAL2)

#: RFC 8176 values by the factor category they prove
_CATEGORY = {"pwd": "knowledge", "otp": "possession", "hwk": "possession",
             "swk": "possession", "user": "inherence"}


def rank(acr: str | None) -> int:
    """0 for anything that is not one of our levels."""
    return LEVELS.index(acr) + 1 if acr in LEVELS else 0


def meets(have: str | None, need: str | None) -> bool:
    return need is None or rank(have) >= rank(need)


def highest(*levels: str | None) -> str | None:
    known = [lv for lv in levels if lv in LEVELS]
    return max(known, key=rank) if known else None


def lowest_known(values: Iterable[str]) -> str | None:
    """Of a list of acceptable levels (acr_values), the lowest we know: any of them will do."""
    known = [v for v in values if v in LEVELS]
    return min(known, key=rank) if known else None


def categories(amr: Iterable[str]) -> set[str]:
    return {_CATEGORY[m] for m in amr if m in _CATEGORY}


def acr_for(amr: Sequence[str]) -> str:
    return AAL2 if len(categories(amr)) >= 2 else AAL1


def combine(*parts: Sequence[str]) -> tuple[str, ...]:
    """The amr of several factors proven together, with `mfa` when they span two categories."""
    seen: list[str] = []
    for part in parts:
        for value in part:
            if value != "mfa" and value not in seen:
                seen.append(value)
    if len(categories(seen)) >= 2:
        seen.append("mfa")
    return tuple(seen)


def passkey_amr(*, backup_eligible: bool, user_verified: bool) -> tuple[str, ...]:
    key = "swk" if backup_eligible else "hwk"
    return combine((key, "user") if user_verified else (key,))


def is_second_factor_proven(amr: Sequence[str]) -> bool:
    return "mfa" in amr
