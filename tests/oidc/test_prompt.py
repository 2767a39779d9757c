"""OIDC Core §3.1.2.1 session semantics at the authorization endpoint: `prompt`, `max_age`,
`id_token_hint`, `login_hint`, `ui_locales`, `display`, `claims`, `nonce`, and remembered
consent. Tests are named after the OpenID Foundation modules they mirror."""

import base64
import json
from urllib.parse import parse_qs, urlsplit

import pytest
from joserfc import jwt
from joserfc.jwk import KeySet, RSAKey

from ..conftest import ISSUER
from ..helpers import Flow, csrf_token, follow_local, login, query, signed_in


def _id_token(http, tokens) -> dict:
    keys = KeySet.import_key_set(http.get("/jwks").get_json())
    return jwt.decode(tokens["id_token"], keys, algorithms=["RS256"]).claims


def _login_next(response) -> str:
    """The resume path of a redirect to the login page."""
    assert response.status_code == 302, response.get_data(as_text=True)[:300]
    location = urlsplit(response.headers["Location"])
    assert location.path == "/login"
    next_path = parse_qs(location.query)["next"][0]
    assert next_path.startswith("/authorize/continue/")
    return next_path


def _issued(flow, response) -> str:
    """The code of a response that went straight back to the client: no login, no consent."""
    assert response.status_code == 303, response.headers.get("Location")
    assert response.headers["Location"].startswith(flow.redirect_uri + "?")
    params = query(response)
    assert params["iss"] == ISSUER and params["state"] == flow.state
    return params["code"]


def _redirected_error(flow, response) -> str:
    assert response.status_code == 303, response.headers.get("Location")
    assert response.headers["Location"].startswith(flow.redirect_uri + "?")
    params = query(response)
    assert params["iss"] == ISSUER and params["state"] == flow.state
    assert "code" not in params
    return params["error"]


def _consent_path(response) -> str:
    assert response.status_code == 302
    path = response.headers["Location"]
    assert path.startswith("/consent/")
    return path


# --- prompt=none ----------------------------------------------------------------------------------

def test_oidcc_prompt_none_not_logged_in(client, make_client):
    rp = make_client(first_party=True)
    flow = Flow(client, rp)
    assert _redirected_error(flow, flow.authorize(prompt="none")) == "login_required"


def test_oidcc_prompt_none_logged_in(client, make_person, make_client):
    rp = make_client()
    person = signed_in(client, make_person)
    first = _id_token(client, Flow(client, rp).tokens())
    flow = Flow(client, rp)
    response = flow.token(_issued(flow, flow.authorize(prompt="none")))
    second = _id_token(client, response.get_json())
    assert second["sub"] == first["sub"] == person.sub
    assert second["auth_time"] == first["auth_time"]


def test_prompt_none_without_consent_is_consent_required(client, make_person, make_client):
    rp = make_client()
    signed_in(client, make_person)
    flow = Flow(client, rp)
    assert _redirected_error(flow, flow.authorize(prompt="none")) == "consent_required"


@pytest.mark.parametrize("prompt", ["none login", "login none", "none consent",
                                    "none select_account", "bogus"])
def test_prompt_none_combined_or_unknown_is_invalid_request(client, make_person, make_client,
                                                            prompt):
    rp = make_client(first_party=True)
    signed_in(client, make_person)
    flow = Flow(client, rp)
    assert _redirected_error(flow, flow.authorize(prompt=prompt)) == "invalid_request"


# --- prompt=login and max_age: re-authentication --------------------------------------------------

def test_oidcc_prompt_login(client, frozen_clock, make_person, make_client):
    rp = make_client()
    person = signed_in(client, make_person)
    first = _id_token(client, Flow(client, rp).tokens())
    frozen_clock.advance(5)
    flow = Flow(client, rp)
    next_path = _login_next(flow.authorize(prompt="login"))
    # The pending request cannot be resumed without logging in again.
    assert _login_next(client.get(next_path)) == next_path
    response = login(client, person.username, next_path=next_path)
    assert response.status_code == 303 and response.headers["Location"] == next_path
    code = _issued(flow, follow_local(client, response))
    second = _id_token(client, flow.token(code).get_json())
    assert second["sub"] == first["sub"]
    assert second["auth_time"] == first["auth_time"] + 5


def test_oidcc_max_age_1(client, frozen_clock, make_person, make_client):
    rp = make_client()
    person = signed_in(client, make_person)
    first = _id_token(client, Flow(client, rp).tokens())
    frozen_clock.advance(2)
    flow = Flow(client, rp)
    next_path = _login_next(flow.authorize(max_age="1"))
    response = follow_local(client, login(client, person.username, next_path=next_path))
    second = _id_token(client, flow.token(_issued(flow, response)).get_json())
    assert second["auth_time"] == first["auth_time"] + 2
    assert second["sub"] == first["sub"]


