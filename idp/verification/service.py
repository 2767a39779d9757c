"""Verifying a person: each step validates its input, asks its adapter, records the evidence and
moves the level. Arguments are explicit (person, now, settings, the adapter), so tests can call
these with a clock and a gateway of their choosing; nothing here reads the request.

Rules that hold for every step:

* a number verified for one person is never verified for another: the second person is refused
  (and told to recover the existing account) and the attempt is audited;
* an unusable gateway answer records no evidence and changes no level (:class:`TryLater`);
* a failed check is recorded as evidence; after ``MAX_FAILURES`` in a day the person waits;
* changing the verified name or document voids the old evidence explicitly (levels.supersede).
"""

from __future__ import annotations

import contextlib
import re
from datetime import datetime, timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from .. import audit
from ..errors import ServiceUnavailable, UserError
from ..extensions import db
from ..models import IdentityDocument, Person
from . import documents, gateway, levels, names, numbers
from .checks import (
    BankCheck,
    CarrierCheck,
    CheckResult,
    FaceCheck,
    FaceRefused,
    Outcome,
    RegistryCheck,
    Subject,
)
from .gateway import GatewayUnavailable

#: failed checks a person may have in FAILURE_WINDOW before being asked to wait
MAX_FAILURES = 5
FAILURE_WINDOW = timedelta(hours=24)

FAILURE_MESSAGES = {
    "registry_2f": _l("The name and number do not match the population registry. Please check "
                      "both against your document and try again."),
    "carrier_3f": _l("This mobile number is not registered to you with its carrier, or it is not "
                     "in service."),
    "bank_4f": _l("The card details do not match the bank's records."),
    "face_liveness": _l("The face check did not succeed. Please try again facing the camera in "
                        "good light, or verify at a service hall."),
}
UNUSABLE_DOCUMENT = _l("This document cannot be verified online. Please bring it to a service "
                       "hall.")


class VerificationFailed(UserError):
    """A definite "no" (or a refusal before asking); `code` is stable for tests and logs."""

    def __init__(self, code: str, public, *, detail: str | None = None):
        super().__init__(public, detail=detail or code)
        self.code = code


class TryLater(ServiceUnavailable):
    public = _l("The verification service is temporarily unavailable. Nothing has been changed; "
                "please try again later.")


def already_verified_elsewhere() -> VerificationFailed:
    return VerificationFailed("already_verified", _l(
        "This document is already verified for another account. Please recover that account "
        "(sign in, or reset its password) instead of verifying the document again."))


# --- helpers -------------------------------------------------------------------------------------

def _throttle(person_id: int, now: datetime) -> None:
    if levels.failures_since(person_id, now - FAILURE_WINDOW) >= MAX_FAILURES:
        audit.record("realname.throttled", person_id=person_id)
        raise VerificationFailed("too_many_attempts", _l(
            "Too many unsuccessful attempts. Please try again tomorrow, or verify at a service "
            "hall."))


def _ask(method: str, person_id: int, run):
    """Call a gateway outside any database transaction: the call may take seconds (timeouts,
    retries), and an open transaction would hold SQLite's write lock, and PostgreSQL row locks,
    all that time. What was read before must be read again afterwards."""
    db.session.commit()
    try:
        return run()
    except GatewayUnavailable as exc:
        audit.record("realname.check_unavailable", person_id=person_id, method=method,
                     reason=exc.reason)
        raise TryLater(detail=f"{method}: {exc.reason}") from exc


def _conclude(person_id: int, number_index: str, result: CheckResult, now: datetime) -> None:
    """Record a definite answer; a "no" ends the step with the person's message."""
    levels.record(person_id, number_index, result, now)
    if result.passed:
        return
    audit.record("realname.check_failed", person_id=person_id, method=result.method,
                 outcome=str(result.outcome))
    if result.outcome in (Outcome.CANCELLED, Outcome.DECEASED) and result.method != "bank_4f":
        raise VerificationFailed(str(result.outcome), UNUSABLE_DOCUMENT)
    raise VerificationFailed(str(result.outcome), FAILURE_MESSAGES[result.method])


def _adapter(check, adapter, settings, name: str):
    """The given adapter, or the configured one (GatewayUnavailable when not configured)."""
    return check if check is not None else adapter(gateway.from_settings(settings, name))


def _holder(index: str, *, lock: bool = False) -> IdentityDocument | None:
    query = select(IdentityDocument).where(IdentityDocument.number_index == index)
    if lock:
        # PostgreSQL: wait for a concurrent verification of the same number to finish and see
        # its outcome (SQLite serialises writers anyway).
        query = query.with_for_update().execution_options(populate_existing=True)
    return db.session.scalar(query)


