"""The sample portal's back-channel logout endpoint validates logout tokens as OIDC Back-Channel
Logout 1.0 §2.6 requires, and drops its sessions for that sid."""

from __future__ import annotations

import secrets
import time

import pytest
from joserfc import jwt
from joserfc.jwk import ECKey, KeySet, RSAKey

from clients.portal.app import create_portal

ISSUER = "https://id.example.gov.cn"
CLIENT_ID = "tbc_portal"
EVENT = "http://schemas.openid.net/event/backchannel-logout"


@pytest.fixture(scope="module")
def keys():
    return RSAKey.generate_key(2048, parameters={"kid": "k1", "alg": "RS256", "use": "sig"},
                               private=True)


@pytest.fixture
def portal(keys):
    app = create_portal(name="Portal", issuer=ISSUER, client_id=CLIENT_ID, client_secret="s",
                        base_url="http://127.0.0.1:5999")
    verifier = app.extensions["portal.logout_verifier"]
    verifier._jwks = lambda force: KeySet([keys]).as_dict(private=False)
    return app


def claims(**overrides):
    now = int(time.time())
    body = {"iss": ISSUER, "aud": CLIENT_ID, "iat": now, "exp": now + 120,
            "jti": secrets.token_urlsafe(8), "events": {EVENT: {}}, "sid": "sid-1",
            "sub": "sub-1"}
    body.update(overrides)
    return {k: v for k, v in body.items() if v is not None}


def token(key, body, typ="logout+jwt", alg="RS256"):
    header = {"alg": alg, "kid": key.kid}
    if typ:
        header["typ"] = typ
    return jwt.encode(header, body, key, algorithms=[alg])


def seed_sessions(portal):
    store = portal.extensions["portal.sessions"]
    mine = store.create({"claims": {"sub": "sub-1"}, "sid": "sid-1", "iss": ISSUER})
    other = store.create({"claims": {"sub": "sub-2"}, "sid": "sid-2", "iss": ISSUER})
    return store, mine, other


def test_valid_token_drops_that_sid_only(portal, keys):
    store, mine, other = seed_sessions(portal)
    response = portal.test_client().post("/backchannel-logout",
                                         data={"logout_token": token(keys, claims())})
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    assert store.get(mine) is None and store.get(other) is not None


def test_sub_only_token_drops_that_subject(portal, keys):
    store, mine, other = seed_sessions(portal)
    response = portal.test_client().post("/backchannel-logout", data={
        "logout_token": token(keys, claims(sid=None))})
    assert response.status_code == 200
    assert store.get(mine) is None and store.get(other) is not None


NOW = int(time.time())


@pytest.mark.parametrize("body,typ,reason", [
    (claims(iss="https://evil.example"), "logout+jwt", "wrong issuer"),
    (claims(aud="tbc_other"), "logout+jwt", "not addressed to this client"),
    (claims(events=None), "logout+jwt", "no back-channel logout event"),
    (claims(events={"http://example.com/other": {}}), "logout+jwt",
     "no back-channel logout event"),
    (claims(nonce="n-0S6_WzA2Mj"), "logout+jwt", "a logout token must not contain a nonce"),
    (claims(sid=None, sub=None), "logout+jwt", "neither sid nor sub"),
    (claims(iat=NOW - 3600, exp=NOW + 3600), "logout+jwt", "iat missing or not fresh"),
    (claims(iat=None), "logout+jwt", "iat missing or not fresh"),
    (claims(exp=NOW - 3600), "logout+jwt", "expired"),
    (claims(jti=None), "logout+jwt", "missing jti"),
    (claims(), "JWT", "typ is not logout+jwt"),
    (claims(), None, "typ is not logout+jwt"),
])
def test_invalid_tokens_are_refused(portal, keys, body, typ, reason):
    store, mine, _ = seed_sessions(portal)
    response = portal.test_client().post("/backchannel-logout",
                                         data={"logout_token": token(keys, body, typ=typ)})
    assert response.status_code == 400
    assert response.get_json() == {"error": "invalid_request", "error_description": reason}
    assert store.get(mine) is not None


def test_replayed_jti_is_refused(portal, keys):
    value = token(keys, claims(jti="once"))
    http = portal.test_client()
    assert http.post("/backchannel-logout", data={"logout_token": value}).status_code == 200
    again = http.post("/backchannel-logout", data={"logout_token": value})
    assert again.status_code == 400
    assert again.get_json()["error_description"] == "replayed jti"


def test_signature_by_another_key_is_refused(portal):
    stranger = ECKey.generate_key("P-256", parameters={"kid": "k1", "alg": "ES256"},
                                  private=True)
    response = portal.test_client().post("/backchannel-logout", data={
        "logout_token": token(stranger, claims(), alg="ES256")})
    assert response.status_code == 400
    assert response.get_json()["error_description"].startswith("bad signature")


def test_unsigned_token_is_refused(portal):
    import base64
    import json

    def part(value):
        return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()

    unsigned = part({"alg": "none", "typ": "logout+jwt"}) + "." + part(claims()) + "."
    response = portal.test_client().post("/backchannel-logout",
                                         data={"logout_token": unsigned})
    assert response.status_code == 400


def test_missing_token(portal):
    response = portal.test_client().post("/backchannel-logout")
    assert response.status_code == 400
    assert response.get_json()["error_description"] == "missing logout_token"