def test_max_age_exceeded_with_prompt_none_is_login_required(client, frozen_clock, make_person,
                                                             make_client):
    rp = make_client(first_party=True)
    signed_in(client, make_person)
    frozen_clock.advance(2)
    flow = Flow(client, rp)
    assert _redirected_error(flow, flow.authorize(max_age="1", prompt="none")) == "login_required"


def test_oidcc_max_age_10000(client, frozen_clock, make_person, make_client):
    rp = make_client()
    signed_in(client, make_person)
    first = _id_token(client, Flow(client, rp).tokens())
    frozen_clock.advance(2)
    flow = Flow(client, rp)
    second = _id_token(client, flow.token(_issued(flow, flow.authorize(max_age="10000")))
                       .get_json())
    assert second["auth_time"] == first["auth_time"]
    assert second["sub"] == first["sub"]


@pytest.mark.parametrize("max_age", ["-1", "1.5", "soon", "1e3", " 1", "12345678901"])
def test_invalid_max_age_is_invalid_request(client, make_person, make_client, max_age):
    rp = make_client(first_party=True)
    signed_in(client, make_person)
    flow = Flow(client, rp)
    assert _redirected_error(flow, flow.authorize(max_age=max_age)) == "invalid_request"


# --- consent --------------------------------------------------------------------------------------

def test_prompt_consent_asks_even_when_consent_exists(client, make_person, make_client):
    rp = make_client()
    signed_in(client, make_person)
    Flow(client, rp).code()
    flow = Flow(client, rp)
    path = _consent_path(flow.authorize(prompt="consent"))
    page = client.get(path)
    assert page.status_code == 200 and 'value="allow"' in page.get_data(as_text=True)
    assert flow.token(_issued(flow, follow_local(client, page))).status_code == 200


def test_consent_is_remembered_per_client_and_scope_set(client, make_person, make_client):
    rp, other = make_client(), make_client()
    signed_in(client, make_person)
    Flow(client, rp).code()
    # The same scopes again: no question.
    flow = Flow(client, rp, scope="profile openid")
    assert _issued(flow, flow.authorize())
    # A wider scope set asks again; so does another client.
    _consent_path(Flow(client, rp, scope="openid profile email").authorize())
    _consent_path(Flow(client, other).authorize())


def test_consent_denied_is_access_denied(client, make_person, make_client):
    rp = make_client()
    signed_in(client, make_person)
    flow = Flow(client, rp)
    path = _consent_path(flow.authorize())
    page = client.get(path)
    response = client.post(path, data={"csrf_token": csrf_token(page.get_data(as_text=True)),
                                       "decision": "deny"})
    assert _redirected_error(flow, response) == "access_denied"
    # The request is finished: it cannot be resumed into a code.
    assert client.get(path).status_code == 400


# --- id_token_hint --------------------------------------------------------------------------------

def test_oidcc_id_token_hint(client, make_person, make_client):
    rp = make_client()
    signed_in(client, make_person)
    tokens = Flow(client, rp).tokens()
    flow = Flow(client, rp)
    code = _issued(flow, flow.authorize(prompt="none", id_token_hint=tokens["id_token"]))
    second = _id_token(client, flow.token(code).get_json())
    assert second["sub"] == _id_token(client, tokens)["sub"]


def test_expired_id_token_hint_still_identifies_the_person(client, frozen_clock, make_person,
                                                           make_client):
    # OIDC Core §3.1.2.1: the hint need not be unexpired.
    rp = make_client(first_party=True)
    signed_in(client, make_person)
    hint = Flow(client, rp).tokens()["id_token"]
    frozen_clock.advance(601)
    flow = Flow(client, rp)
    assert _issued(flow, flow.authorize(prompt="none", id_token_hint=hint))


def test_id_token_hint_for_another_person(client, make_person, make_client):
    rp = make_client(first_party=True)
    signed_in(client, make_person)
    hint = Flow(client, rp).tokens()["id_token"]
    signed_in(client, make_person)            # someone else logs in on this browser
    flow = Flow(client, rp)
    response = flow.authorize(prompt="none", id_token_hint=hint)
    assert _redirected_error(flow, response) == "login_required"
    _login_next(Flow(client, rp).authorize(id_token_hint=hint))


