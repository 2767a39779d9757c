"""Authorization endpoint errors (RFC 6749 §4.1.2.1, OIDC Core §3.1.2.6, RFC 9207).

No error path redirects before the client and its redirect URI are validated (Authlib
CVE-2026-41479, CVE-2026-44681); once they are, every error is redirected with `iss` and the
request's `state`, in the request's response mode. Also oidcc-ensure-request-with-unknown-
parameter-succeeds, oidcc-alternate-happy-flow, oidcc-ensure-post-request-succeeds,
oidcc-response-type-missing, the request-object modules, and RFC 9700 rows 17-18 (no CORS at
/authorize, no third-party resources on its pages)."""

import re
from urllib.parse import urlencode

import pytest

from ..conftest import ISSUER
from ..helpers import Flow, error_page, follow_local, query, signed_in

REGISTERED = "https://rp.example/cb"
ATTACKER = "https://attacker.example/cb"

#: Requests that are wrong in themselves, each as the parameters it overrides and the error it
#: earns once client and redirect URI are known to be good.
BAD_REQUESTS = {
    "response_type=token": ({"response_type": "token"}, "unsupported_response_type"),
    "response_type=id_token": ({"response_type": "id_token"}, "unsupported_response_type"),
    "response_type=code id_token": ({"response_type": "code id_token"},
                                    "unsupported_response_type"),
    "response_type=code token": ({"response_type": "code token"}, "unsupported_response_type"),
    "response_type missing": ({"response_type": None}, "unsupported_response_type"),
    "invalid scope": ({"scope": "admin"}, "invalid_scope"),
    "request object": ({"request": "eyJhbGciOiJub25lIn0.e30."}, "request_not_supported"),
    "request_uri": ({"request_uri": "https://rp.example/request.jwt"},
                    "request_uri_not_supported"),
    "response_mode=fragment": ({"response_mode": "fragment"}, "invalid_request"),
    "response_mode=web_message": ({"response_mode": "web_message"}, "invalid_request"),
    "response_mode=query.jwt": ({"response_mode": "query.jwt"}, "invalid_request"),
    "code_challenge missing": ({"code_challenge": None, "code_challenge_method": None},
                               "invalid_request"),
    "prompt=none without session": ({"prompt": "none"}, "login_required"),
    "prompt unknown": ({"prompt": "everything"}, "invalid_request"),
    "max_age invalid": ({"max_age": "soon"}, "invalid_request"),
    "claims not JSON": ({"claims": "{"}, "invalid_request"),
    "id_token_hint garbage": ({"id_token_hint": "not.a.jwt"}, "invalid_request"),
    "state too long": ({"state": "s" * 2049}, "invalid_request"),
}


def _params(client_id, redirect_uri=REGISTERED, **overrides) -> dict:
    params = {"response_type": "code", "client_id": client_id, "redirect_uri": redirect_uri,
              "scope": "openid profile", "state": "st-1", "nonce": "n-1",
              "code_challenge": "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
              "code_challenge_method": "S256"}
    params.update(overrides)
    return {k: v for k, v in params.items() if v is not None}


def _redirected_error(response, state="st-1", redirect_uri=REGISTERED) -> str:
    assert response.status_code == 303, response.get_data(as_text=True)[:300]
    assert response.headers["Location"].startswith(redirect_uri + "?")
    params = query(response)
    assert params["iss"] == ISSUER
    assert params.get("state") == state
    assert "code" not in params
    return params["error"]


# --- before the client and redirect URI are verified: the IdP's own page -------------------------

BAD_CLIENTS = ["unknown client", "disabled client", "client_id missing", "client_id too long",
               "redirect_uri unregistered", "redirect_uri missing"]


def _bad_client_params(case, rp, **overrides):
    client_id, redirect_uri = rp.client_id, REGISTERED
    if case == "unknown client":
        client_id = "tbc_nobodyknowsthisclient"
    elif case == "client_id missing":
        client_id = None
    elif case == "client_id too long":
        client_id = rp.client_id + "x" * 64
    elif case == "redirect_uri unregistered":
        redirect_uri = ATTACKER
    elif case == "redirect_uri missing":
        redirect_uri = None
    return _params(client_id, redirect_uri, **overrides)


def _expected_page_error(case, overrides) -> str:
    if overrides.get("response_type", "code") != "code" or "response_type" in overrides:
        return "unsupported_response_type"
    return "invalid_request" if case.startswith("redirect_uri") else "invalid_client"


