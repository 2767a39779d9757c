"""Real-name assurance in the authorization flow: which level a request needs, and whether the
person must first be sent to the verification pages.

A request needs the highest of: the client's ``min_real_name_level``; an ``acr_values`` entry
``urn:tongban:realname:L1`` ... ``L4``; a ``claims`` request for ``real_name_level`` with a
``value`` (or the lowest of its ``values``); and level 1 whenever ``verified_claims`` is asked
for (OpenID Connect for Identity Assurance 1.0: there is nothing verified to report below it).
"""

from __future__ import annotations

from dataclasses import dataclass

from ..verification import disclosure, levels

ACR_PREFIX = "urn:tongban:realname:L"
ACR_VALUES = tuple(f"{ACR_PREFIX}{n}" for n in (1, 2, 3, 4))


def _level_of(value) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int) and 0 <= value <= 4:
        return value
    if isinstance(value, str) and value.upper().removeprefix("L") in ("0", "1", "2", "3", "4"):
        return int(value.upper().removeprefix("L"))
    return None


def wants_verified_claims(claims_request: dict | None) -> bool:
    return any("verified_claims" in (claims_request or {}).get(member, {})
               for member in ("id_token", "userinfo"))


def required_level(grant) -> int:
    level = int(grant.request.client.min_real_name_level or 0)
    for value in (grant.request.payload.data.get("acr_values") or "").split():
        if value in ACR_VALUES:
            level = max(level, int(value[len(ACR_PREFIX):]))
    claims_request = getattr(grant, "claims_request", None) or {}
    for member in ("id_token", "userinfo"):
        spec = claims_request.get(member, {}).get("real_name_level")
        if isinstance(spec, dict):
            wanted = [spec["value"]] if "value" in spec else list(spec.get("values") or [])
            found = [n for n in map(_level_of, wanted) if n is not None]
            if found:
                level = max(level, min(found))
    if wants_verified_claims(claims_request):
        level = max(level, 1)
    return level


@dataclass(frozen=True)
class VerifyStep:
    """Where to send the person: the level to reach, and the client whose disclosure question
    is still open (None when there is none)."""

    level: int
    client: str | None


def verification_step(grant, person_id: int, *, silent: bool) -> VerifyStep | None:
    required = required_level(grant)
    client = grant.request.client
    below = levels.level_of(person_id) < required
    # The separate disclosure question is only put to someone who can be asked; without it the
    # client simply gets masked values.
    ask = (not silent and wants_verified_claims(getattr(grant, "claims_request", None))
           and disclosure.undecided(person_id, client))
    if not below and not ask:
        return None
    return VerifyStep(level=max(required, 1), client=client.client_id if ask else None)
