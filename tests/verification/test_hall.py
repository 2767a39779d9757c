"""In-person verification (L4) by a service-hall officer: only the role reaches the page, the
person is found by document number, and every lookup and recording is audited."""

from __future__ import annotations

from sqlalchemy import select

from idp.clock import utcnow
from idp.extensions import db
from idp.models import AuditEvent, IdentityDocument, PersonRole, VerificationEvidence

from ..helpers import as_two_factor, csrf_token, signed_in
from .conftest import ZHANG, verify_form


def grant_role(app, person_id, role="hall_officer"):
    """Give the role; the officer's sessions count as two-factor (idp/authz.py demands it)."""
    from types import SimpleNamespace

    with app.app_context():
        db.session.add(PersonRole(person_id=person_id, role=role, granted_at=utcnow()))
        db.session.commit()
    as_two_factor(app, SimpleNamespace(id=person_id))


def lookup(http, number, doc_type="cn_resident_id"):
    page = http.get("/staff/hall")
    assert page.status_code == 200
    return http.post("/staff/hall", data={"csrf_token": csrf_token(page.get_data(as_text=True)),
                                          "doc_type": doc_type, "number": number})


def test_only_hall_officers_reach_the_page(app, client, make_person):
    person = signed_in(client, make_person)
    assert client.get("/staff/hall").status_code == 403
    grant_role(app, person.id, "auditor")
    assert client.get("/staff/hall").status_code == 403
    assert app.test_client().get("/staff/hall").status_code == 302  # to the login page


def test_an_officer_records_an_in_person_verification(app, client, make_person, sims):
    citizen = signed_in(client, make_person)
    verify_form(client, ZHANG)
    desk = app.test_client()
    officer = signed_in(desk, make_person)
    grant_role(app, officer.id)
    found = lookup(desk, "110105 19900307 0017")
    page = found.get_data(as_text=True)
    assert found.status_code == 200
    assert "1101**********0017" in page and ZHANG["number"] not in page
    assert citizen.username in page
    recorded = desk.post("/staff/hall/record", data={
        "csrf_token": csrf_token(page), "document_id": _document_id(app, citizen.id),
        "reference": "chip-20261122-0001", "confirmed": "yes"})
    assert recorded.status_code == 303
    with app.app_context():
        doc = db.session.scalar(select(IdentityDocument).where(
            IdentityDocument.person_id == citizen.id))
        assert doc.level == 4
        evidence = db.session.scalars(select(VerificationEvidence).order_by(
            VerificationEvidence.id.desc())).first()
        assert (evidence.method, evidence.result, evidence.level, evidence.checker,
                evidence.reference) == ("in_person", "match", 4, f"officer:{officer.id}",
                                        "chip-20261122-0001")
        events = {(e.event, e.person_id): e.detail for e in db.session.scalars(select(AuditEvent))}
    assert events[("realname.officer_lookup", officer.id)]["found_person_id"] == citizen.id
    assert events[("realname.in_person_verified", citizen.id)]["officer_person_id"] == officer.id


def _document_id(app, person_id):
    with app.app_context():
        return db.session.scalar(select(IdentityDocument.id).where(
            IdentityDocument.person_id == person_id))


def test_officers_cannot_verify_themselves_and_must_confirm(app, client, make_person, sims):
    officer = signed_in(client, make_person)
    verify_form(client, ZHANG)
    grant_role(app, officer.id)
    page = lookup(client, ZHANG["number"]).get_data(as_text=True)
    own = client.post("/staff/hall/record", data={
        "csrf_token": csrf_token(page), "document_id": _document_id(app, officer.id),
        "reference": "chip-1", "confirmed": "yes"})
    assert own.status_code == 400
    unconfirmed = client.post("/staff/hall/record", data={
        "csrf_token": csrf_token(page), "document_id": _document_id(app, officer.id),
        "reference": "chip-1"})
    assert unconfirmed.status_code == 400
    with app.app_context():
        assert db.session.scalar(select(IdentityDocument.level)) == 1


def test_unknown_and_invalid_numbers(app, client, make_person):
    officer = signed_in(client, make_person)
    grant_role(app, officer.id)
    assert lookup(client, ZHANG["number"]).status_code == 404
    assert lookup(client, "110105199003070018").status_code == 400