def _b64(value: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()


def _forged(kind: str, genuine: str, other_client_hint: str) -> str:
    header_b64, claims_b64, signature = genuine.split(".")
    header = json.loads(base64.urlsafe_b64decode(header_b64 + "=="))
    claims = json.loads(base64.urlsafe_b64decode(claims_b64 + "=="))
    if kind == "alg none":
        return f"{_b64({'alg': 'none', 'typ': 'JWT'})}.{claims_b64}."
    if kind == "tampered":
        return f"{header_b64}.{_b64({**claims, 'sub': 'someone-else'})}.{signature}"
    if kind == "foreign key":
        key = RSAKey.generate_key(2048, parameters={"kid": header["kid"]})
        return jwt.encode({"alg": "RS256", "kid": header["kid"]}, claims, key)
    if kind == "other client":
        return other_client_hint
    return "not-a-jwt"


@pytest.mark.parametrize("kind", ["alg none", "tampered", "foreign key", "other client",
                                  "garbage"])
def test_forged_id_token_hint_is_invalid_request(client, make_person, make_client, kind):
    rp, other = make_client(first_party=True), make_client(first_party=True)
    signed_in(client, make_person)
    genuine = Flow(client, rp).tokens()["id_token"]
    other_hint = Flow(client, other).tokens()["id_token"]
    flow = Flow(client, rp)
    response = flow.authorize(prompt="none", id_token_hint=_forged(kind, genuine, other_hint))
    assert _redirected_error(flow, response) == "invalid_request"


# --- hints and display ----------------------------------------------------------------------------

def test_oidcc_login_hint(client, make_client):
    rp = make_client()
    flow = Flow(client, rp)
    next_path = _login_next(flow.authorize(login_hint="citizen7@example.cn"))
    page = client.get("/login", query_string={"next": next_path})
    assert page.status_code == 200
    assert 'value="citizen7@example.cn"' in page.get_data(as_text=True)


def test_login_hint_is_escaped(client, make_client):
    flow = Flow(client, make_client())
    next_path = _login_next(flow.authorize(login_hint='"><script>alert(1)</script>'))
    html = client.get("/login", query_string={"next": next_path}).get_data(as_text=True)
    assert "<script>alert(1)" not in html


def test_oidcc_ui_locales(client, make_person, make_client):
    rp = make_client()
    flow = Flow(client, rp)
    next_path = _login_next(flow.authorize(ui_locales="en"))
    page = client.get("/login", query_string={"next": next_path})
    assert page.status_code == 200 and '<html lang="en">' in page.get_data(as_text=True)
    signed_in(client, make_person)
    assert Flow(client, rp).tokens(ui_locales="en", claims_locales="se")["id_token"]


@pytest.mark.parametrize("display", ["page", "popup"])
def test_oidcc_display(client, make_person, make_client, display):
    rp = make_client()
    _login_next(Flow(client, rp).authorize(display=display))
    signed_in(client, make_person)
    assert Flow(client, rp).tokens(display=display)["id_token"]


# --- claims and nonce -----------------------------------------------------------------------------

def test_oidcc_claims_essential(client, make_person, make_client):
    rp = make_client()
    person = signed_in(client, make_person)
    flow = Flow(client, rp, scope="openid")
    tokens = flow.tokens(claims=json.dumps({"userinfo": {"name": {"essential": True}}}))
    info = client.get("/userinfo", headers={"Authorization": f"Bearer {tokens['access_token']}"})
    assert info.get_json()["name"] == person.display_name
    assert "name" not in _id_token(client, tokens)


def test_claims_for_the_id_token(client, make_person, make_client):
    rp = make_client()
    person = signed_in(client, make_person)
    flow = Flow(client, rp, scope="openid")
    tokens = flow.tokens(claims=json.dumps({"id_token": {"name": None,
                                                         "email": {"essential": True}}}))
    claims = _id_token(client, tokens)
    assert claims["name"] == person.display_name and claims["email"] == person.email


@pytest.mark.parametrize("claims", ["{", "[]", '"name"', "null", '{"userinfo": []}',
                                    '{"id_token": {"name": true}}',
                                    '{"userinfo": {"name": "yes"}}'])
def test_malformed_claims_is_invalid_request(client, make_person, make_client, claims):
    rp = make_client(first_party=True)
    signed_in(client, make_person)
    flow = Flow(client, rp)
    assert _redirected_error(flow, flow.authorize(claims=claims)) == "invalid_request"


def test_oidcc_ensure_request_without_nonce_succeeds_for_code_flow(client, make_person,
                                                                   make_client):
    rp = make_client()
    signed_in(client, make_person)
    tokens = Flow(client, rp).tokens(nonce=None)
    assert "nonce" not in _id_token(client, tokens)


def test_client_that_requires_nonce(client, make_person, make_client):
    rp = make_client(first_party=True, require_nonce=True)
    signed_in(client, make_person)
    flow = Flow(client, rp)
    assert _redirected_error(flow, flow.authorize(nonce=None)) == "invalid_request"
    assert _id_token(client, flow.tokens())["nonce"] == flow.nonce
