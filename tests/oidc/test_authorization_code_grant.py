"""The token endpoint's authorization_code grant (RFC 6749 §4.1.3, RFC 9700 §4.2.4, §4.5):
single-use 60-second codes bound to their client and redirect URI, reuse revoking what the code
bought (oidcc-codereuse, oidcc-codereuse-30seconds), and the endpoint's request hygiene."""

from urllib.parse import urlencode

import pytest

from ..helpers import Flow, basic, bearer, introspect, refresh, signed_in, token_call


@pytest.fixture
def rp(make_client):
    return make_client(redirect_uris=("https://rp.example/cb", "https://rp.example/other"))


@pytest.fixture
def flow(client, make_person, rp):
    signed_in(client, make_person)
    return Flow(client, rp)


def assert_error(response, error: str, status: int = 400) -> None:
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.is_json
    assert response.get_json()["error"] == error


def test_oidcc_codereuse(flow):
    code = flow.code()
    first = flow.token(code)
    assert first.status_code == 200, first.get_json()
    assert_error(flow.token(code), "invalid_grant")


def test_oidcc_codereuse_30seconds(frozen_clock, client, flow, rp):
    code = flow.code()
    tokens = flow.token(code).get_json()
    assert client.get("/userinfo", headers=bearer(tokens["access_token"])).status_code == 200

    frozen_clock.advance(30)
    assert_error(flow.token(code), "invalid_grant")

    # Whoever replayed the code, everything it bought is now suspect (RFC 6749 §4.1.2).
    info = client.get("/userinfo", headers=bearer(tokens["access_token"]))
    assert info.status_code == 401
    assert 'error="invalid_token"' in info.headers["WWW-Authenticate"]
    assert_error(refresh(client, rp, tokens["refresh_token"]), "invalid_grant")
    for token in (tokens["access_token"], tokens["refresh_token"]):
        assert introspect(client, rp, token).get_json() == {"active": False}


def test_code_reuse_revokes_tokens_of_later_rotations(client, flow, rp):
    code = flow.code()
    tokens = flow.token(code).get_json()
    rotated = refresh(client, rp, tokens["refresh_token"]).get_json()
    assert_error(flow.token(code), "invalid_grant")
    assert client.get("/userinfo", headers=bearer(rotated["access_token"])).status_code == 401
    assert_error(refresh(client, rp, rotated["refresh_token"]), "invalid_grant")


@pytest.mark.parametrize(("age", "status"), [(59, 200), (61, 400)])
def test_code_expires_after_60_seconds(frozen_clock, flow, age, status):
    code = flow.code()
    frozen_clock.advance(age)
    response = flow.token(code)
    assert response.status_code == status, response.get_json()
    if status == 400:
        assert response.get_json()["error"] == "invalid_grant"


def test_code_of_another_client_is_invalid_grant(client, flow, make_client):
    """RFC 9700 §4.5 (row 20): a code is bound to the client it was issued to."""
    code = flow.code()
    other = make_client(redirect_uris=flow.client.redirect_uris)
    thief = Flow(client, other, redirect_uri=flow.redirect_uri)
    thief.verifier = flow.verifier
    assert_error(thief.token(code), "invalid_grant")
    # The thief's attempt neither succeeded nor spent the code.
    assert flow.token(code).status_code == 200


@pytest.mark.parametrize("redirect_uri", ["https://rp.example/other", "https://rp.example/cb/",
                                          "HTTPS://rp.example/cb", ""])
def test_redirect_uri_differing_from_the_authorization_request(flow, redirect_uri):
    """RFC 6749 §4.1.3 (RFC 9700 row 20): the very same string as in the request, or nothing."""
    code = flow.code()
    assert_error(flow.token(code, redirect_uri=redirect_uri), "invalid_grant")


@pytest.mark.parametrize("code", [None, ""])
def test_missing_code(flow, code):
    data = {"grant_type": "authorization_code", "redirect_uri": flow.redirect_uri,
            "code_verifier": flow.verifier}
    if code is not None:
        data["code"] = code  # RFC 6749 §3.1: an empty parameter counts as omitted
    assert_error(token_call(flow.http, flow.client, data), "invalid_request")


@pytest.mark.parametrize("bad", [
    {"verifier": "wrong-" + "v" * 43},
    {"verifier": None},
    {"redirect_uri": "https://rp.example/other"},
])
def test_failed_redemption_does_not_burn_the_code(flow, bad):
    code = flow.code()
    assert_error(flow.token(code, **bad), "invalid_grant")
    response = flow.token(code)
    assert response.status_code == 200, response.get_json()


def test_password_grant_is_not_supported(flow, make_person):
    """RFC 9700 §2.4 (row 12): the resource owner password credentials grant MUST NOT be used."""
    person = make_person()
    response = token_call(flow.http, flow.client, {"grant_type": "password",
                                                   "username": person.username,
                                                   "password": "correct horse battery staple"})
    assert_error(response, "unsupported_grant_type")


def test_parameters_in_the_query_string(flow):
    code = flow.code()
    response = flow.http.post(f"/token?code={code}", data={
        "grant_type": "authorization_code", "redirect_uri": flow.redirect_uri,
        "code_verifier": flow.verifier, "client_id": flow.client.client_id,
        "client_secret": flow.client.plain_secret})
    assert_error(response, "invalid_request")
    assert "body" in response.get_json()["error_description"]
    # The rejected request did not touch the code.
    assert flow.token(code).status_code == 200


@pytest.mark.parametrize("name", ["code", "redirect_uri", "grant_type", "code_verifier"])
def test_repeated_body_parameter(flow, name):
    code = flow.code()
    data = {"grant_type": "authorization_code", "code": code, "redirect_uri": flow.redirect_uri,
            "code_verifier": flow.verifier}
    body = [*data.items(), (name, data[name])]
    response = flow.http.post("/token", data=urlencode(body),
                              headers=basic(flow.client.client_id, flow.client.plain_secret),
                              content_type="application/x-www-form-urlencoded")
    assert_error(response, "invalid_request")
    assert response.get_json()["error_description"] == f"Parameter '{name}' is repeated."


def test_token_responses_are_not_cached(flow):
    code = flow.code()
    for response in (flow.token(code), flow.token(code)):
        assert response.headers["Cache-Control"] == "no-store"
        assert response.headers["Pragma"] == "no-cache"
