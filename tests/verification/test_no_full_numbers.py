"""No log line and no audit record ever holds a full identity number, whatever happens: matches,
failures, outages, duplicates, officer lookups, token issuance with verified_claims."""

from __future__ import annotations

import json
import logging

from sqlalchemy import select

from idp.extensions import db
from idp.models import AuditEvent, VerificationEvidence

from ..helpers import Flow, bearer, signed_in
from .conftest import CANCELLED, ZHANG, verify_form
from .test_hall import grant_role, lookup
from .test_login_flow import portal, verified_claims_request

NUMBERS = (ZHANG["number"], CANCELLED["number"], "110105199003070018")


def test_no_log_line_or_audit_record_holds_a_full_number(app, client, make_person,
                                                         make_client, sims, caplog):
    caplog.set_level(logging.DEBUG)
    signed_in(client, make_person)
    verify_form(client, CANCELLED)                              # a definite "no"
    verify_form(client, {**ZHANG, "number": NUMBERS[2]})        # refused before asking
    sims["registry"].admin(mode="malformed")
    verify_form(client, ZHANG)                                  # an outage
    sims["registry"].admin(mode="normal")
    verify_form(client, ZHANG)                                  # a match
    rp = portal(app, make_client)
    tokens = Flow(client, rp).tokens(claims=verified_claims_request())
    client.get("/userinfo", headers=bearer(tokens["access_token"]))
    other = app.test_client()
    signed_in(other, make_person)
    verify_form(other, ZHANG)                                   # a duplicate
    officer = app.test_client()
    officer_person = signed_in(officer, make_person)
    grant_role(app, officer_person.id)
    lookup(officer, ZHANG["number"])                            # an officer lookup

    text = caplog.text
    with app.app_context():
        audit = [json.dumps([e.event, e.detail, e.client_id, e.sid], ensure_ascii=False)
                 for e in db.session.scalars(select(AuditEvent))]
        evidence = [json.dumps([e.reference, e.detail, e.number_index], ensure_ascii=False)
                    for e in db.session.scalars(select(VerificationEvidence))]
    assert any("realname.duplicate_refused" in row for row in audit)
    assert any("realname.check_unavailable" in row for row in audit)
    assert any("realname.officer_lookup" in row for row in audit)
    assert "gateway registry" in text  # the outage was logged, without the number
    for number in NUMBERS:
        for variant in (number, number[:6] + " " + number[6:14] + " " + number[14:]):
            assert variant not in text
            assert not any(variant in row for row in audit)
            assert not any(variant in row for row in evidence)
