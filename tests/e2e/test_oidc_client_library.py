"""A third-party OIDC client library against the live IdP: Authlib's requests client and joserfc,
used exactly as a relying party uses them (OIDC Core §3.1, RFC 7636, RFC 9207, RFC 6749 §6,
RFC 7009, RP-Initiated Logout 1.0). The person's browser is scripted with `requests`."""

from __future__ import annotations

import html
import re
from urllib.parse import parse_qs, urljoin, urlsplit

import pytest
import requests
from authlib.common.security import generate_token
from authlib.integrations.requests_client import OAuth2Session, OAuthError
from authlib.oidc.core import CodeIDToken
from joserfc import jwt
from joserfc.errors import InvalidClaimError
from joserfc.jwk import KeySet
from joserfc.jws import JWSRegistry

from ..helpers import csrf_token
from .conftest import DEMO_PASSWORD, DEMO_USER, free_port

pytestmark = pytest.mark.e2e

SCOPE = "openid profile email"


class Browser:
    """A person's browser: follows the IdP's own redirects, signs in and approves consent when
    asked, and stops at the first redirect that leaves the IdP (nothing listens there)."""

    def __init__(self, issuer: str):
        self.issuer = issuer
        self.http = requests.Session()

    def go(self, url: str) -> str:
        response = self.http.get(url, allow_redirects=False, timeout=10)
        for _ in range(10):
            if response.is_redirect:
                location = urljoin(response.url, response.headers["Location"])
                if not location.startswith(self.issuer + "/"):
                    return location
                response = self.http.get(location, allow_redirects=False, timeout=10)
                continue
            path = urlsplit(response.url).path
            assert response.status_code == 200, (response.status_code, response.text[:500])
            if path == "/login":
                form = {"account": DEMO_USER, "password": DEMO_PASSWORD}
            elif path.startswith("/consent/"):
                form = {"decision": "allow"}
            else:
                raise AssertionError(f"unexpected page {response.url}: {response.text[:300]}")
            form["csrf_token"] = csrf_token(response.text)
            response = self.http.post(response.url, data=form, allow_redirects=False,
                                      timeout=10)
        raise AssertionError("redirect loop")


