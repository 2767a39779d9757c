"""UserInfo (OIDC Core §5.3, RFC 6750): where the bearer token may travel, which tokens are
refused, and the claims each scope releases (oidcc-scope-profile/-email/-phone/-all)."""

import base64
import hashlib
import hmac
import json

import pytest
from joserfc import jwt
from joserfc.jwk import ECKey, KeySet
from sqlalchemy import update

from idp.extensions import db
from idp.models import Person

from ..helpers import Flow, bearer, refresh, revoke, signed_in


@pytest.fixture
def rp(make_client):
    return make_client()


@pytest.fixture
def person(client, make_person):
    return signed_in(client, make_person, phone="13800138000", display_name="张三·李")


@pytest.fixture
def tokens(client, person, rp) -> dict:
    return Flow(client, rp).tokens()


def assert_bearer_error(response, error: str, status: int) -> None:
    assert response.status_code == status, response.get_data(as_text=True)
    challenge = response.headers["WWW-Authenticate"]
    assert challenge.startswith("Bearer ")
    assert f'error="{error}"' in challenge
    assert response.get_json()["error"] == error


# --- where the token travels (RFC 6750 §2) -------------------------------------------------------

@pytest.mark.parametrize("method", ["GET", "POST"])
def test_bearer_in_header(client, tokens, person, method):
    response = client.open("/userinfo", method=method, headers=bearer(tokens["access_token"]))
    assert response.status_code == 200
    assert response.get_json()["sub"] == person.sub
    assert response.headers["Cache-Control"] == "no-store"


def test_bearer_in_form_body(client, tokens, person):
    response = client.post("/userinfo", data={"access_token": tokens["access_token"]})
    assert response.status_code == 200
    assert response.get_json()["sub"] == person.sub


def test_bearer_in_header_and_body(client, tokens):
    response = client.post("/userinfo", headers=bearer(tokens["access_token"]),
                           data={"access_token": tokens["access_token"]})
    assert_bearer_error(response, "invalid_request", 400)


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_bearer_in_query(client, tokens, method):
    response = client.open("/userinfo", method=method,
                           query_string={"access_token": tokens["access_token"]})
    assert_bearer_error(response, "invalid_request", 400)


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Basic dXNlcjpwdw=="},
                                     {"Authorization": "Bearer "}])
def test_missing_token(client, headers):
    response = client.get("/userinfo", headers=headers)
    assert response.status_code == 401
    # RFC 6750 §3.1: no error code when the request carried no token at all.
    assert response.headers["WWW-Authenticate"].startswith("Bearer ")
    assert "error=" not in response.headers["WWW-Authenticate"]


# --- refused tokens ------------------------------------------------------------------------------

def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _json(part: str) -> dict:
    return json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))


def _parts(tokens: dict) -> tuple[dict, dict, str]:
    header, payload, signature = tokens["access_token"].split(".")
    return _json(header), _json(payload), signature


def _unsigned(header: dict, claims: dict) -> str:
    return f"{_b64(json.dumps(header).encode())}.{_b64(json.dumps(claims).encode())}"


def tampered(http, tokens: dict) -> str:
    header, claims, signature = _parts(tokens)
    claims["scope"] += " admin"
    return f"{_unsigned(header, claims)}.{signature}"


def alg_none(http, tokens: dict) -> str:
    header, claims, _ = _parts(tokens)
    return _unsigned({**header, "alg": "none"}, claims) + "."


def hs256_with_our_public_key(http, tokens: dict) -> str:
    """CVE-2024-37568 style: HMAC keyed with the published EC key."""
    header, claims, _ = _parts(tokens)
    published = next(k for k in http.get("/jwks").get_json()["keys"]
                     if k["kid"] == header["kid"])
    secret = ECKey.import_key(published).as_pem(private=False)
    signing_input = _unsigned({**header, "alg": "HS256"}, claims)
    mac = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{_b64(mac)}"


