"""The verification steps through the citizen's pages: levels, evidence, one person per verified
number, re-verification on change, outages that change nothing, and bounded attempts."""

from __future__ import annotations

import requests
from sqlalchemy import select

from idp.clock import utcnow
from idp.extensions import db
from idp.models import AuditEvent, IdentityDocument, VerificationEvidence

from ..helpers import csrf_token, signed_in
from .conftest import AYGUL, CANCELLED, DECEASED, SPOOF, ZHANG, ZHAO, problem, verify_form


def state(app, person_id):
    """(level, legal name, evidence rows as (method, result, level), audit event names)."""
    with app.app_context():
        doc = db.session.scalar(select(IdentityDocument).where(
            IdentityDocument.person_id == person_id))
        evidence = [(e.method, e.result, e.level) for e in db.session.scalars(
            select(VerificationEvidence).where(VerificationEvidence.person_id == person_id)
            .order_by(VerificationEvidence.id))]
        events = [e.event for e in db.session.scalars(
            select(AuditEvent).where(AuditEvent.person_id == person_id).order_by(AuditEvent.id))]
        return (doc.level if doc else None, doc.legal_name if doc else None, evidence, events)


def served(sim) -> int:
    return sim.admin()["served"]


def test_registry_match_reaches_level_1_with_its_evidence(app, client, make_person, sims):
    person = signed_in(client, make_person)
    response = verify_form(client, ZHANG, next_path="/")
    assert response.status_code == 303 and response.headers["Location"].startswith("/verify?")
    assert client.get(response.headers["Location"]).headers["Location"] == "/"
    level, name, evidence, events = state(app, person.id)
    assert (level, name) == (1, "张三")
    assert evidence == [("registry_2f", "match", 1)]
    assert "realname.level_raised" in events and "realname.verified" in events
    with app.app_context():
        doc = db.session.scalar(select(IdentityDocument).where(
            IdentityDocument.person_id == person.id))
        row = db.session.scalar(select(VerificationEvidence).where(
            VerificationEvidence.person_id == person.id))
        assert doc.number_masked == "1101**********0017"
        assert ZHANG["number"] not in doc.number_sealed
        assert doc.birthdate.isoformat() == "1990-03-07"
        assert doc.verified_at is not None
        assert row.checker == "registry" and row.reference and row.checked_at


def test_no_match_is_recorded_and_the_person_stays_at_level_0(app, client, make_person, sims):
    person = signed_in(client, make_person)
    response = verify_form(client, {**ZHANG, "name": "张叁"})
    assert response.status_code == 400 and problem(response) == "no_match"
    level, _, evidence, events = state(app, person.id)
    assert level == 0  # the self-asserted, format-checked entry
    assert evidence == [("registry_2f", "no_match", None)]
    assert "realname.check_failed" in events


def test_cancelled_and_deceased_numbers(app, client, make_person, sims):
    person = signed_in(client, make_person)
    for record, outcome in ((CANCELLED, "cancelled"), (DECEASED, "deceased")):
        response = verify_form(client, record)
        assert response.status_code == 400 and problem(response) == outcome
        assert state(app, person.id)[2][-1] == ("registry_2f", outcome, None)


def test_an_invalid_number_is_refused_before_any_outside_call(app, client, make_person, sims):
    person = signed_in(client, make_person)
    before = served(sims["registry"])
    response = verify_form(client, {**ZHANG, "number": ZHANG["number"][:-1] + "9"})
    assert response.status_code == 400 and problem(response) == "check_character"
    assert served(sims["registry"]) == before
    assert state(app, person.id)[:3] == (None, None, [])


def test_an_outage_records_nothing_and_keeps_the_level(app, client, make_person, sims):
    person = signed_in(client, make_person)
    verify_form(client, ZHANG)
    sims["registry"].admin(mode="down")
    response = verify_form(client, AYGUL)  # a change the registry cannot confirm now
    assert response.status_code == 503 and problem(response) == "try_later"
    level, name, evidence, events = state(app, person.id)
    assert (level, name) == (1, "张三")
    assert evidence == [("registry_2f", "match", 1)]
    assert events[-1] == "realname.check_unavailable"


def test_an_outage_never_raises_a_level(app, client, make_person, sims):
    person = signed_in(client, make_person)
    for mode in ("down", "malformed", "bad_signature", "rate_limited", "timeout"):
        sims["registry"].admin(mode=mode)
        assert verify_form(client, ZHANG).status_code == 503, mode
    assert state(app, person.id)[0] == 0
    assert state(app, person.id)[2] == []


def test_a_second_account_cannot_verify_a_verified_number(app, client, make_person, sims):
    first = signed_in(client, make_person)
    verify_form(client, ZHANG)
    other = app.test_client()
    second = signed_in(other, make_person)
    before = served(sims["registry"])
    response = verify_form(other, ZHANG)
    assert response.status_code == 400 and problem(response) == "already_verified"
    assert served(sims["registry"]) == before
    assert state(app, second.id)[0] is None
    assert "realname.duplicate_refused" in state(app, second.id)[3]
    assert state(app, first.id)[0] == 1
    with app.app_context():
        row = db.session.scalar(select(AuditEvent).where(
            AuditEvent.event == "realname.duplicate_refused"))
        assert row.detail["existing_person_id"] == first.id