def _verified_document(person_id: int) -> IdentityDocument:
    own = levels.document_of(person_id)
    if own is None or own.level < 1:
        raise VerificationFailed("needs_level_1", _l(
            "Please verify your name and identity document first."))
    return own


def _subject(document: IdentityDocument) -> Subject:
    return Subject(document.legal_name, documents.reveal_number(document), document.doc_type)


class NumberTaken(Exception):
    """Another person's entry for this number appeared concurrently (the unique index said so)."""


def _store(person_id: int, own: IdentityDocument | None, identity: numbers.IdentityNumber,
           legal_name: str, index: str, now: datetime) -> IdentityDocument:
    try:
        with db.session.begin_nested():
            if own is None:
                own = IdentityDocument(person_id=person_id, created_at=now, level=0)
                db.session.add(own)
            own.doc_type = identity.doc_type
            own.number_sealed = documents.seal_number(identity.number)
            own.number_index = index
            own.number_masked = documents.mask(identity.number)
            own.legal_name = legal_name
            own.birthdate = identity.birthdate
            db.session.flush()
    except IntegrityError as exc:
        raise NumberTaken() from exc
    return own


def _refuse_if_verified_elsewhere(person_id: int, holder: IdentityDocument | None,
                                  doc_type: str) -> None:
    if holder is not None and holder.person_id != person_id and holder.level >= 1:
        audit.record("realname.duplicate_refused", person_id=person_id, doc_type=doc_type,
                     existing_person_id=holder.person_id)
        raise already_verified_elsewhere()


# --- L1: name + number at the population registry ------------------------------------------------

def verify_identity(person_id: int, *, doc_type: str, number: str, name: str, now: datetime,
                    settings, check: RegistryCheck | None = None) -> IdentityDocument:
    """Check name and number with the registry; on a match the person is at least L1.

    Raises numbers.NumberProblem / names.NameProblem for input that cannot be right (nothing is
    asked or stored), VerificationFailed for a definite "no", TryLater for an outage.
    """
    identity = numbers.validate(doc_type, number, now.date())
    legal_name = names.normalise(name)
    index = documents.number_index(identity.number)
    own = levels.document_of(person_id)
    holder = _holder(index)
    _refuse_if_verified_elsewhere(person_id, holder, identity.doc_type)
    if own is not None and own.level >= 1 and own.number_index == index \
            and own.legal_name == legal_name:
        return own
    _throttle(person_id, now)
    # Level 0 is a self-assertion: kept when it displaces nothing verified, so the person's
    # entry survives an outage and the next try starts from it.
    if (own is None or own.level == 0) and (holder is None or holder.person_id == person_id):
        with contextlib.suppress(NumberTaken):  # someone else's entry won the race: ask anyway
            own = _store(person_id, own, identity, legal_name, index, now)
    subject = Subject(legal_name, identity.number, identity.doc_type)
    result = _ask("registry_2f", person_id, lambda: _adapter(
        check, RegistryCheck, settings, "registry").run(subject))
    # Asked outside the transaction: read (and lock) the number's holder and our own entry again.
    holder = _holder(index, lock=True)
    own = levels.document_of(person_id)
    if result.passed:
        _refuse_if_verified_elsewhere(person_id, holder, identity.doc_type)
        if own is not None and own.level >= 1:
            # Verified facts changed: void what the old evidence proved before the new is recorded.
            levels.supersede(own, now, reason=("document_changed" if own.number_index != index
                                               else "name_changed"))
    _conclude(person_id, index, result, now)
    if holder is not None and holder.person_id != person_id:
        # Someone's unverified claim to this number yields to the registry's match.
        audit.record("realname.claim_released", person_id=holder.person_id,
                     released_to_person_id=person_id)
        db.session.delete(holder)
        db.session.flush()
    try:
        own = _store(person_id, own, identity, legal_name, index, now)
    except NumberTaken:
        # A concurrent verification of the same number committed first: nothing of this
        # attempt stands (no supersede, no evidence), only the refusal is audited.
        db.session.rollback()
        audit.record("realname.duplicate_refused", person_id=person_id,
                     doc_type=identity.doc_type, existing_person_id=None)
        raise already_verified_elsewhere() from None
    levels.raise_level(own, result.level, now, method=result.method)
    audit.record("realname.verified", person_id=person_id, method=result.method,
                 doc_type=identity.doc_type, level=own.level)
    return own


# --- L2: possession (carrier three-factor or bank four-factor) ------------------------------------

MOBILE = re.compile(r"^1[3-9]\d{9}$")


def mask_mobile(mobile: str) -> str:
    return mobile[:3] + "****" + mobile[-4:]


