"""OIDC RP-Initiated Logout 1.0 and Front-Channel Logout 1.0 (oidcc-rp-initiated-logout-*,
oidcc-frontchannel-rp-initiated-logout and their discovery checks).

The IdP never answers a logout with a bare 302: it renders the "signed out" page, which loads the
clients' front-channel logout URIs and then continues to the verified post-logout URI.
"""

import base64
import html
import json
import re
from urllib.parse import parse_qs, urlsplit

import pytest
from joserfc import jwt
from joserfc.jwk import OctKey, RSAKey

from ..conftest import ISSUER
from ..helpers import Flow, csrf_token, query, signed_in

LOGGED_OUT = "https://rp.example/logged-out"
CONTINUE = re.compile(r'id="continue" href="([^"]+)"')
IFRAME = re.compile(r'<iframe class="frontchannel" src="([^"]+)"')


@pytest.fixture
def rp(make_client):
    return make_client(post_logout_redirect_uris=[LOGGED_OUT])


@pytest.fixture
def id_token(client, make_person, rp):
    signed_in(client, make_person)
    return Flow(client, rp).tokens()["id_token"]


def logout(http, **params):
    return http.get("/logout", query_string=params)


def continue_target(response) -> str | None:
    match = CONTINUE.search(response.get_data(as_text=True))
    return html.unescape(match.group(1)) if match else None


def assert_no_redirect(response):
    assert "Location" not in response.headers
    assert continue_target(response) is None
    assert f'href="{LOGGED_OUT}' not in response.get_data(as_text=True)


def assert_logged_out(http, rp):
    """A following prompt=none request fails: the session really ended."""
    response = Flow(http, rp).authorize(prompt="none")
    assert response.status_code in (302, 303)
    assert query(response)["error"] == "login_required"


def assert_still_logged_in(http):
    assert http.get("/").status_code == 200


def test_oidcc_rp_initiated_logout(client, rp, id_token):
    response = logout(client, id_token_hint=id_token, post_logout_redirect_uri=LOGGED_OUT,
                      state="xyz-state")
    assert response.status_code == 200
    target = continue_target(response)
    assert target is not None
    parts = urlsplit(target)
    assert f"{parts.scheme}://{parts.netloc}{parts.path}" == LOGGED_OUT
    assert parse_qs(parts.query) == {"state": ["xyz-state"]}
    assert_logged_out(client, rp)


def test_oidcc_rp_initiated_logout_no_state(client, rp, id_token):
    response = logout(client, id_token_hint=id_token, post_logout_redirect_uri=LOGGED_OUT)
    assert response.status_code == 200
    assert continue_target(response) == LOGGED_OUT
    assert_logged_out(client, rp)


def test_oidcc_rp_initiated_logout_by_post(client, rp, id_token):
    # The logout endpoint accepts POST as well (RP-Initiated Logout §2) without a CSRF token:
    # the id_token_hint is the proof.
    response = client.post("/logout", data={"id_token_hint": id_token,
                                            "post_logout_redirect_uri": LOGGED_OUT})
    assert response.status_code == 200
    assert continue_target(response) == LOGGED_OUT
    assert_logged_out(client, rp)


@pytest.mark.parametrize("uri", [
    "https://rp.example/elsewhere",                        # bad-post-logout-redirect-uri
    LOGGED_OUT + "?foo=bar",                               # query-added-to-post-logout-redirect-uri
    "https://RP.example/logged-out",
    LOGGED_OUT + "/",
    "https://evil.example/logged-out",
])
def test_oidcc_rp_initiated_logout_bad_post_logout_redirect_uri(client, rp, id_token, uri):
    response = logout(client, id_token_hint=id_token, post_logout_redirect_uri=uri,
                      state="s1")
    assert response.status_code == 200
    assert_no_redirect(response)
    assert html.escape(uri) not in response.get_data(as_text=True)
    assert_logged_out(client, rp)


def _alg_none(token: str) -> str:
    _header, payload, _sig = token.split(".")
    header = base64.urlsafe_b64encode(json.dumps({"alg": "none"}).encode()).rstrip(b"=")
    return f"{header.decode()}.{payload}."


def _foreign(token: str, *, same_kid: bool) -> str:
    claims = _claims(token)
    key = RSAKey.generate_key(2048, private=True)
    header = {"alg": "RS256", "kid": _kid(token) if same_kid else "someone-else"}
    return jwt.encode(header, claims, key, algorithms=["RS256"])


def _hmac(token: str) -> str:
    # HS256 "signed" with a key the attacker chose: never accepted for our own tokens.
    return jwt.encode({"alg": "HS256", "kid": _kid(token)}, _claims(token),
                      OctKey.import_key("k" * 32), algorithms=["HS256"])


def _segment(token: str, index: int) -> dict:
    part = token.split(".")[index]
    return json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))


def _claims(token: str) -> dict:
    return _segment(token, 1)


def _kid(token: str) -> str:
    return _segment(token, 0)["kid"]


@pytest.mark.parametrize("tamper", [
    pytest.param(_alg_none, id="modified-id-token-hint"),
    pytest.param(lambda t: _foreign(t, same_kid=False), id="bad-id-token-hint"),
    pytest.param(lambda t: _foreign(t, same_kid=True), id="bad-id-token-hint-our-kid"),
    pytest.param(lambda t: t[:-4] + ("AAAA" if not t.endswith("AAAA") else "BBBB"),
                 id="bad-signature"),
    pytest.param(_hmac, id="hs256"),
    pytest.param(lambda t: "not-a-jwt", id="garbage"),
])
def test_oidcc_rp_initiated_logout_bad_id_token_hint(client, rp, id_token, tamper):
    response = logout(client, id_token_hint=tamper(id_token),
                      post_logout_redirect_uri=LOGGED_OUT, state="s1")
    assert response.status_code == 400
    assert_no_redirect(response)
    # Nothing was ended without the person's say-so.
    assert_still_logged_in(client)


