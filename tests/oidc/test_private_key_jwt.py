"""private_key_jwt client authentication (RFC 7523, OIDC Core §9): accepted assertions
(oidcc-ensure-client-assertion-with-iss-aud-succeeds, oidcc-registration-jwks-uri,
oidcc-refresh-token-rp-key-rotation) and every way one must be refused (CONFORMANCE.md §B row 13,
§D row 17)."""

import base64
import hashlib
import hmac
import json
import secrets
import time

import pytest
from joserfc import jwt
from joserfc.jwk import ECKey, RSAKey

from ..conftest import ISSUER
from ..helpers import Flow, signed_in
from ..registration_fixtures import DocumentServer

TOKEN_URL = ISSUER + "/token"
ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"


@pytest.fixture(scope="module")
def rp_key():
    return RSAKey.generate_key(2048, parameters={"kid": "rp-1", "alg": "RS256"}, private=True)


@pytest.fixture(scope="module")
def other_key():
    return RSAKey.generate_key(2048, parameters={"kid": "rp-2", "alg": "RS256"}, private=True)


def public_jwks(*keys) -> dict:
    return {"keys": [k.as_dict(private=False) for k in keys]}


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def claims_for(client_id: str, **overrides) -> dict:
    now = int(time.time())
    claims = {"iss": client_id, "sub": client_id, "aud": TOKEN_URL, "iat": now,
              "exp": now + 120, "jti": secrets.token_urlsafe(16)}
    claims.update(overrides)
    return {k: v for k, v in claims.items() if v is not None}


def assertion(key, client_id: str, header: dict | None = None, **claims) -> str:
    return jwt.encode({"alg": "RS256", "kid": key.kid, **(header or {})},
                      claims_for(client_id, **claims), key, algorithms=["RS256", "ES256"])


def unsigned(header: dict, claims: dict, signature: bytes = b"") -> str:
    return ".".join([b64(json.dumps(header).encode()), b64(json.dumps(claims).encode()),
                     b64(signature)])


def client_credentials(http, client_id: str, value: str):
    return http.post("/token", data={"grant_type": "client_credentials",
                                     "client_assertion_type": ASSERTION_TYPE,
                                     "client_assertion": value, "client_id": client_id})


@pytest.fixture
def service(make_client, rp_key):
    return make_client("service", auth_method="private_key_jwt", jwks=public_jwks(rp_key),
                       scope="reports")


def test_service_authenticates_with_private_key_jwt(client, service, rp_key):
    response = client_credentials(client, service.client_id, assertion(rp_key, service.client_id))
    assert response.status_code == 200, response.get_json()


def test_oidcc_ensure_client_assertion_with_iss_aud_succeeds(client, service, rp_key):
    value = assertion(rp_key, service.client_id, aud=ISSUER)
    assert client_credentials(client, service.client_id, value).status_code == 200


def test_jti_replay_is_refused(client, service, rp_key):
    value = assertion(rp_key, service.client_id)
    assert client_credentials(client, service.client_id, value).status_code == 200
    replay = client_credentials(client, service.client_id, value)
    assert replay.status_code == 401
    assert replay.get_json()["error"] == "invalid_client"


def test_a_failed_request_still_uses_up_the_assertion(client, make_client, make_person, rp_key):
    rp = make_client("web", auth_method="private_key_jwt", jwks=public_jwks(rp_key))
    signed_in(client, make_person)
    flow = Flow(client, rp)
    value = assertion(rp_key, rp.client_id)
    data = {"grant_type": "authorization_code", "redirect_uri": flow.redirect_uri,
            "code_verifier": flow.verifier, "client_assertion_type": ASSERTION_TYPE,
            "client_assertion": value}
    bad = client.post("/token", data={**data, "code": "not-a-code"})
    assert bad.get_json()["error"] == "invalid_grant"
    replay = client.post("/token", data={**data, "code": flow.code()})
    assert replay.get_json()["error"] == "invalid_client"
    fresh = client.post("/token", data={**data, "code": flow.code(),
                                        "client_assertion": assertion(rp_key, rp.client_id)})
    assert fresh.status_code == 200, fresh.get_json()
    assert fresh.get_json()["id_token"]


def _public_pem(key) -> bytes:
    from cryptography.hazmat.primitives import serialization

    return key.raw_value.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)


@pytest.mark.parametrize("forge", [
    "alg_none", "alg_none_upper", "hs256_with_public_key", "embedded_jwk", "jku", "x5u", "crit",
    "other_key", "iss_not_sub", "wrong_aud", "expired", "far_future", "no_jti", "no_exp",
    "no_sub", "unknown_sub", "tampered",
])
def test_forged_or_malformed_assertions_are_refused(client, service, rp_key, other_key, forge):
    cid = service.client_id
    good = claims_for(cid)
    values = {
        "alg_none": lambda: unsigned({"alg": "none"}, good),
        "alg_none_upper": lambda: unsigned({"alg": "None"}, good),
        "hs256_with_public_key": lambda: _hs256(good, _public_pem(rp_key)),
        "embedded_jwk": lambda: assertion(other_key, cid,
                                          header={"jwk": other_key.as_dict(private=False)}),
        "jku": lambda: assertion(rp_key, cid, header={"jku": "https://evil.example/jwks"}),
        "x5u": lambda: assertion(rp_key, cid, header={"x5u": "https://evil.example/cert"}),
        "crit": lambda: _rs256_by_hand({"alg": "RS256", "kid": "rp-1", "crit": ["urn:x"],
                                        "urn:x": 1}, good, rp_key),
        "other_key": lambda: assertion(other_key, cid, header={"kid": "rp-1"}),
        "iss_not_sub": lambda: assertion(rp_key, cid, iss="someone-else"),
        "wrong_aud": lambda: assertion(rp_key, cid, aud="https://other.example/token"),
        "expired": lambda: assertion(rp_key, cid, exp=int(time.time()) - 300),
        "far_future": lambda: assertion(rp_key, cid, exp=int(time.time()) + 7200),
        "no_jti": lambda: assertion(rp_key, cid, jti=None),
        "no_exp": lambda: assertion(rp_key, cid, exp=None),
        "no_sub": lambda: assertion(rp_key, cid, sub=None),
        "unknown_sub": lambda: assertion(rp_key, "tbc_nobody", iss="tbc_nobody"),
        "tampered": lambda: _tamper(assertion(rp_key, cid)),
    }
    response = client_credentials(client, cid, values[forge]())
    assert response.status_code in (400, 401)
    assert response.get_json()["error"] == "invalid_client"