def foreign_key_same_kid(http, tokens: dict) -> str:
    header, claims, _ = _parts(tokens)
    key = ECKey.generate_key("P-256", private=True)
    return jwt.encode(header, claims, key, algorithms=["ES256"])


def embedded_jwk(http, tokens: dict) -> str:
    """CVE-2026-27962 style: a key carried in the token's own header."""
    header, claims, _ = _parts(tokens)
    key = ECKey.generate_key("P-256", private=True)
    return jwt.encode({**header, "jwk": key.as_dict(private=False)}, claims, key,
                      algorithms=["ES256"])


def id_token_instead(http, tokens: dict) -> str:
    return tokens["id_token"]


def garbage(http, tokens: dict) -> str:
    return "not.a.token"


@pytest.mark.parametrize("forge", [tampered, alg_none, hs256_with_our_public_key,
                                   foreign_key_same_kid, embedded_jwk, id_token_instead, garbage])
def test_forged_tokens(client, tokens, forge):
    response = client.get("/userinfo", headers=bearer(forge(client, tokens)))
    assert_bearer_error(response, "invalid_token", 401)


def test_expired_token(frozen_clock, client, tokens):
    frozen_clock.advance(599)
    assert client.get("/userinfo", headers=bearer(tokens["access_token"])).status_code == 200
    frozen_clock.advance(1)
    response = client.get("/userinfo", headers=bearer(tokens["access_token"]))
    assert_bearer_error(response, "invalid_token", 401)


def test_revoked_token(client, rp, tokens):
    assert revoke(client, rp, tokens["access_token"]).status_code == 200
    response = client.get("/userinfo", headers=bearer(tokens["access_token"]))
    assert_bearer_error(response, "invalid_token", 401)


def test_token_without_openid(client, rp, tokens):
    narrowed = refresh(client, rp, tokens["refresh_token"], scope="profile").get_json()
    assert narrowed["scope"] == "profile" and "id_token" not in narrowed
    response = client.get("/userinfo", headers=bearer(narrowed["access_token"]))
    assert_bearer_error(response, "insufficient_scope", 403)


# --- claims per scope (OIDC Core §5.4) -----------------------------------------------------------

SCOPES = {
    "openid": set(),
    "openid profile": {"name", "preferred_username", "updated_at"},
    "openid email": {"email", "email_verified"},
    "openid phone": {"phone_number", "phone_number_verified"},
    "openid profile email phone": {"name", "preferred_username", "updated_at", "email",
                                   "email_verified", "phone_number", "phone_number_verified"},
}


@pytest.mark.parametrize("scope", SCOPES)
def test_oidcc_scope(client, person, rp, scope):
    tokens = Flow(client, rp, scope=scope).tokens()
    info = client.get("/userinfo", headers=bearer(tokens["access_token"])).get_json()
    # real_name_level goes with every openid token (DESIGN §2): "L0" for a new account.
    assert set(info) == {"sub", "real_name_level"} | SCOPES[scope]
    id_token = jwt.decode(tokens["id_token"],
                          KeySet.import_key_set(client.get("/jwks").get_json()),
                          algorithms=["RS256"])
    assert info["sub"] == id_token.claims["sub"] == person.sub


def test_claim_values(client, person, rp):
    tokens = Flow(client, rp, scope="openid profile email phone").tokens()
    info = client.get("/userinfo", headers=bearer(tokens["access_token"])).get_json()
    assert info["name"] == "张三·李"
    assert info["preferred_username"] == person.username
    assert isinstance(info["updated_at"], int)
    assert info["email"] == person.email and info["email_verified"] is False
    assert info["phone_number"] == f"+86{person.phone}"
    assert info["phone_number_verified"] is False


def test_disabled_person(app, client, person, tokens):
    with app.app_context():
        db.session.execute(update(Person).where(Person.id == person.id).values(status="disabled"))
        db.session.commit()
    response = client.get("/userinfo", headers=bearer(tokens["access_token"]))
    assert_bearer_error(response, "invalid_token", 401)
