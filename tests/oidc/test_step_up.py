"""acr/amr and step-up (OIDC Core §3.1.2.1 acr_values, §2 acr/amr/auth_time; RFC 8176 amr):
a client's acr_values or min_acr that the session does not meet sends the person to a page that
asks only for the missing factor; the session's acr rises (new cookie value, same sid), auth_time
stays the first factor's, and other clients of the session are unaffected."""

from __future__ import annotations

import json

import pytest
from joserfc import jwt
from joserfc.jwk import KeySet

from ..conftest import PASSWORD
from ..factors import audit_events, code_at, enrol_totp, grant_role, recovery_codes_for
from ..helpers import Flow, csrf_token, follow_local, login, query

AAL1, AAL2, AAL3 = "urn:tongban:aal1", "urn:tongban:aal2", "urn:tongban:aal3"


def id_token_claims(http, tokens) -> dict:
    jwks = KeySet.import_key_set(http.get("/jwks").get_json())
    return jwt.decode(tokens["id_token"], jwks).claims


def session_cookie(http) -> str:
    cookie = http.get_cookie("tongban_session")
    return cookie.value if cookie else ""


def submit_code(http, page, code, method="totp"):
    path = page.request.full_path
    return http.post(path, data={"csrf_token": csrf_token(page.get_data(as_text=True)),
                                 "method": method, "code": code})


def test_portal_b_requiring_aal2_asks_only_the_second_factor(client, app, make_person,
                                                            make_client, frozen_clock):
    portal_a = make_client(name="Portal A", first_party=True)
    portal_b = make_client(name="Portal B", first_party=True, min_acr=AAL2,
                           redirect_uris=("https://b.example/cb",))
    person = make_person()
    secret = enrol_totp(app, person)
    assert login(client, person.username).status_code == 303
    first_cookie = session_cookie(client)

    flow_a = Flow(client, portal_a)
    tokens_a = flow_a.tokens()
    claims_a = id_token_claims(client, tokens_a)
    assert claims_a["acr"] == AAL1 and claims_a["amr"] == ["pwd"]

    frozen_clock.advance(90)
    flow_b = Flow(client, portal_b)
    response = flow_b.authorize()
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login/verify?")
    page = client.get(response.headers["Location"])
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert 'id="totp-code"' in html
    assert 'name="password"' not in html and 'id="account"' not in html, "asks only the factor"
    assert 'id="cancel"' in html

    done = submit_code(client, page, code_at(secret, frozen_clock.now()))
    assert done.status_code == 303
    assert session_cookie(client) != first_cookie, "new cookie value after step-up"
    code_response = follow_local(client, client.get(done.headers["Location"]))
    params = query(code_response)
    tokens_b = flow_b.token(params["code"]).get_json()
    claims_b = id_token_claims(client, tokens_b)
    assert claims_b["acr"] == AAL2
    assert claims_b["amr"] == ["pwd", "otp", "mfa"]
    assert claims_b["sid"] == claims_a["sid"], "the same SSO session, stepped up"
    assert claims_b["auth_time"] == claims_a["auth_time"], "auth_time: the first factor's"
    access = jwt.decode(tokens_b["access_token"],
                        KeySet.import_key_set(client.get("/jwks").get_json())).claims
    assert access["acr"] == AAL2 and access["amr"] == ["pwd", "otp", "mfa"]
    assert audit_events(app, "session.stepped_up")

    # Portal A is unaffected: its refresh token still works, and it still gets codes silently.
    refreshed = client.post(
        "/token", data={"grant_type": "refresh_token", "refresh_token": tokens_a["refresh_token"]},
        headers=_basic(portal_a))
    assert refreshed.status_code == 200, refreshed.get_json()
    again = Flow(client, portal_a).tokens(prompt="none")
    assert id_token_claims(client, again)["sid"] == claims_a["sid"]


def _basic(rp):
    from ..helpers import basic

    return basic(rp.client_id, rp.plain_secret)


@pytest.mark.parametrize("how", ["acr_values", "claims"])
def test_acr_values_trigger_step_up(client, app, make_person, make_client, frozen_clock, how):
    rp = make_client(first_party=True)
    person = make_person()
    secret = enrol_totp(app, person)
    login(client, person.username)
    flow = Flow(client, rp)
    extra = ({"acr_values": f"{AAL2} {AAL3}"} if how == "acr_values" else
             {"claims": json.dumps({"id_token": {"acr": {"essential": True, "values": [AAL2]}}})})
    response = flow.authorize(**extra)
    assert response.headers["Location"].startswith("/login/verify?")
    page = client.get(response.headers["Location"])
    done = submit_code(client, page, code_at(secret, frozen_clock.now()))
    code = query(follow_local(client, client.get(done.headers["Location"])))["code"]
    claims = id_token_claims(client, flow.token(code).get_json())
    assert claims["acr"] == AAL2


def test_unknown_acr_values_are_ignored(client, make_person, make_client):
    rp = make_client(first_party=True)
    person = make_person()
    login(client, person.username)
    claims = id_token_claims(client, Flow(client, rp).tokens(acr_values="1 2 gold"))
    assert claims["acr"] == AAL1


def test_prompt_none_with_unmet_acr_is_login_required(client, app, make_person, make_client):
    rp = make_client(first_party=True, min_acr=AAL2)
    person = make_person()
    enrol_totp(app, person)
    login(client, person.username)
    response = Flow(client, rp).authorize(prompt="none")
    params = query(response)
    assert params["error"] == "login_required"


