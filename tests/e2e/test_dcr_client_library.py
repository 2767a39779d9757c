"""A relying party that uses a third-party OAuth/OIDC library (Authlib's requests client)
registers itself through Dynamic Client Registration with an initial access token from the
portal and completes a login against the IdP on a loopback port: once with a client secret
(after a system admin's approval), once as a sandbox client authenticating with
private_key_jwt and keys at its jwks_uri (oidcc-registration-jwks-uri)."""

import re
import secrets
from urllib.parse import urljoin

import pytest
import requests
from authlib.integrations.requests_client import OAuth2Session
from authlib.oauth2.rfc7523 import PrivateKeyJWT
from joserfc import jwt
from joserfc.jwk import KeySet, RSAKey

from ..conftest import PASSWORD
from ..registration_fixtures import (
    DocumentServer,
    approve_pending,
    grant_role,
    issue_iat,
    make_org,
)
from .live import LiveIdP, free_port

pytestmark = pytest.mark.e2e

IDP_PORT = free_port()
REDIRECT_URI = "https://rp.example.com/callback"


@pytest.fixture
def settings_overrides():
    return {"issuer": f"http://127.0.0.1:{IDP_PORT}", "fetch_allow_loopback": True}


def browser_login(authorization_url: str, account: str, base: str) -> str:
    """What the person does in a browser: sign in, allow, and land on the redirect URI.
    Returns that final URL (the RP's callback, which does not exist: we never fetch it)."""
    browser = requests.Session()
    url = authorization_url
    for _ in range(12):
        response = browser.get(url, allow_redirects=False, timeout=10)
        if response.status_code in (302, 303):
            location = urljoin(url, response.headers["Location"])
            if location.startswith(REDIRECT_URI):
                return location
            url = location
            continue
        html = response.text
        token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html).group(1)
        if 'id="account"' in html:
            form = {"csrf_token": token, "account": account, "password": PASSWORD}
        else:
            form = {"csrf_token": token, "decision": "allow"}
        response = browser.post(url, data=form, allow_redirects=False, timeout=10)
        assert response.status_code in (302, 303), response.text[:300]
        url = urljoin(url, response.headers["Location"])
        if url.startswith(REDIRECT_URI):
            return url
    raise AssertionError("the login did not finish")


def check_id_token(meta: dict, id_token: str, client_id: str, nonce: str) -> dict:
    keys = KeySet.import_key_set(requests.get(meta["jwks_uri"], timeout=10).json())
    claims = jwt.decode(id_token, keys, algorithms=["RS256"]).claims
    assert claims["iss"] == meta["issuer"] and claims["aud"] == client_id
    assert claims["nonce"] == nonce
    return claims


def test_library_registers_with_a_secret_and_logs_in_after_approval(app, make_person):
    owner = make_person(username="developer")
    admin = make_person(username="sysadmin")
    grant_role(app, admin)
    citizen = make_person(username="citizen", display_name="李四")
    iat = issue_iat(app, make_org(app, owner), owner)

    with LiveIdP(app, IDP_PORT) as idp:
        meta = requests.get(idp.url + "/.well-known/openid-configuration", timeout=10).json()
        registered = requests.post(meta["registration_endpoint"], timeout=10, json={
            "client_name": "第三方门户", "redirect_uris": [REDIRECT_URI],
            "grant_types": ["authorization_code", "refresh_token"], "response_types": ["code"],
            "token_endpoint_auth_method": "client_secret_post", "scope": "openid profile",
        }, headers={"Authorization": f"Bearer {iat}"})
        assert registered.status_code == 201, registered.text
        reg = registered.json()
        assert reg["approval_status"] == "pending"
        approve_pending(app, reg["client_id"], admin)

        session = OAuth2Session(reg["client_id"], reg["client_secret"], scope="openid profile",
                                redirect_uri=REDIRECT_URI, code_challenge_method="S256",
                                token_endpoint_auth_method="client_secret_post")
        verifier, nonce = secrets.token_urlsafe(48), secrets.token_urlsafe(16)
        url, state = session.create_authorization_url(meta["authorization_endpoint"],
                                                      code_verifier=verifier, nonce=nonce)
        callback = browser_login(url, "citizen", idp.url)
        token = session.fetch_token(meta["token_endpoint"], authorization_response=callback,
                                    code_verifier=verifier, state=state)
        claims = check_id_token(meta, token["id_token"], reg["client_id"], nonce)
        assert claims["sub"] == citizen.sub
        info = session.get(meta["userinfo_endpoint"], timeout=10).json()
        assert info["name"] == "李四"

        # The registration can be read back with the registration access token.
        read = requests.get(reg["registration_client_uri"], timeout=10, headers={
            "Authorization": f"Bearer {reg['registration_access_token']}"})
        assert read.json()["approval_status"] == "active"


def test_library_registers_a_sandbox_client_with_private_key_jwt(app, make_person):
    from idp.clock import utcnow
    from idp.developer import organisations
    from idp.extensions import db

    owner = make_person(username="developer")
    org = make_org(app, owner)
    with app.app_context():
        organisations.create_test_account(organisation_id=org, username="tester1",
                                          password=PASSWORD, display_name="测试用户",
                                          person_id=owner.id, now=utcnow())
        db.session.commit()
    iat = issue_iat(app, org, owner, environment="sandbox")
    key = RSAKey.generate_key(2048, parameters={"kid": "rp-key-1", "alg": "RS256"},
                              private=True)

    with LiveIdP(app, IDP_PORT) as idp, DocumentServer() as keys:
        keys.documents["/jwks.json"] = (200, {"keys": [key.as_dict(private=False)]}, {})
        meta = requests.get(idp.url + "/.well-known/openid-configuration", timeout=10).json()
        reg = requests.post(meta["registration_endpoint"], timeout=10, json={
            "client_name": "沙箱门户", "redirect_uris": [REDIRECT_URI],
            "token_endpoint_auth_method": "private_key_jwt",
            "token_endpoint_auth_signing_alg": "RS256", "jwks_uri": keys.url("/jwks.json"),
        }, headers={"Authorization": f"Bearer {iat}"}).json()
        assert reg["approval_status"] == "active" and "client_secret" not in reg

        session = OAuth2Session(reg["client_id"], key, scope="openid profile",
                                redirect_uri=REDIRECT_URI, code_challenge_method="S256",
                                token_endpoint_auth_method="private_key_jwt")
        session.register_client_auth_method(PrivateKeyJWT(meta["token_endpoint"]))
        verifier, nonce = secrets.token_urlsafe(48), secrets.token_urlsafe(16)
        url, state = session.create_authorization_url(meta["authorization_endpoint"],
                                                      code_verifier=verifier, nonce=nonce)
        callback = browser_login(url, "tester1", idp.url)
        token = session.fetch_token(meta["token_endpoint"], authorization_response=callback,
                                    code_verifier=verifier, state=state)
        check_id_token(meta, token["id_token"], reg["client_id"], nonce)
        assert "/jwks.json" in keys.hits
        # The refresh uses a new assertion (a new jti) and rotates the refresh token.
        refreshed = session.refresh_token(meta["token_endpoint"])
        assert refreshed["refresh_token"] != token["refresh_token"]
