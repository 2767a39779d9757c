"""Redirect URI exact matching (RFC 9700 §2.1 and §4.1.3, RFC 8252 §7.3, RFC 6749 §4.1.2.1),
the conformance modules oidcc-ensure-registered-redirect-uri, oidcc-redirect-uri-query-*,
oidcc-ensure-redirect-uri-in-authorization-request, and the advisories of CONFORMANCE.md §D
rows 1-4 and 9: anything but the registered string (or, for loopback URIs, another port) gets
the IdP's error page and never a redirect."""

import pytest

from idp.oidc.redirect_uris import matches, registration_problem

from ..conftest import ISSUER
from ..helpers import Flow, error_page, follow_local, query, signed_in

REGISTERED = "https://rp.example/cb"

NOT_THE_REGISTERED_URI = [
    "https://RP.example/cb",                       # host case
    "https://rp.example/CB",                       # path case
    "HTTPS://rp.example/cb",                       # scheme case
    "https://rp.example/cb/",                      # trailing slash
    "https://rp.example/cb?foo=bar",               # query added
    "https://rp.example/cb?",                      # empty query added
    "https://rp.example/cb#frag",                  # fragment
    "https://rp.example/cb/..;/evil",              # Keycloak CVE-2026-3872
    "https://rp.example/cb/%2e%2e/evil",
    "https://rp.example/cb/..%2fevil",
    "https://rp.example/cb/../evil",
    "https://rp.example/%63b",                     # percent-encoded path
    "https://rp.example@evil.example/cb",          # userinfo
    "https://evil.example@rp.example/cb",
    "https://good@evil@rp.example/cb",             # multiple @ (CVE-2026-7504)
    "https://rp.example:443/cb",                   # default port made explicit
    "https://rp.example:8443/cb",                  # port change on a non-loopback host
    "https://rp.example.evil/cb",
    "https://evil.example/cb",
    "http://rp.example/cb",                        # downgrade
    "//rp.example/cb",
    "/cb",
    " https://rp.example/cb",
    "https://rp.example/cb%00",
]


def _authorize(http, client_id: str, redirect_uri: str | None, **extra):
    params = {"response_type": "code", "client_id": client_id, "scope": "openid",
              "state": "s1", "code_challenge": "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
              "code_challenge_method": "S256", **extra}
    if redirect_uri is not None:
        params["redirect_uri"] = redirect_uri
    return http.get("/authorize", query_string=params)


@pytest.mark.parametrize("asked", NOT_THE_REGISTERED_URI)
def test_oidcc_ensure_registered_redirect_uri(client, make_client, asked):
    rp = make_client(redirect_uris=[REGISTERED])
    assert error_page(_authorize(client, rp.client_id, asked)) == "invalid_request"


@pytest.mark.parametrize("asked", NOT_THE_REGISTERED_URI[:6])
def test_unregistered_redirect_uri_with_session_and_form_post(client, make_person, make_client,
                                                              asked):
    # A session and response_mode=form_post change nothing: no form is rendered to the URI.
    rp = make_client(redirect_uris=[REGISTERED], first_party=True)
    signed_in(client, make_person)
    response = _authorize(client, rp.client_id, asked, response_mode="form_post")
    assert error_page(response) == "invalid_request"
    assert "<form" not in response.get_data(as_text=True)


def test_lookalike_host_does_not_match_as_a_pattern(client, make_client):
    # authentik CVE-2024-52289: a regex compare let `fooaexample.com` match `foo.example.com`.
    rp = make_client(redirect_uris=["https://foo.example.com/cb"])
    assert error_page(_authorize(client, rp.client_id, "https://fooaexample.com/cb")) \
        == "invalid_request"


def test_registered_uri_works(client, make_person, make_client):
    rp = make_client(redirect_uris=[REGISTERED])
    signed_in(client, make_person)
    code = Flow(client, rp).code()
    assert code


# --- queries in registered URIs -------------------------------------------------------------------

