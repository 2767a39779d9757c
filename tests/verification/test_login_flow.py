"""Verify once, inside the login flow: a client's minimum level, acr_values and the claims
parameter send the person through the missing step only; tokens and UserInfo carry
real_name_level; verified_claims are masked unless the client is approved and the person gave
(and has not withdrawn) a separate consent."""

from __future__ import annotations

import json
from urllib.parse import parse_qs, urlsplit

from joserfc import jwt
from joserfc.jwk import KeySet
from sqlalchemy import select

from idp.extensions import db
from idp.models import AuditEvent, Client

from ..helpers import Flow, bearer, csrf_token, follow_local, query, signed_in
from .conftest import ZHANG, verify_form


def portal(app, make_client, **fields):
    """A first-party portal (no consent page) with the real-name settings in `fields`."""
    return make_client(first_party=True, **fields)


def decode(client, token: str) -> dict:
    keys = KeySet.import_key_set(client.get("/jwks").get_json())
    return jwt.decode(token, keys, algorithms=["RS256", "ES256", "PS256"]).claims


def to_verify_page(client, flow, **params):
    """Authorize and follow the IdP's own redirects until the verification page."""
    response = flow.authorize(**params)
    assert response.status_code in (302, 303), response.status_code
    location = response.headers["Location"]
    if location.startswith("/authorize/continue/"):
        response = client.get(location)
        location = response.headers["Location"]
    assert location.startswith("/verify?"), location
    return location, {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}


def test_a_client_minimum_level_asks_for_verification_once(app, client, make_person,
                                                           make_client, sims):
    portal_a = portal(app, make_client, min_real_name_level=1)
    portal_b = portal(app, make_client, min_real_name_level=1)
    signed_in(client, make_person)
    flow = Flow(client, portal_a)
    _location, params = to_verify_page(client, flow)
    assert params["level"] == "1" and params["next"].startswith("/authorize/continue/")
    assert "client" not in params
    done = verify_form(client, ZHANG, level=1, next_path=params["next"])
    assert done.status_code == 303
    response = follow_local(client, done)
    code = query(response)["code"]
    tokens = flow.token(code).get_json()
    assert decode(client, tokens["id_token"])["real_name_level"] == 1
    assert decode(client, tokens["access_token"])["real_name_level"] == 1
    info = client.get("/userinfo", headers=bearer(tokens["access_token"])).get_json()
    assert info["real_name_level"] == 1
    # Portal B needs the same level: nothing is asked.
    flow_b = Flow(client, portal_b)
    response = flow_b.authorize()
    assert response.status_code in (302, 303) and "code=" in response.headers["Location"]


def test_a_person_below_level_3_is_asked_only_for_the_face_step(app, client, make_person,
                                                                make_client, sims):
    portal_c = portal(app, make_client, min_real_name_level=3)
    signed_in(client, make_person)
    verify_form(client, ZHANG)
    location, params = to_verify_page(client, Flow(client, portal_c))
    assert params["level"] == "3"
    page = client.get(location).get_data(as_text=True)
    assert 'id="verify-face"' in page and 'name="number"' not in page


def test_prompt_none_below_the_level_is_interaction_required(app, client, make_person,
                                                            make_client, sims):
    rp = portal(app, make_client, min_real_name_level=1)
    signed_in(client, make_person)
    response = Flow(client, rp).authorize(prompt="none")
    assert response.status_code in (302, 303)
    assert query(response)["error"] == "interaction_required"


def test_acr_values_ask_for_a_level(app, client, make_person, make_client, sims):
    rp = portal(app, make_client)
    signed_in(client, make_person)
    flow = Flow(client, rp)
    assert "code=" in flow.authorize().headers["Location"]  # level 0 is enough by default
    _, params = to_verify_page(client, flow, acr_values="urn:tongban:aal1 urn:tongban:realname:L2")
    assert params["level"] == "2"


def test_the_claims_parameter_asks_for_a_level(app, client, make_person, make_client, sims):
    rp = portal(app, make_client)
    signed_in(client, make_person)
    claims = {"id_token": {"real_name_level": {"essential": True, "values": ["L3", "L1"]}}}
    _, params = to_verify_page(client, Flow(client, rp), claims=json.dumps(claims))
    assert params["level"] == "1"  # the lowest acceptable value


def verified_claims_request(member="userinfo") -> str:
    return json.dumps({member: {"verified_claims": {
        "verification": {"trust_framework": None},
        "claims": {"name": None, "birthdate": None}}}})


