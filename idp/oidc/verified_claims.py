"""`real_name_level` and OpenID Connect for Identity Assurance 1.0 `verified_claims`.

Every token and UserInfo response for a person carries ``real_name_level`` (0-4). On request
(``claims`` parameter), ``verified_claims`` reports what was verified under the trust framework
``urn:tongban:trust_framework:cn_realname``: the verified name and birthdate, and one evidence
entry for the document with the checks behind the level (method and time of each). The full name
and document number go only to clients approved for them and only with the person's active
separate consent (verification.disclosure); everyone else gets masked values.
"""

from __future__ import annotations

from ..models import Client, Person
from ..verification import disclosure, documents, levels, names

TRUST_FRAMEWORK = "urn:tongban:trust_framework:cn_realname"
CLAIMS_IN_VERIFIED_CLAIMS = ("name", "birthdate")
EVIDENCE_TYPES = ("document",)
#: our document types as OIDC4IDA document types
DOCUMENT_TYPES = {"cn_resident_id": "idcard", "hk_mo_tw_permit": "residence_permit",
                  "foreign_permanent_residence": "permanent_residence_card"}
#: our check methods as OIDC4IDA check methods, and who performs them
CHECK_METHODS = {"registry_2f": ("data", "population_registry"),
                 "carrier_3f": ("data", "mobile_carrier"),
                 "bank_4f": ("data", "bank"),
                 "face_liveness": ("bvr", "population_registry"),
                 "in_person": ("pvp", "service_hall")}


def _iso(at) -> str:
    return at.strftime("%Y-%m-%dT%H:%M:%SZ")


def _requested(spec) -> tuple[set[str] | None, bool]:
    """The claim names asked for inside verified_claims (None: all), and whether the request's
    trust_framework constraint (if any) admits ours."""
    if not isinstance(spec, dict):
        return None, True
    framework = (spec.get("verification") or {}).get("trust_framework")
    admits = True
    if isinstance(framework, dict):
        allowed = [framework["value"]] if "value" in framework else framework.get("values")
        admits = allowed is None or TRUST_FRAMEWORK in allowed
    claims = spec.get("claims")
    names_ = {n for n in claims if n in CLAIMS_IN_VERIFIED_CLAIMS} if isinstance(
        claims, dict) and claims else None
    return names_, admits


def verified_claims(person: Person, client: Client, spec) -> dict | None:
    document = levels.document_of(person.id)
    if document is None or document.level < 1 or document.verified_at is None:
        return None
    wanted, admits = _requested(spec)
    if not admits:
        return None
    full = disclosure.releases_full(person.id, client)
    values = {"name": document.legal_name if full else names.mask(document.legal_name),
              "birthdate": document.birthdate.isoformat() if document.birthdate else None}
    claims = {k: v for k, v in values.items() if v is not None and (wanted is None or k in wanted)}
    checks = []
    for row in levels.passed_evidence(person.id, document.number_index):
        method, organization = CHECK_METHODS.get(row.method, ("data", row.checker))
        check = {"check_method": method, "organization": organization, "time": _iso(row.checked_at)}
        if row.reference and row.method != "in_person":
            check["txn"] = row.reference
        checks.append(check)
    evidence = {
        "type": "document",
        "check_details": checks,
        "document_details": {
            "type": DOCUMENT_TYPES.get(document.doc_type, document.doc_type),
            "document_number": (documents.reveal_number(document) if full
                                else document.number_masked),
        },
        "time": _iso(document.verified_at),
    }
    return {"verification": {"trust_framework": TRUST_FRAMEWORK,
                             "assurance_level": f"L{document.level}",
                             "time": _iso(document.verified_at),
                             "evidence": [evidence]},
            "claims": claims}


def assurance_claims(person: Person, client: Client, claims_request: dict | None,
                     member: str) -> dict:
    """What `member` ("id_token" or "userinfo") carries about real-name verification."""
    out: dict = {"real_name_level": levels.level_of(person.id)}
    part = (claims_request or {}).get(member) or {}
    if "verified_claims" in part:
        found = verified_claims(person, client, part["verified_claims"])
        if found is not None:
            out["verified_claims"] = found
    return out