def test_oidcc_redirect_uri_query_ok(client, make_person, make_client):
    registered = "https://rp.example/cb?tenant=a"
    rp = make_client(redirect_uris=[registered])
    signed_in(client, make_person)
    flow = Flow(client, rp)
    response = flow.authorize()
    response = follow_local(client, response)
    location = response.headers["Location"]
    assert location.startswith(registered + "&")
    params = query(response)
    assert params["tenant"] == "a" and params["state"] == flow.state and params["iss"] == ISSUER
    assert flow.token(params["code"]).status_code == 200


@pytest.mark.parametrize(("registered", "asked"), [
    ("https://rp.example/cb?tenant=a", "https://rp.example/cb?tenant=b"),     # query-mismatch
    ("https://rp.example/cb?tenant=a", "https://rp.example/cb"),              # query dropped
    ("https://rp.example/cb?tenant=a", "https://rp.example/cb?tenant=a&x=1"),  # query-added
    ("https://rp.example/cb?tenant=a", "https://rp.example/cb?x=1&tenant=a"),
    ("https://rp.example/cb", "https://rp.example/cb?foo=bar"),               # query-added
])
def test_oidcc_redirect_uri_query_mismatch_and_added(client, make_client, registered, asked):
    rp = make_client(redirect_uris=[registered])
    assert error_page(_authorize(client, rp.client_id, asked)) == "invalid_request"


# --- redirect_uri is required ---------------------------------------------------------------------

@pytest.mark.parametrize("registered", [
    [REGISTERED, "https://rp.example/other"],
    [REGISTERED],                        # OIDC Core §3.1.2.1: required even with one registered
])
def test_oidcc_ensure_redirect_uri_in_authorization_request(client, make_client, registered):
    rp = make_client(redirect_uris=registered)
    assert error_page(_authorize(client, rp.client_id, None)) == "invalid_request"


@pytest.mark.parametrize("asked", ["", "   "])
def test_empty_redirect_uri_is_an_error_page(client, make_client, asked):
    rp = make_client(redirect_uris=[REGISTERED])
    assert error_page(_authorize(client, rp.client_id, asked)) == "invalid_request"


# --- loopback redirect URIs for native apps (RFC 8252 §7.3) ---------------------------------------

V4 = "http://127.0.0.1:8765/cb"
V6 = "http://[::1]:8765/cb"


@pytest.mark.parametrize(("registered", "asked"), [
    (V4, V4),
    (V4, "http://127.0.0.1:50123/cb"),
    (V4, "http://127.0.0.1/cb"),
    (V6, V6),
    (V6, "http://[::1]:50123/cb"),
])
def test_loopback_port_may_vary(client, make_person, make_client, registered, asked):
    rp = make_client("native", redirect_uris=[registered])
    signed_in(client, make_person)
    flow = Flow(client, rp, redirect_uri=asked)
    response = follow_local(client, flow.authorize())
    assert response.headers["Location"].startswith(asked + "?")
    params = query(response)
    assert params["iss"] == ISSUER
    assert flow.token(params["code"]).status_code == 200


@pytest.mark.parametrize(("registered", "asked"), [
    (V4, "http://localhost:8765/cb"),
    (V4, "http://localhost.attacker/cb"),               # Keycloak CVE-2024-8883
    (V4, "http://localhost.attacker:8765/cb"),
    (V4, "http://127.0.0.1.evil/cb"),
    (V4, "http://127.0.0.1.evil:8765/cb"),
    (V4, "http://127.0.0.1:8765.evil/cb"),
    (V4, "http://127.0.0.1:8765@evil.example/cb"),
    (V4, "http://127.0.0.1@evil.example/cb"),
    (V4, "http://evil@127.0.0.1:8765/cb"),
    (V4, "http://127.0.0.1:8765/other"),
    (V4, "http://127.0.0.1:8765/cb/"),
    (V4, "http://127.0.0.1:8765/cb?x=1"),
    (V4, "http://127.0.0.1:8765/cb#x"),
    (V4, "http://127.0.0.1:8765/cb/..;/evil"),
    (V4, "http://127.0.0.1:/cb"),
    (V4, "http://127.0.0.1:99999/cb"),                  # not a port
    (V4, "http://127.0.0.1:123456/cb"),
    (V4, "https://127.0.0.1:8765/cb"),
    (V4, "http://127.0.0.2:8765/cb"),
    (V4, "http://[::1]:8765/cb"),                        # the other loopback host
    (V4, "http://0x7f000001:8765/cb"),
    (V6, "http://127.0.0.1:8765/cb"),
    (V6, "http://[::1]:8765/other"),
    (V6, "http://[::1]x:8765/cb"),
    (V6, "http://[0:0:0:0:0:0:0:1]:8765/cb"),
])
def test_loopback_anything_but_the_port_is_rejected(client, make_client, registered, asked):
    rp = make_client("native", redirect_uris=[registered])
    assert error_page(_authorize(client, rp.client_id, asked)) == "invalid_request"