def test_verified_claims_are_masked_for_clients_not_approved(app, client, make_person,
                                                            make_client, sims):
    rp = portal(app, make_client)
    signed_in(client, make_person)
    flow = Flow(client, rp)
    _, params = to_verify_page(client, flow, claims=verified_claims_request())
    assert params["level"] == "1" and "client" not in params
    response = follow_local(client, verify_form(client, ZHANG, next_path=params["next"]))
    tokens = flow.token(query(response)["code"]).get_json()
    info = client.get("/userinfo", headers=bearer(tokens["access_token"])).get_json()
    verified = info["verified_claims"]
    assert verified["verification"]["trust_framework"] == \
        "urn:tongban:trust_framework:cn_realname"
    assert verified["verification"]["assurance_level"] == "L1"
    assert verified["claims"] == {"name": "张*", "birthdate": "1990-03-07"}
    evidence = verified["verification"]["evidence"][0]
    assert evidence["type"] == "document"
    assert evidence["document_details"] == {"type": "idcard",
                                            "document_number": "1101**********0017"}
    assert [c["check_method"] for c in evidence["check_details"]] == ["data"]
    assert evidence["check_details"][0]["organization"] == "population_registry"
    assert evidence["check_details"][0]["time"].endswith("Z")
    assert "verified_claims" not in decode(client, tokens["id_token"])


def test_full_values_need_approval_and_a_separate_consent(app, client, make_person,
                                                         make_client, sims):
    rp = portal(app, make_client, full_identity_approved=True)
    person = signed_in(client, make_person)
    verify_form(client, ZHANG)
    flow = Flow(client, rp)
    location, params = to_verify_page(client, flow, claims=verified_claims_request("id_token"))
    assert params["client"] == rp.client_id
    page = client.get(location)
    assert 'id="verify-disclosure"' in page.get_data(as_text=True)
    allowed = client.post("/verify/disclosure", data={
        "csrf_token": csrf_token(page.get_data(as_text=True)), "decision": "allow", **params})
    response = follow_local(client, allowed)
    tokens = flow.token(query(response)["code"]).get_json()
    claims = decode(client, tokens["id_token"])["verified_claims"]
    assert claims["claims"]["name"] == "张三"
    assert claims["verification"]["evidence"][0]["document_details"]["document_number"] == \
        ZHANG["number"]
    # Not asked again; after withdrawal the values are masked (and the question comes back).
    assert "code=" in flow.authorize(claims=verified_claims_request("id_token")).headers[
        "Location"]
    with app.app_context():
        from idp.models import DisclosureConsent

        consent_id = db.session.scalar(select(DisclosureConsent.id))
    home = client.get("/").get_data(as_text=True)
    assert "Withdraw" in home or "撤回" in home
    client.post(f"/account/disclosures/{consent_id}/withdraw",
                data={"csrf_token": csrf_token(home)})
    response = Flow(client, rp).authorize(prompt="none", claims=verified_claims_request(
        "id_token"))
    second = Flow(client, rp)
    code = second.code(claims=verified_claims_request("id_token"), prompt="none")
    tokens = second.token(code).get_json()
    claims = decode(client, tokens["id_token"])["verified_claims"]
    assert claims["claims"]["name"] == "张*"
    assert response.status_code in (302, 303)
    with app.app_context():
        events = [e.event for e in db.session.scalars(select(AuditEvent).where(
            AuditEvent.person_id == person.id))]
    assert "disclosure.granted" in events and "disclosure.withdrawn" in events


def test_declining_the_disclosure_gives_masked_values_and_is_remembered(app, client,
                                                                       make_person,
                                                                       make_client, sims):
    rp = portal(app, make_client, full_identity_approved=True)
    signed_in(client, make_person)
    verify_form(client, ZHANG)
    flow = Flow(client, rp)
    location, params = to_verify_page(client, flow, claims=verified_claims_request())
    page = client.get(location)
    declined = client.post("/verify/disclosure", data={
        "csrf_token": csrf_token(page.get_data(as_text=True)), "decision": "deny", **params})
    tokens = flow.token(query(follow_local(client, declined))["code"]).get_json()
    info = client.get("/userinfo", headers=bearer(tokens["access_token"])).get_json()
    assert info["verified_claims"]["claims"]["name"] == "张*"
    assert "code=" in Flow(client, rp).authorize(
        claims=verified_claims_request()).headers["Location"]