@pytest.mark.parametrize("bad", ["none", *BAD_REQUESTS])
@pytest.mark.parametrize("case", BAD_CLIENTS)
def test_no_redirect_before_client_and_redirect_uri_are_verified(client, make_client, case,
                                                                 bad):
    rp = make_client(redirect_uris=[REGISTERED],
                     status="disabled" if case == "disabled client" else "active")
    overrides = BAD_REQUESTS[bad][0] if bad != "none" else {}
    response = client.get("/authorize", query_string=_bad_client_params(case, rp, **overrides))
    assert error_page(response) == _expected_page_error(case, overrides)


@pytest.mark.parametrize("case", ["unknown client", "redirect_uri unregistered"])
def test_no_form_post_before_redirect_uri_is_verified(client, make_client, case):
    rp = make_client(redirect_uris=[REGISTERED])
    response = client.get("/authorize", query_string=_bad_client_params(
        case, rp, response_mode="form_post", scope="admin"))
    error_page(response)
    assert "<form" not in response.get_data(as_text=True)


@pytest.mark.parametrize("name", ["client_id", "redirect_uri"])
def test_repeated_client_id_or_redirect_uri_is_an_error_page(client, make_client, name):
    # Keycloak CVE-2026-9689: the IdP and the client must never read different values.
    rp = make_client(redirect_uris=[REGISTERED, "https://rp.example/other"])
    params = list(_params(rp.client_id).items())
    params.append((name, {"client_id": rp.client_id, "redirect_uri": REGISTERED}[name]))
    response = client.get("/authorize?" + urlencode(params))
    assert error_page(response) == "invalid_request"
    params[-1] = ("redirect_uri", "https://rp.example/other")
    assert error_page(client.get("/authorize?" + urlencode(params))) == "invalid_request"


# --- once client and redirect URI are verified: redirected, with iss and state -------------------

@pytest.mark.parametrize("bad", list(BAD_REQUESTS))
def test_errors_are_redirected_with_iss_and_state(client, make_client, bad):
    rp = make_client(redirect_uris=[REGISTERED])
    overrides, error = BAD_REQUESTS[bad]
    state = overrides.get("state", "st-1")
    response = client.get("/authorize", query_string=_params(rp.client_id, **overrides))
    assert _redirected_error(response, state=state) == error


def test_error_without_state_has_no_state(client, make_client):
    rp = make_client(redirect_uris=[REGISTERED])
    response = client.get("/authorize", query_string=_params(rp.client_id, state=None,
                                                             scope="admin"))
    assert _redirected_error(response, state=None) == "invalid_scope"


@pytest.mark.parametrize("name", ["response_type", "scope", "state", "nonce", "prompt",
                                  "max_age", "code_challenge", "code_challenge_method",
                                  "response_mode", "claims", "login_hint", "ui_locales"])
def test_repeated_parameter_is_invalid_request(client, make_client, name):
    rp = make_client(redirect_uris=[REGISTERED])
    values = {"prompt": "login", "max_age": "60", "response_mode": "query", "claims": "{}",
              "login_hint": "a", "ui_locales": "en"}
    params = _params(rp.client_id, **{k: v for k, v in values.items() if k == name})
    pairs = [*params.items(), (name, params[name])]
    response = client.get("/authorize?" + urlencode(pairs))
    assert _redirected_error(response) == "invalid_request"


@pytest.mark.parametrize("bad", ["invalid scope", "response_type=token", "request object",
                                 "prompt=none without session", "code_challenge missing"])
def test_error_redirects_use_form_post_when_asked(client, make_client, bad):
    rp = make_client(redirect_uris=[REGISTERED])
    overrides, error = BAD_REQUESTS[bad]
    response = client.get("/authorize", query_string=_params(
        rp.client_id, response_mode="form_post", **overrides))
    assert response.status_code == 200
    assert "Location" not in response.headers
    fields = _form_post_fields(response, REGISTERED)
    fields.pop("error_description", None)
    assert fields == {"error": error, "state": "st-1", "iss": ISSUER}


def _form_post_fields(response, action: str) -> dict:
    html = response.get_data(as_text=True)
    assert f'<form method="post" action="{action}"' in html
    return dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', html))


def test_client_without_relaxed_pkce_must_send_a_challenge(client, make_person, make_client):
    rp = make_client(redirect_uris=[REGISTERED])
    assert rp.require_pkce is True
    signed_in(client, make_person)
    flow = Flow(client, rp, pkce=False)
    assert _redirected_error(flow.authorize(), state=flow.state) == "invalid_request"