def test_id_token_hint_from_another_issuer_is_refused(client, rp, id_token, app):
    from idp.oidc.issuance import sign

    # Signed with our own key, but not issued by us: the hint must name this issuer.
    claims = {**_claims(id_token), "iss": "https://other.example"}
    token = sign(app.extensions["tongban.provider"], "RS256", claims)
    response = logout(client, id_token_hint=token, post_logout_redirect_uri=LOGGED_OUT)
    assert response.status_code == 400
    assert_no_redirect(response)


def test_oidcc_rp_initiated_logout_no_id_token_hint(client, rp, id_token):
    response = logout(client, post_logout_redirect_uri=LOGGED_OUT, client_id=rp.client_id,
                      state="s1")
    assert response.status_code == 200
    body = response.get_data(as_text=True)
    assert 'action="/logout/confirm"' in body
    assert_no_redirect(response)
    assert_still_logged_in(client)
    # Confirming logs out, but still never redirects to an unproven URI.
    confirmed = client.post("/logout/confirm", data={
        "csrf_token": csrf_token(body), "post_logout_redirect_uri": LOGGED_OUT,
        "client_id": rp.client_id, "state": "s1"})
    assert confirmed.status_code == 200
    assert_no_redirect(confirmed)
    assert_logged_out(client, rp)


def test_oidcc_rp_initiated_logout_no_params(client, rp, id_token):
    response = logout(client)
    assert response.status_code == 200
    body = response.get_data(as_text=True)
    assert 'action="/logout/confirm"' in body
    assert_still_logged_in(client)
    confirmed = client.post("/logout/confirm", data={"csrf_token": csrf_token(body)})
    assert confirmed.status_code == 200
    assert 'id="notifying"' not in confirmed.get_data(as_text=True)
    assert_no_redirect(confirmed)
    assert_logged_out(client, rp)
    # The session cookie is cleared.
    assert any("tongban_session=;" in c for c in confirmed.headers.getlist("Set-Cookie"))


def test_oidcc_rp_initiated_logout_only_state_without_session(client, rp):
    response = logout(client, state="s1")
    assert response.status_code == 200
    assert_no_redirect(response)
    assert 'action="/logout/confirm"' not in response.get_data(as_text=True)


def test_logout_confirmation_requires_csrf(client, rp, id_token):
    response = client.post("/logout/confirm", data={})
    assert response.status_code == 400
    assert_still_logged_in(client)
    forged = client.post("/logout/confirm", data={"csrf_token": "forged"})
    assert forged.status_code == 400
    assert_still_logged_in(client)


# --- front-channel logout ------------------------------------------------------------------------

def test_oidcc_frontchannel_rp_initiated_logout(client, make_person, make_client):
    portal_a = make_client(name="Portal A", redirect_uris=["https://a.example/cb"],
                           post_logout_redirect_uris=["https://a.example/bye"],
                           frontchannel_logout_uri="https://a.example/fc")
    portal_b = make_client(name="Portal B", redirect_uris=["https://b.example/cb"],
                           frontchannel_logout_uri="https://b.example/fc?tenant=1")
    # A client that did not join this session is not notified.
    make_client(name="Portal C", redirect_uris=["https://c.example/cb"],
                frontchannel_logout_uri="https://c.example/fc")
    signed_in(client, make_person)
    token = Flow(client, portal_a).tokens()["id_token"]
    Flow(client, portal_b).tokens()
    sid = _claims(token)["sid"]

    response = logout(client, id_token_hint=token, post_logout_redirect_uri="https://a.example/bye")
    assert response.status_code == 200
    frames = [html.unescape(u) for u in IFRAME.findall(response.get_data(as_text=True))]
    assert len(frames) == 2
    by_host = {urlsplit(u).netloc: urlsplit(u) for u in frames}
    assert set(by_host) == {"a.example", "b.example"}
    assert by_host["a.example"].path == "/fc"
    assert parse_qs(by_host["a.example"].query) == {"iss": [ISSUER], "sid": [sid]}
    assert parse_qs(by_host["b.example"].query) == {"tenant": ["1"], "iss": [ISSUER],
                                                    "sid": [sid]}
    csp = response.headers["Content-Security-Policy"]
    directives = dict(d.strip().split(" ", 1) for d in csp.split(";"))
    assert directives["frame-src"].split() == ["https://a.example", "https://b.example"]
    assert directives["frame-ancestors"] == "'none'"
    assert continue_target(response) == "https://a.example/bye"
    assert_logged_out(client, portal_a)


def test_logged_out_page_without_frontchannel_clients_frames_nothing(client, rp, id_token):
    response = logout(client, id_token_hint=id_token)
    csp = response.headers["Content-Security-Policy"]
    assert "frame-src 'none'" in csp
    assert not IFRAME.search(response.get_data(as_text=True))


def test_logout_revokes_the_sessions_tokens(client, make_person, rp):
    signed_in(client, make_person)
    tokens = Flow(client, rp).tokens()
    logout(client, id_token_hint=tokens["id_token"])
    info = client.get("/userinfo",
                      headers={"Authorization": f"Bearer {tokens['access_token']}"})
    assert info.status_code == 401
    assert info.get_json()["error"] == "invalid_token"


def test_oidcc_frontchannel_logout_discovery_endpoint_verification(client):
    meta = client.get("/.well-known/openid-configuration").get_json()
    assert meta["end_session_endpoint"] == ISSUER + "/logout"
    assert meta["frontchannel_logout_supported"] is True
    assert meta["frontchannel_logout_session_supported"] is True