def test_disclosure_cannot_be_granted_to_an_unapproved_client(app, client, make_person,
                                                             make_client, sims):
    rp = portal(app, make_client)
    signed_in(client, make_person)
    page = client.get("/")
    response = client.post("/verify/disclosure", data={
        "csrf_token": csrf_token(page.get_data(as_text=True)), "decision": "allow",
        "client": rp.client_id, "level": 1, "next": "/"})
    assert response.status_code == 400


def test_another_trust_framework_gets_no_verified_claims(app, client, make_person, make_client,
                                                        sims):
    rp = portal(app, make_client)
    signed_in(client, make_person)
    verify_form(client, ZHANG)
    request = {"id_token": {"verified_claims": {"verification": {"trust_framework": {
        "value": "eidas"}}, "claims": {"name": None}}}}
    flow = Flow(client, rp)
    tokens = flow.tokens(claims=json.dumps(request))
    claims = decode(client, tokens["id_token"])
    assert "verified_claims" not in claims and claims["real_name_level"] == 1


def test_discovery_advertises_identity_assurance(client):
    meta = client.get("/.well-known/openid-configuration").get_json()
    assert meta["verified_claims_supported"] is True
    assert meta["trust_frameworks_supported"] == ["urn:tongban:trust_framework:cn_realname"]
    assert meta["evidence_supported"] == ["document"]
    assert meta["claims_in_verified_claims_supported"] == ["name", "birthdate"]
    assert "urn:tongban:realname:L1" in meta["acr_values_supported"]
    assert {"real_name_level", "verified_claims"} <= set(meta["claims_supported"])


def test_operators_set_the_level_and_the_approval(app):
    runner = app.test_cli_runner()
    result = runner.invoke(args=[
        "clients", "create", "--name", "公积金", "--redirect-uri", "https://gjj.example/cb",
        "--min-real-name-level", "3", "--full-identity-approved", "--json"])
    assert result.exit_code == 0, result.output
    created = json.loads(result.output.strip().splitlines()[-1])
    assert created["min_real_name_level"] == 3 and created["full_identity_approved"] is True
    with app.app_context():
        row = db.session.scalar(select(Client).where(Client.client_id == created["client_id"]))
        assert (row.min_real_name_level, row.full_identity_approved) == (3, True)
    refused = runner.invoke(args=["clients", "create", "--name", "x", "--redirect-uri",
                                  "https://x.example/cb", "--min-real-name-level", "5"])
    assert refused.exit_code != 0


def test_level_4_sends_the_person_to_a_service_hall(app, client, make_person, make_client,
                                                   sims):
    rp = portal(app, make_client, min_real_name_level=4)
    signed_in(client, make_person)
    verify_form(client, ZHANG)
    location, params = to_verify_page(client, Flow(client, rp))
    assert params["level"] == "4"
    page = client.get(location).get_data(as_text=True)
    assert 'id="verify-hall"' in page and "<form" not in page.split('id="verify-hall"')[1]


def test_third_party_consent_lists_verified_claims(app, client, make_person, make_client, sims):
    rp = make_client()
    signed_in(client, make_person)
    verify_form(client, ZHANG)
    response = follow_local(client, Flow(client, rp).authorize(
        claims=verified_claims_request()), consent=False)
    assert response.request.path.startswith("/consent/")
    assert 'id="grant-verified-claims"' in response.get_data(as_text=True)


def test_the_disclosure_question_needs_that_clients_pending_request(app, client, make_person,
                                                                   make_client, sims):
    rp = portal(app, make_client, full_identity_approved=True)
    signed_in(client, make_person)
    verify_form(client, ZHANG)
    page = client.get("/")
    # A link from elsewhere, outside any sign-in of this client: no question, no grant.
    assert client.get("/verify", query_string={"level": 1, "next": "/",
                                               "client": rp.client_id}).status_code == 302
    response = client.post("/verify/disclosure", data={
        "csrf_token": csrf_token(page.get_data(as_text=True)), "decision": "allow",
        "client": rp.client_id, "level": 1, "next": "/"})
    assert response.status_code == 400
    with app.app_context():
        from idp.models import DisclosureConsent

        assert db.session.scalar(select(DisclosureConsent)) is None


def test_verification_forms_need_the_csrf_token(app, client, make_person, sims):
    signed_in(client, make_person)
    served = sims["registry"].admin()["served"]
    response = client.post("/verify/identity", data={
        "doc_type": "cn_resident_id", "name": ZHANG["name"], "number": ZHANG["number"]})
    assert response.status_code == 400
    assert sims["registry"].admin()["served"] == served
    with app.app_context():
        from idp.models import IdentityDocument

        assert db.session.scalar(select(IdentityDocument)) is None