def params_of(url: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


@pytest.fixture(scope="module")
def metadata(live_idp) -> dict:
    response = requests.get(live_idp.issuer + "/.well-known/openid-configuration", timeout=10)
    assert response.status_code == 200
    return response.json()


@pytest.fixture(scope="module")
def registered(live_idp) -> tuple[dict, dict]:
    """Registered by the operator CLI: a confidential web client and a public native app,
    each with a loopback redirect URI."""
    web, app = f"http://127.0.0.1:{free_port()}", f"http://127.0.0.1:{free_port()}"
    return tuple(live_idp.create_clients(
        ("--name", "E2E RP", "--type", "web", "--redirect-uri", web + "/cb",
         "--post-logout-redirect-uri", web + "/bye"),
        ("--name", "E2E native app", "--type", "native", "--redirect-uri", app + "/cb")))


@pytest.fixture(scope="module")
def rp(registered) -> dict:
    return registered[0]


@pytest.fixture(scope="module")
def public_rp(registered) -> dict:
    return registered[1]


def oauth_session(client: dict) -> OAuth2Session:
    return OAuth2Session(client["client_id"], client.get("client_secret"), scope=SCOPE,
                         redirect_uri=client["redirect_uris"][0], code_challenge_method="S256",
                         token_endpoint_auth_method=client["token_endpoint_auth_method"])


def sign_in(metadata: dict, client: dict, browser: Browser, **extra):
    """Authorization request with S256 PKCE, nonce and state; returns the session, the
    redirect back, and the verifier and nonce the RP kept."""
    session = oauth_session(client)
    verifier, nonce = generate_token(48), generate_token(20)
    url, state = session.create_authorization_url(metadata["authorization_endpoint"],
                                                  code_verifier=verifier, nonce=nonce, **extra)
    back = browser.go(url)
    assert back.startswith(client["redirect_uris"][0] + "?"), back
    params = params_of(back)
    assert params["state"] == state
    assert params["iss"] == metadata["issuer"]  # RFC 9207 §2.4: the RP compares it
    return session, back, verifier, nonce


def tokens_for(metadata, client, browser):
    session, back, verifier, nonce = sign_in(metadata, client, browser)
    token = session.fetch_token(metadata["token_endpoint"], authorization_response=back,
                                code_verifier=verifier)
    return session, token, nonce


def validate_id_token(metadata: dict, client: dict, token: dict, nonce: str) -> CodeIDToken:
    """What Authlib's OpenID client mixin does: signature against jwks_uri with the advertised
    algorithms, then the ID token claims rules (OIDC Core §3.1.3.7)."""
    keys = KeySet.import_key_set(requests.get(metadata["jwks_uri"], timeout=10).json())
    decoded = jwt.decode(token["id_token"], keys, registry=JWSRegistry(
        algorithms=metadata["id_token_signing_alg_values_supported"]))
    claims = CodeIDToken(decoded.claims, decoded.header, {
        "iss": {"essential": True, "value": metadata["issuer"]},
        "aud": {"essential": True, "value": client["client_id"]},
        "auth_time": {"essential": True}, "sid": {"essential": True},
        "nonce": {"essential": True}, "at_hash": {"essential": True},
    }, {"nonce": nonce, "client_id": client["client_id"], "access_token": token["access_token"]})
    claims.validate()
    return claims


def test_discovery(live_idp, metadata):
    assert metadata["issuer"] == live_idp.issuer
    for name in ("authorization_endpoint", "token_endpoint", "userinfo_endpoint", "jwks_uri",
                 "end_session_endpoint", "revocation_endpoint"):
        assert metadata[name].startswith(live_idp.issuer + "/")
    assert metadata["code_challenge_methods_supported"] == ["S256"]
    assert metadata["authorization_response_iss_parameter_supported"] is True
    assert "none" not in metadata["id_token_signing_alg_values_supported"]
    keys = requests.get(metadata["jwks_uri"], timeout=10).json()["keys"]
    assert keys and all("d" not in key for key in keys)


def test_code_flow_confidential_client(live_idp, metadata, rp):
    browser = Browser(live_idp.issuer)
    session, token, nonce = tokens_for(metadata, rp, browser)
    assert token["token_type"] == "Bearer"
    claims = validate_id_token(metadata, rp, token, nonce)
    assert claims["acr"] and claims["amr"] == ["pwd"]
    assert claims["auth_time"] <= claims["iat"] < claims["exp"]

    info = session.get(metadata["userinfo_endpoint"], timeout=10)
    assert info.status_code == 200
    assert info.json()["sub"] == claims["sub"]
    assert info.json()["name"] == "张三"
    assert info.json()["email"] == "demo@example.cn"


@pytest.mark.parametrize("claim", ["nonce", "aud", "at_hash"])
def test_id_token_binds_the_request(live_idp, metadata, rp, claim):
    """A replayed or substituted ID token fails the RP's checks: the token is bound to the
    nonce, the client and the access token issued beside it."""
    _, token, nonce = tokens_for(metadata, rp, Browser(live_idp.issuer))
    client = dict(rp)
    if claim == "nonce":
        nonce = generate_token(20)
    elif claim == "aud":
        client["client_id"] = "tbc_someone_else"
    else:
        token = {**token, "access_token": token["access_token"] + "x"}
    with pytest.raises(InvalidClaimError) as caught:
        validate_id_token(metadata, client, token, nonce)
    assert caught.value.claim == claim


def test_refresh_rotates_and_reuse_revokes_the_family(live_idp, metadata, rp):
    session, first, _ = tokens_for(metadata, rp, Browser(live_idp.issuer))
    second = session.refresh_token(metadata["token_endpoint"],
                                   refresh_token=first["refresh_token"])
    assert second["refresh_token"] != first["refresh_token"]
    assert second["access_token"] != first["access_token"]
    third = session.refresh_token(metadata["token_endpoint"],
                                  refresh_token=second["refresh_token"])
    assert third["refresh_token"] not in (first["refresh_token"], second["refresh_token"])

    # The first token was rotated long ago (its successor already used): a replay.
    with pytest.raises(OAuthError) as caught:
        session.refresh_token(metadata["token_endpoint"], refresh_token=first["refresh_token"])
    assert caught.value.error == "invalid_grant"
    # ...which ends the whole family, the newest token included (RFC 9700 §4.14.2).
    with pytest.raises(OAuthError) as caught:
        session.refresh_token(metadata["token_endpoint"], refresh_token=third["refresh_token"])
    assert caught.value.error == "invalid_grant"
    info = requests.get(metadata["userinfo_endpoint"], timeout=10,
                        headers={"Authorization": f"Bearer {third['access_token']}"})
    assert info.status_code == 401


def test_revocation(live_idp, metadata, rp):
    session, token, _ = tokens_for(metadata, rp, Browser(live_idp.issuer))
    response = session.revoke_token(metadata["revocation_endpoint"],
                                    token=token["refresh_token"],
                                    token_type_hint="refresh_token")
    assert response.status_code == 200
    with pytest.raises(OAuthError) as caught:
        session.refresh_token(metadata["token_endpoint"], refresh_token=token["refresh_token"])
    assert caught.value.error == "invalid_grant"

    response = session.revoke_token(metadata["revocation_endpoint"],
                                    token=token["access_token"], token_type_hint="access_token")
    assert response.status_code == 200
    info = requests.get(metadata["userinfo_endpoint"], timeout=10,
                        headers={"Authorization": f"Bearer {token['access_token']}"})
    assert info.status_code == 401
    assert 'error="invalid_token"' in info.headers["WWW-Authenticate"]


def test_rp_initiated_logout(live_idp, metadata, rp):
    browser = Browser(live_idp.issuer)
    _, token, _ = tokens_for(metadata, rp, browser)
    after, state = rp["post_logout_redirect_uris"][0], generate_token(10)
    page = browser.http.get(metadata["end_session_endpoint"], timeout=10, params={
        "id_token_hint": token["id_token"], "post_logout_redirect_uri": after, "state": state})
    assert page.status_code == 200
    link = re.search(r'id="continue" href="([^"]+)"', page.text)
    assert link, page.text[:500]
    target = html.unescape(link.group(1))
    assert target.split("?")[0] == after
    assert params_of(target)["state"] == state

    # The IdP session is gone: a silent request now says so (OIDC Core §3.1.2.6).
    _, back, _, _ = sign_in(metadata, rp, browser, prompt="none")
    assert params_of(back)["error"] == "login_required"
    assert "code" not in params_of(back)


def test_rp_initiated_logout_ignores_an_unregistered_redirect(live_idp, metadata, rp):
    """§3: no redirect to a URI the client did not register; the logout itself proceeds."""
    browser = Browser(live_idp.issuer)
    _, token, _ = tokens_for(metadata, rp, browser)
    page = browser.http.get(metadata["end_session_endpoint"], timeout=10, allow_redirects=False,
                            params={"id_token_hint": token["id_token"],
                                    "post_logout_redirect_uri": "https://evil.example/"})
    assert page.status_code == 200
    assert "Location" not in page.headers
    assert 'href="https://evil.example' not in page.text and 'id="continue"' not in page.text
    _, back, _, _ = sign_in(metadata, rp, browser, prompt="none")
    assert params_of(back)["error"] == "login_required"


def test_public_client_with_pkce(live_idp, metadata, public_rp):
    assert public_rp["token_endpoint_auth_method"] == "none"
    assert "client_secret" not in public_rp or public_rp["client_secret"] is None
    session, token, nonce = tokens_for(metadata, public_rp, Browser(live_idp.issuer))
    validate_id_token(metadata, public_rp, token, nonce)
    assert session.get(metadata["userinfo_endpoint"], timeout=10).status_code == 200
    renewed = session.refresh_token(metadata["token_endpoint"],
                                    refresh_token=token["refresh_token"])
    assert renewed["refresh_token"] != token["refresh_token"]


@pytest.mark.parametrize("verifier", [None, "wrong-" + "v" * 43], ids=["missing", "wrong"])
def test_public_client_needs_the_right_verifier(live_idp, metadata, public_rp, verifier):
    session, back, _, _ = sign_in(metadata, public_rp, Browser(live_idp.issuer))
    extra = {"code_verifier": verifier} if verifier else {}
    with pytest.raises(OAuthError) as caught:
        session.fetch_token(metadata["token_endpoint"], authorization_response=back, **extra)
    assert caught.value.error == "invalid_grant"