def test_without_a_second_factor_the_person_can_only_go_back(client, make_person, make_client):
    rp = make_client(first_party=True, min_acr=AAL2)
    person = make_person()
    login(client, person.username)
    flow = Flow(client, rp)
    response = flow.authorize()
    page = client.get(response.headers["Location"])
    html = page.get_data(as_text=True)
    assert 'id="no-factor"' in html and 'id="totp-code"' not in html
    cancel = html.split('id="cancel"')[0].rsplit('href="', 1)[1].split('"')[0]
    back = client.get(cancel.replace("&amp;", "&"))
    params = query(back)
    assert params["error"] == "unmet_authentication_requirements"
    assert params["state"] == flow.state


def test_aal3_cannot_be_reached_and_does_not_loop(client, app, make_person, make_client,
                                                  frozen_clock):
    rp = make_client(first_party=True)
    person = make_person()
    secret = enrol_totp(app, person)
    login(client, person.username)
    response = Flow(client, rp).authorize(acr_values=AAL3)
    page = client.get(response.headers["Location"])
    done = submit_code(client, page, code_at(secret, frozen_clock.now()))
    again = client.get(done.headers["Location"])  # resume: still below aal3
    page = client.get(again.headers["Location"])
    assert page.status_code == 200
    assert 'id="unreachable"' in page.get_data(as_text=True)


def test_login_asks_both_factors_when_the_client_needs_aal2(client, app, make_person,
                                                            make_client, frozen_clock):
    rp = make_client(first_party=True, min_acr=AAL2)
    person = make_person()
    secret = enrol_totp(app, person)
    flow = Flow(client, rp)
    response = flow.authorize()
    assert response.headers["Location"].startswith("/login?")
    assert "acr=urn" in response.headers["Location"]
    page = client.get(response.headers["Location"])
    posted = client.post(page.request.full_path, data={
        "csrf_token": csrf_token(page.get_data(as_text=True)), "account": person.username,
        "password": PASSWORD})
    assert posted.status_code == 303
    assert posted.headers["Location"].startswith("/login/verify?")
    assert session_cookie(client) == "", "no session before the second factor"
    page = client.get(posted.headers["Location"])
    frozen_clock.advance(30)
    done = submit_code(client, page, code_at(secret, frozen_clock.now()))
    code = query(follow_local(client, client.get(done.headers["Location"])))["code"]
    claims = id_token_claims(client, flow.token(code).get_json())
    assert claims["acr"] == AAL2 and claims["amr"] == ["pwd", "otp", "mfa"]
    # auth_time is when the password was proven, not when the code was.
    assert claims["auth_time"] == frozen_clock.timestamp() - 30


def test_max_age_reauthenticates_the_first_factor(client, app, make_person, make_client,
                                                  frozen_clock):
    rp = make_client(first_party=True)
    person = make_person()
    login(client, person.username)
    first = id_token_claims(client, Flow(client, rp).tokens())
    frozen_clock.advance(120)
    response = Flow(client, rp).authorize(max_age="60")
    assert response.headers["Location"].startswith("/login?")
    frozen_clock.advance(5)
    login(client, person.username, next_path=response.headers["Location"].split("next=")[1])
    second = id_token_claims(client, Flow(client, rp).tokens(max_age="60"))
    assert second["auth_time"] == first["auth_time"] + 125


def test_staff_need_aal2_at_every_login(client, app, make_person, frozen_clock):
    officer = make_person()
    grant_role(app, officer)
    secret = enrol_totp(app, officer)
    response = login(client, officer.username)
    assert response.status_code == 303
    assert response.headers["Location"].startswith("/login/verify?")
    assert session_cookie(client) == ""
    page = client.get(response.headers["Location"])
    done = submit_code(client, page, code_at(secret, frozen_clock.now()))
    assert done.status_code == 303
    assert session_cookie(client)


def test_staff_without_a_second_factor_are_refused(client, app, make_person):
    officer = make_person()
    grant_role(app, officer, "system_admin")
    response = login(client, officer.username)
    assert response.status_code == 403
    assert session_cookie(client) == ""
    assert audit_events(app, "login.refused")[-1].detail["reason"] == "second_factor_missing"


def test_recovery_code_as_second_factor_counts_down(client, app, make_person, make_client,
                                                    frozen_clock):
    rp = make_client(first_party=True, min_acr=AAL2)
    person = make_person()
    enrol_totp(app, person)
    codes = recovery_codes_for(app, person)
    login(client, person.username)
    flow = Flow(client, rp)
    page = client.get(flow.authorize().headers["Location"])
    used = submit_code(client, page, codes[3].upper(), method="recovery")
    assert used.status_code == 200
    assert "9" in used.get_data(as_text=True).split('id="remaining"')[1][:80]
    event = audit_events(app, "recovery_code.used")[-1]
    assert event.detail == {"remaining": 9} and event.person_id == person.id
    cont = used.get_data(as_text=True).split('id="continue"')[0].rsplit('href="', 1)[1]
    code = query(follow_local(client, client.get(cont.split('"')[0].replace("&amp;", "&"))))
    claims = id_token_claims(client, flow.token(code["code"]).get_json())
    assert claims["acr"] == AAL2 and claims["amr"] == ["pwd", "otp", "mfa"]
    # Single use.
    client.post("/logout/confirm", data={"csrf_token": _page_csrf(client)})
    login(client, person.username)
    page = client.get(Flow(client, rp).authorize().headers["Location"])
    again = submit_code(client, page, codes[3], method="recovery")
    assert again.status_code == 400


def _page_csrf(http) -> str:
    return csrf_token(http.get("/login").get_data(as_text=True))


def test_discovery_lists_the_issued_levels(client):
    metadata = client.get("/.well-known/openid-configuration").get_json()
    # The authentication levels issued, then the real-name levels a client may ask for.
    assert metadata["acr_values_supported"][:2] == [AAL1, AAL2]
    assert "urn:tongban:aal3" not in metadata["acr_values_supported"]