def test_matches_never_varies_the_port_of_a_non_loopback_uri():
    assert matches([REGISTERED], REGISTERED)
    assert not matches([REGISTERED], "https://rp.example:8443/cb")
    assert not matches(["https://localhost:8765/cb"], "https://localhost:8766/cb")


# --- what may be registered ----------------------------------------------------------------------

@pytest.mark.parametrize(("uri", "native", "problem"), [
    ("https://rp.example/cb", False, None),
    ("https://rp.example/cb?tenant=a", False, None),
    ("https://rp.example/cb", True, None),
    ("http://127.0.0.1:8765/cb", True, None),
    ("http://[::1]:8765/cb", True, None),
    ("cn.gov.example.app:/oauth2redirect", True, None),
    ("javascript:alert(1)", False, "scheme not allowed"),
    ("JaVaScRiPt:alert(1)", False, "scheme not allowed"),      # Keycloak CVE-2026-9086
    ("javascript://rp.example/%0aalert(1)", True, "scheme not allowed"),
    ("data:text/html,<script>alert(1)</script>", False, "scheme not allowed"),
    ("DATA:text/html,x", True, "scheme not allowed"),
    ("vbscript:msgbox(1)", False, "scheme not allowed"),
    ("file:///etc/passwd", True, "scheme not allowed"),
    ("ftp://rp.example/cb", False, "scheme not allowed"),
    ("https://rp.example/cb#frag", False, "fragment not allowed"),   # oidcc-redirect-uri-regfrag
    ("https://rp.example/cb#", False, "fragment not allowed"),
    ("cn.gov.example.app:/cb#x", True, "fragment not allowed"),
    ("https://*.rp.example/cb", False, "wildcards not allowed"),
    ("https://rp.example/*", False, "wildcards not allowed"),
    ("https://user:pw@rp.example/cb", False, "credentials not allowed"),
    ("https://rp.example@evil.example/cb", False, "credentials not allowed"),
    ("https://good@evil@rp.example/cb", False, "credentials not allowed"),
    ("cn.gov.example.app://user@host/cb", True, "credentials not allowed"),
    ("http://rp.example/cb", False, "http only for native apps on 127.0.0.1 or [::1]"),
    ("http://rp.example/cb", True, "http only for native apps on 127.0.0.1 or [::1]"),
    ("http://127.0.0.1:8765/cb", False, "http only for native apps on 127.0.0.1 or [::1]"),
    ("http://localhost:8765/cb", True, "http only for native apps on 127.0.0.1 or [::1]"),
    ("http://127.0.0.1.evil/cb", True, "http only for native apps on 127.0.0.1 or [::1]"),
    ("http://127.0.0.1:99999/cb", True, "http only for native apps on 127.0.0.1 or [::1]"),
    ("cn.gov.example.app:/oauth2redirect", False, "scheme not allowed"),  # web: https only
    ("myapp:/cb", True, "scheme not allowed"),      # RFC 8252 §7.1: reverse-domain names only
    ("https:///cb", False, "host missing"),
    ("/cb", False, "not an absolute URI"),
    ("", False, "empty or padded URI"),
    (" https://rp.example/cb", False, "empty or padded URI"),
    ("https://rp.example/cb\n", False, "empty or padded URI"),
])
def test_registration_problem(uri, native, problem):
    assert registration_problem(uri, native=native) == problem