def verify_possession(person_id: int, *, kind: str, mobile: str, card_number: str = "",
                      now: datetime, settings, check=None) -> IdentityDocument:
    from stdnum import luhn

    own = _verified_document(person_id)
    mobile = re.sub(r"[\s\-]", "", mobile or "").removeprefix("+86")
    if not MOBILE.match(mobile):
        raise VerificationFailed("mobile_format", _l(
            "Please enter an 11-digit mainland mobile number."))
    factors: dict = {"mobile": mobile}
    detail = {"mobile": mask_mobile(mobile)}
    if kind == "bank":
        card = re.sub(r"[\s\-]", "", card_number or "")
        if not (card.isdigit() and 12 <= len(card) <= 19 and luhn.is_valid(card)):
            raise VerificationFailed("card_format", _l(
                "Please check the card number: it has 12 to 19 digits and its last digit does "
                "not match the others."))
        factors["card_number"] = card
        detail["card"] = "*" + card[-4:]
    elif kind != "carrier":
        raise VerificationFailed("unknown_method", _l("Please choose a way to verify."))
    _throttle(person_id, now)
    adapter = BankCheck if kind == "bank" else CarrierCheck
    subject = _subject(own)
    result = _ask(adapter.method, person_id, lambda: _adapter(
        check, adapter, settings, kind).run(subject, **factors))
    result = CheckResult(result.method, result.outcome, result.checker, result.reference,
                         result.level, {**result.detail, **detail})
    _conclude(person_id, own.number_index, result, now)
    levels.raise_level(own, result.level, now, method=result.method)
    return own


# --- L3: remote face liveness ---------------------------------------------------------------------

def start_face(person_id: int, *, return_url: str, now: datetime, settings,
               check: FaceCheck | None = None) -> tuple[str, str, str]:
    """Open a face check; returns (certify_id, the provider's capture page for the browser, the
    index of the document it is about, which :func:`finish_face` must be given back)."""
    own = _verified_document(person_id)
    _throttle(person_id, now)
    subject, index = _subject(own), own.number_index
    try:
        certify_id, capture_url = _ask("face_liveness", person_id, lambda: _adapter(
            check, FaceCheck, settings, "face").start(subject, return_url))
        return certify_id, capture_url, index
    except FaceRefused as refused:
        # A definite "no" before any capture (no portrait, number cancelled, ...): recorded, and
        # _conclude raises the person's message.
        _conclude(person_id, own.number_index, refused.result, now)
        raise


def finish_face(person_id: int, certify_id: str, *, number_index: str, now: datetime, settings,
                check: FaceCheck | None = None) -> IdentityDocument:
    """Ask for the result of the capture the browser came back from (FacePending if unfinished).
    A capture started for another document (changed meanwhile) proves nothing about this one."""
    own = _verified_document(person_id)
    if own.number_index != number_index:
        raise VerificationFailed("face_stale", _l(
            "Your document changed after the face check started. Please start it again."))
    subject = _subject(own)
    result = _ask("face_liveness", person_id, lambda: _adapter(
        check, FaceCheck, settings, "face").run(subject, certify_id=certify_id))
    own = _verified_document(person_id)
    if own.number_index != number_index:
        raise VerificationFailed("face_stale", _l(
            "Your document changed after the face check started. Please start it again."))
    _conclude(person_id, own.number_index, result, now)
    levels.raise_level(own, result.level, now, method=result.method)
    return own


# --- L4: in person at a service hall ---------------------------------------------------------

def find_for_officer(officer_id: int, *, doc_type: str, number: str, now: datetime
                     ) -> IdentityDocument | None:
    """The document (and so the person) for a number an officer typed or read from a chip."""
    identity = numbers.validate(doc_type, number, now.date())
    document = db.session.scalar(select(IdentityDocument).where(
        IdentityDocument.number_index == documents.number_index(identity.number)))
    audit.record("realname.officer_lookup", person_id=officer_id, doc_type=doc_type,
                 found_person_id=document.person_id if document else None)
    return document


def record_in_person(officer_id: int, document_id: int, *, reference: str, now: datetime
                     ) -> IdentityDocument:
    document = db.session.get(IdentityDocument, document_id)
    if document is None:
        raise VerificationFailed("no_document", _l("No such document."))
    if document.person_id == officer_id:
        raise VerificationFailed("own_account", _l(
            "Officers cannot verify their own account; please ask a colleague."))
    reference = (reference or "").strip()
    if not reference or len(reference) > 64:
        raise VerificationFailed("reference", _l(
            "Please enter the reference of the chip read (at most 64 characters)."))
    result = CheckResult("in_person", Outcome.MATCH, f"officer:{officer_id}", reference, 4,
                         {"chip_read": True})
    levels.record(document.person_id, document.number_index, result, now)
    levels.raise_level(document, 4, now, method="in_person")
    audit.record("realname.in_person_verified", person_id=document.person_id,
                 officer_person_id=officer_id)
    return document


def person_of(document: IdentityDocument) -> Person | None:
    return db.session.get(Person, document.person_id)