# --- what must work ------------------------------------------------------------------------------

def test_oidcc_ensure_request_with_unknown_parameter_succeeds(client, make_person, make_client):
    rp = make_client()
    signed_in(client, make_person)
    flow = Flow(client, rp)
    assert flow.token(flow.code(extra="foobar", vendor_x="1")).status_code == 200


def test_oidcc_alternate_happy_flow(client, make_person, make_client):
    rp = make_client()
    signed_in(client, make_person)
    flow = Flow(client, rp, scope="email profile openid")
    # Parameters in another order than usual, too.
    response = client.get("/authorize?" + urlencode(list(reversed(flow.params().items()))))
    response = follow_local(client, response)
    params = query(response)
    assert params["state"] == flow.state and params["iss"] == ISSUER
    tokens = flow.token(params["code"]).get_json()
    assert set(tokens["scope"].split()) == {"openid", "profile", "email"}


def test_oidcc_ensure_post_request_succeeds(client, make_person, make_client):
    rp = make_client()
    signed_in(client, make_person)
    flow = Flow(client, rp)
    response = client.post("/authorize", data=flow.params())
    assert response.status_code == 303
    assert response.headers["Location"].startswith("/authorize/continue/")
    response = follow_local(client, response)
    params = query(response)
    assert params["state"] == flow.state and params["iss"] == ISSUER
    assert flow.token(params["code"]).status_code == 200


def test_post_request_errors_are_validated_the_same_way(client, make_person, make_client):
    rp = make_client()
    signed_in(client, make_person)
    response = client.post("/authorize", data=_params(rp.client_id, redirect_uri=ATTACKER,
                                                      response_type="token"))
    assert error_page(follow_local(client, response)) == "unsupported_response_type"
    response = client.post("/authorize", data=_params(rp.client_id, scope="admin"))
    assert _redirected_error(follow_local(client, response)) == "invalid_scope"


def test_form_post_success(client, make_person, make_client):
    rp = make_client()
    signed_in(client, make_person)
    flow = Flow(client, rp)
    response = follow_local(client, flow.authorize(response_mode="form_post"))
    fields = _form_post_fields(response, REGISTERED)
    assert set(fields) == {"code", "state", "iss"}
    assert fields["state"] == flow.state and fields["iss"] == ISSUER
    assert flow.token(fields["code"]).status_code == 200


@pytest.mark.parametrize(("redirect_uri", "origin", "client_type"), [
    (REGISTERED, "https://rp.example", "web"),
    ("http://127.0.0.1:8765/cb", "http://127.0.0.1:8765", "native"),
])
def test_form_post_page_is_locked_to_the_client(client, make_person, make_client, redirect_uri,
                                               origin, client_type):
    rp = make_client(client_type, redirect_uris=[redirect_uri])
    signed_in(client, make_person)
    flow = Flow(client, rp)
    response = follow_local(client, flow.authorize(response_mode="form_post"))
    csp = dict(part.strip().split(" ", 1) for part in
               response.headers["Content-Security-Policy"].split(";"))
    assert csp["form-action"] == origin
    assert csp["default-src"] == "'none'"
    assert csp["frame-ancestors"] == "'none'"
    assert csp["script-src"].startswith("'nonce-")
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["Cache-Control"] == "no-store"
    html = response.get_data(as_text=True)
    # RFC 9700 §4.2.4: nothing third-party on the page (only our own stylesheet).
    resources = re.findall(r'(?:src|href)="([^"]*)"', html)
    assert all(url.startswith("/") and not url.startswith("//") for url in resources), resources
    assert f'nonce="{csp["script-src"][7:-1]}"' in html


def test_no_cors_at_the_authorization_endpoint(client, make_person, make_client):
    # RFC 9700 §2.6: CORS must not be supported at the authorization endpoint.
    rp = make_client()
    signed_in(client, make_person)
    flow = Flow(client, rp)
    origin = {"Origin": "https://rp.example"}
    responses = [
        client.get("/authorize", query_string=flow.params(), headers=origin),
        client.get("/authorize", query_string=flow.params(scope="admin"), headers=origin),
        client.post("/authorize", data=flow.params(), headers=origin),
        client.options("/authorize", headers={**origin, "Access-Control-Request-Method": "GET"}),
    ]
    for response in responses:
        assert not any(name.lower().startswith("access-control-")
                       for name, _value in response.headers)