def _hs256(claims: dict, secret: bytes) -> str:
    signing_input = ".".join([b64(json.dumps({"alg": "HS256"}).encode()),
                              b64(json.dumps(claims).encode())])
    mac = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
    return signing_input + "." + b64(mac)


def _rs256_by_hand(header: dict, claims: dict, key) -> str:
    """A correctly signed token with a header no JOSE library would produce for us."""
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import padding

    signing_input = ".".join([b64(json.dumps(header).encode()), b64(json.dumps(claims).encode())])
    signature = key.raw_value.sign(signing_input.encode(), padding.PKCS1v15(), hashes.SHA256())
    return signing_input + "." + b64(signature)


def _tamper(value: str) -> str:
    header, payload, signature = value.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=="))
    claims["scope"] = "admin"
    return ".".join([header, b64(json.dumps(claims).encode()), signature])


def test_registered_alg_is_the_only_one_accepted(client, make_client, rp_key):
    ec = ECKey.generate_key("P-256", parameters={"kid": "ec-1"}, private=True)
    rp = make_client("service", auth_method="private_key_jwt",
                     jwks=public_jwks(rp_key, ec), auth_signing_alg="ES256")
    rs = client_credentials(client, rp.client_id, assertion(rp_key, rp.client_id))
    assert rs.get_json()["error"] == "invalid_client"
    es = jwt.encode({"alg": "ES256", "kid": "ec-1"}, claims_for(rp.client_id), ec,
                    algorithms=["ES256"])
    assert client_credentials(client, rp.client_id, es).status_code == 200


def test_methods_do_not_mix(client, make_client, service, rp_key):
    secret_client = make_client("service", scope="reports")
    response = client_credentials(client, secret_client.client_id,
                                  assertion(rp_key, secret_client.client_id))
    assert response.get_json()["error"] == "invalid_client"
    basic = client.post("/token", data={"grant_type": "client_credentials"},
                        headers={"Authorization": "Basic " + base64.b64encode(
                            f"{service.client_id}:whatever".encode()).decode()})
    assert basic.get_json()["error"] == "invalid_client"


@pytest.mark.parametrize("settings_overrides", [{"fetch_allow_loopback": True}])
def test_jwks_uri_keys_are_fetched_and_rotation_is_picked_up(
        app, client, make_client, rp_key, other_key, settings_overrides):
    with DocumentServer() as server:
        server.documents["/jwks"] = (200, public_jwks(rp_key), {})
        rp = make_client("service", auth_method="private_key_jwt",
                         jwks_uri=server.url("/jwks"), scope="reports")
        assert client_credentials(client, rp.client_id,
                                  assertion(rp_key, rp.client_id)).status_code == 200
        # The client rotates: its jwks_uri now has only the new key.
        server.documents["/jwks"] = (200, public_jwks(other_key), {})
        app.extensions["tongban.jwks_cache"]._entries[server.url("/jwks")] = (
            time.monotonic() - 60, app.extensions["tongban.jwks_cache"]._entries[
                server.url("/jwks")][1])
        response = client_credentials(client, rp.client_id, assertion(other_key, rp.client_id))
        assert response.status_code == 200, response.get_json()


@pytest.mark.parametrize("settings_overrides", [{"env": "production",
                                                 "issuer": "https://id.example.gov.cn"}])
def test_jwks_uri_on_loopback_is_never_fetched_in_production(app, client, rp_key,
                                                              settings_overrides):
    """Even a client row that somehow holds a loopback jwks_uri cannot make the IdP fetch it."""
    from idp.clock import utcnow
    from idp.developer.clients import ClientSpec, create
    from idp.extensions import db

    with DocumentServer() as server:
        server.documents["/jwks"] = (200, public_jwks(rp_key), {})
        with app.app_context():
            rp, _ = create(ClientSpec(name="svc", client_type="service", scope="reports",
                                      auth_method="private_key_jwt",
                                      jwks_uri=server.url("/jwks").replace("http:", "https:")),
                           now=utcnow(), allow_http_loopback=False)
            client_id = rp.client_id
            db.session.commit()
        value = jwt.encode({"alg": "RS256", "kid": rp_key.kid},
                           {**claims_for(client_id), "aud": "https://id.example.gov.cn/token"},
                           rp_key, algorithms=["RS256"])
        response = client_credentials(client, client_id, value)
        assert response.get_json()["error"] == "invalid_client"
        assert server.hits == []