def test_an_unverified_claim_yields_to_a_registry_match(app, client, make_person, sims):
    squatter = signed_in(client, make_person)
    verify_form(client, {**ZHANG, "name": "冒名"})  # stored at level 0, registry says no
    assert state(app, squatter.id)[0] == 0
    owner_browser = app.test_client()
    owner = signed_in(owner_browser, make_person)
    assert verify_form(owner_browser, ZHANG).status_code == 303
    assert state(app, owner.id)[0] == 1
    assert state(app, squatter.id)[0] is None
    assert "realname.claim_released" in state(app, squatter.id)[3]


def test_changing_the_document_reverifies_and_is_recorded(app, client, make_person, sims):
    person = signed_in(client, make_person)
    verify_form(client, ZHANG, level=2)
    possession(client, kind="carrier", mobile=ZHANG["mobile"], level=2)
    assert state(app, person.id)[0] == 2
    response = verify_form(client, AYGUL)
    assert response.status_code == 303
    level, name, evidence, events = state(app, person.id)
    assert (level, name) == (1, "阿依古丽·买买提")  # the carrier check was about the old facts
    assert evidence[-2:] == [("superseded", "superseded", None), ("registry_2f", "match", 1)]
    assert "realname.level_reset" in events
    with app.app_context():
        reset = db.session.scalar(select(AuditEvent).where(
            AuditEvent.event == "realname.level_reset"))
        assert reset.detail == {"reason": "document_changed", "level_before": 2, "level": 0}


def test_verifying_the_same_facts_again_asks_nobody(app, client, make_person, sims):
    signed_in(client, make_person)
    verify_form(client, ZHANG)
    before = served(sims["registry"])
    assert verify_form(client, {**ZHANG, "name": " 张三 "}).status_code == 303
    assert served(sims["registry"]) == before


def test_attempts_are_bounded(app, client, make_person, sims):
    person = signed_in(client, make_person)
    for _ in range(5):
        assert verify_form(client, {**ZHANG, "name": "张叁"}).status_code == 400
    before = served(sims["registry"])
    response = verify_form(client, ZHANG)
    assert response.status_code == 400 and problem(response) == "too_many_attempts"
    assert served(sims["registry"]) == before
    assert state(app, person.id)[3][-1] == "realname.throttled"


# --- level 2 --------------------------------------------------

def possession(http, *, kind, mobile, card="", level=2, next_path="/"):
    page = http.get("/verify", query_string={"level": level, "next": next_path})
    return http.post("/verify/possession", data={
        "csrf_token": csrf_token(page.get_data(as_text=True)), "level": level,
        "next": next_path, "kind": kind, "mobile": mobile, "card_number": card})


def test_carrier_three_factor_reaches_level_2(app, client, make_person, sims):
    person = signed_in(client, make_person)
    verify_form(client, ZHANG, level=2)
    response = possession(client, kind="carrier", mobile="+86 138-0013-8000")
    assert response.status_code == 303
    assert state(app, person.id)[0] == 2
    with app.app_context():
        row = db.session.scalars(select(VerificationEvidence).order_by(
            VerificationEvidence.id.desc())).first()
        assert (row.method, row.result, row.detail["mobile"]) == ("carrier_3f", "match",
                                                                  "138****8000")


def test_bank_four_factor_reaches_level_2(app, client, make_person, sims):
    person = signed_in(client, make_person)
    verify_form(client, ZHAO, level=2)
    assert possession(client, kind="bank", mobile=ZHAO["mobile"],
                      card=ZHAO["card"]).status_code == 303
    assert state(app, person.id)[0] == 2
    assert state(app, person.id)[2][-1] == ("bank_4f", "match", 2)


def test_possession_failures(app, client, make_person, sims):
    person = signed_in(client, make_person)
    refused = possession(client, kind="carrier", mobile=ZHAO["mobile"])
    assert refused.status_code == 400 and problem(refused) == "needs_level_1"
    assert state(app, person.id)[0] is None  # level 1 comes first: nothing was asked
    verify_form(client, ZHAO, level=2)
    response = possession(client, kind="carrier", mobile=ZHAO["suspended_mobile"])
    assert response.status_code == 400 and problem(response) == "rejected"
    response = possession(client, kind="carrier", mobile=ZHANG["mobile"])
    assert response.status_code == 400 and problem(response) == "no_match"
    before = served(sims["bank"])
    bad_luhn = ZHAO["card"][:-1] + str((int(ZHAO["card"][-1]) + 1) % 10)
    response = possession(client, kind="bank", mobile=ZHAO["mobile"], card=bad_luhn)
    assert response.status_code == 400 and problem(response) == "card_format"
    assert served(sims["bank"]) == before
    assert [e[1] for e in state(app, person.id)[2]] == ["match", "rejected", "no_match"]
    assert state(app, person.id)[0] == 1


# --- level 3 --------------------------------------------------

def face(http, sims, level=3):
    """Start the face step, do the capture on the provider's page, come back; the response."""
    page = http.get("/verify", query_string={"level": level, "next": "/"})
    assert 'id="verify-face"' in page.get_data(as_text=True)
    started = http.post("/verify/face", data={
        "csrf_token": csrf_token(page.get_data(as_text=True)), "level": level, "next": "/"})
    if started.status_code != 303:
        return started
    capture = started.headers["Location"]
    assert capture.startswith(sims["face"].url + "/h5/capture/")
    assert requests.get(capture, timeout=5).status_code == 200
    back = requests.post(capture, data={}, allow_redirects=False, timeout=5)
    assert back.status_code == 303
    location = back.headers["Location"]
    assert location.startswith("http://127.0.0.1:5000/verify/face/return?certify_id=")
    return http.get(location.removeprefix("http://127.0.0.1:5000"))


def test_face_liveness_reaches_level_3(app, client, make_person, sims):
    person = signed_in(client, make_person)
    verify_form(client, ZHANG, level=3)
    response = face(client, sims)
    assert response.status_code == 303
    assert state(app, person.id)[0] == 3
    assert state(app, person.id)[2][-1] == ("face_liveness", "match", 3)


def test_a_failed_liveness_check_keeps_level_1(app, client, make_person, sims):
    person = signed_in(client, make_person)
    verify_form(client, SPOOF, doc_type="foreign_permanent_residence", level=3)
    response = face(client, sims)
    assert response.status_code == 400 and problem(response) == "rejected"
    assert state(app, person.id)[0] == 1
    assert state(app, person.id)[2][-1] == ("face_liveness", "rejected", None)


def test_a_face_result_for_another_check_is_refused(app, client, make_person, sims):
    person = signed_in(client, make_person)
    verify_form(client, ZHANG, level=3)
    response = client.get("/verify/face/return", query_string={"certify_id": "fc" + "0" * 32})
    assert response.status_code == 400 and problem(response) == "face_not_started"
    assert state(app, person.id)[0] == 1
    assert state(app, person.id)[3][-1] == "realname.face_return_rejected"


def test_face_outage(app, client, make_person, sims):
    person = signed_in(client, make_person)
    verify_form(client, ZHANG, level=3)
    sims["face"].admin(mode="down")
    response = face(client, sims)
    assert response.status_code == 503 and problem(response) == "try_later"
    assert state(app, person.id)[0] == 1


def test_a_face_check_started_for_another_document_proves_nothing(app, client, make_person,
                                                                 sims):
    person = signed_in(client, make_person)
    verify_form(client, ZHANG, level=3)
    page = client.get("/verify", query_string={"level": 3, "next": "/"})
    started = client.post("/verify/face", data={
        "csrf_token": csrf_token(page.get_data(as_text=True)), "level": 3, "next": "/"})
    capture = started.headers["Location"]
    verify_form(client, AYGUL)  # the document changes while the capture is open
    back = requests.post(capture, data={}, allow_redirects=False, timeout=5)
    response = client.get(back.headers["Location"].removeprefix("http://127.0.0.1:5000"))
    assert response.status_code == 400 and problem(response) == "face_stale"
    level, name, evidence, _ = state(app, person.id)
    assert (level, name) == (1, "阿依古丽·买买提")
    assert evidence[-1] == ("registry_2f", "match", 1)


def test_an_unconfigured_gateway_is_an_outage(app, make_person, sims):
    from idp.settings import Settings
    from idp.verification import service

    person = make_person()
    with app.test_request_context():
        try:
            service.verify_identity(person.id, doc_type="cn_resident_id",
                                    number=ZHANG["number"], name=ZHANG["name"],
                                    now=utcnow(), settings=Settings())
        except service.TryLater:
            db.session.commit()
        else:
            raise AssertionError("verified without a registry")
    level, _, evidence, events = state(app, person.id)
    assert (level, evidence) == (0, [])
    assert events[-1] == "realname.check_unavailable"
    with app.app_context():
        row = db.session.scalar(select(AuditEvent).where(
            AuditEvent.event == "realname.check_unavailable"))
        assert row.detail["reason"] == "not_configured"


def test_two_accounts_verifying_one_number_at_once(app, make_person, sims):
    """Whoever commits first keeps the number; the other is refused, never both verified and
    never a verified entry released."""
    import threading

    sims["registry"].admin(latency_ms=300)
    browsers = [app.test_client(), app.test_client()]
    people = [signed_in(b, make_person) for b in browsers]
    answers: list = [None, None]

    def run(i):
        answers[i] = verify_form(browsers[i], ZHANG)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    statuses = sorted(a.status_code for a in answers)
    assert statuses == [303, 400], statuses
    loser = answers[0] if answers[0].status_code == 400 else answers[1]
    assert problem(loser) == "already_verified"
    levels = sorted(state(app, p.id)[0] or 0 for p in people)
    assert levels == [0, 1]
