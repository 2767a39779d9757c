"""ID tokens (OIDC Core §2, §3.1.3.6, §8): signing algorithms (oidcc-idtoken-signature,
oidcc-idtoken-rs256), the standard claim checks of oidcc-server, and pairwise subjects."""

import base64
import hashlib
import time

import pytest
from joserfc import jwt
from joserfc.jwk import KeySet

from idp.developer.clients import ClientRejected
from idp.oidc.keys import SIGNING_ALGS

from ..conftest import ISSUER
from ..helpers import Flow, login, signed_in


@pytest.fixture
def person(client, make_person):
    return signed_in(client, make_person)


def decode(http, value: str, alg: str = "RS256"):
    return jwt.decode(value, KeySet.import_key_set(http.get("/jwks").get_json()),
                      algorithms=[alg])


def id_token_of(http, rp, **overrides):
    """The verified ID token of a fresh flow (whatever published alg signed it), and the
    whole token response."""
    tokens = Flow(http, rp, **overrides).tokens()
    keys = KeySet.import_key_set(http.get("/jwks").get_json())
    return jwt.decode(tokens["id_token"], keys, algorithms=list(SIGNING_ALGS)), tokens


def at_hash(access_token: str) -> str:
    digest = hashlib.sha256(access_token.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest[:16]).rstrip(b"=").decode()


# --- signature -----------------------------------------------------------------------------------

def test_oidcc_idtoken_signature(client, person, make_client):
    """No alg registered: RS256 (OIDC Core §3.1.3.7), with a kid found in the JWKS."""
    token, _ = id_token_of(client, make_client())
    assert token.header["alg"] == "RS256"
    kids = {k["kid"] for k in client.get("/jwks").get_json()["keys"]}
    assert token.header["kid"] in kids


def test_oidcc_idtoken_rs256(client, person, make_client):
    token, _ = id_token_of(client, make_client(id_token_alg="RS256"))
    assert token.header["alg"] == "RS256"


@pytest.mark.parametrize("alg", ["ES256", "PS256"])
def test_registered_alg_is_used(client, person, make_client, alg):
    token, _ = id_token_of(client, make_client(id_token_alg=alg))
    assert token.header["alg"] == alg
    published = {k["kid"]: k for k in client.get("/jwks").get_json()["keys"]}
    assert published[token.header["kid"]]["alg"] == alg


@pytest.mark.parametrize("alg", ["none", "HS256", "RS512", "", "rs256"])
def test_no_client_can_register_an_unsupported_alg(make_client, alg):
    with pytest.raises(ClientRejected) as rejected:
        make_client(id_token_alg=alg)
    assert any(p.field == "id_token_signed_response_alg" for p in rejected.value.problems)


def test_none_is_not_advertised(client):
    metadata = client.get("/.well-known/openid-configuration").get_json()
    assert "none" not in metadata["id_token_signing_alg_values_supported"]


# --- claims --------------------------------------------------------------------------------------

def test_standard_claims(client, person, make_client):
    rp = make_client()
    token, tokens = id_token_of(client, rp)
    claims = token.claims
    now = time.time()
    assert claims["iss"] == ISSUER
    assert claims["aud"] == rp.client_id
    assert claims["sub"] == person.sub
    assert isinstance(claims["exp"], int) and claims["exp"] > claims["iat"]
    assert claims["exp"] < 10**10  # seconds, not milliseconds
    assert abs(claims["iat"] - now) < 300
    assert claims["iat"] - 366 * 86400 <= claims["auth_time"] <= claims["iat"]
    assert isinstance(claims["acr"], str) and claims["acr"]
    assert claims["amr"] == ["pwd"]
    assert claims["sid"]
    assert claims["at_hash"] == at_hash(tokens["access_token"])


@pytest.mark.parametrize("alg", ["RS256", "ES256", "PS256"])
def test_at_hash_for_each_alg(client, person, make_client, alg):
    token, tokens = id_token_of(client, make_client(id_token_alg=alg))
    assert token.claims["at_hash"] == at_hash(tokens["access_token"])


def test_nonce_is_echoed(client, person, make_client):
    rp = make_client()
    flow = Flow(client, rp)
    claims = decode(client, flow.tokens()["id_token"]).claims
    assert claims["nonce"] == flow.nonce
    # Optional in the code flow: none sent, none returned.
    flow = Flow(client, rp)
    tokens = flow.token(flow.code(nonce=None)).get_json()
    assert "nonce" not in decode(client, tokens["id_token"]).claims


def test_sid_is_the_session_for_every_client(client, person, make_client):
    first, _ = id_token_of(client, make_client())
    second, _ = id_token_of(client, make_client())
    assert first.claims["sid"] == second.claims["sid"]


def test_scope_claims_are_not_in_the_id_token(client, person, make_client):
    """With the code flow, scope claims are delivered at UserInfo (OIDC Core §5.4)."""
    token, _ = id_token_of(client, make_client(), scope="openid profile email")
    assert not {"name", "email", "preferred_username"} & set(token.claims)


# --- pairwise subjects (OIDC Core §8.1) ----------------------------------------------------------

def pairwise_client(make_client, host: str):
    return make_client(subject_type="pairwise", redirect_uris=(f"https://{host}/cb",))


def test_pairwise_subject(app, client, person, make_client):
    rp = pairwise_client(make_client, "portal.example")
    token, tokens = id_token_of(client, rp)
    sub = token.claims["sub"]
    assert sub != person.sub
    # UserInfo tells the same client the same subject.
    info = client.get("/userinfo", headers={"Authorization": f"Bearer {tokens['access_token']}"})
    assert info.get_json()["sub"] == sub
    # Stable across logins, on another device too.
    other_device = app.test_client()
    assert login(other_device, person.username).status_code == 303
    again, _ = id_token_of(other_device, rp)
    assert again.claims["sub"] == sub
    assert again.claims["sid"] != token.claims["sid"]


def test_pairwise_subject_is_per_sector(client, person, make_client):
    one = pairwise_client(make_client, "portal.example")
    same_sector = make_client(subject_type="pairwise",
                              redirect_uris=("https://portal.example/other",))
    other_sector = pairwise_client(make_client, "tax.example")
    subs = [id_token_of(client, rp)[0].claims["sub"] for rp in (one, same_sector, other_sector)]
    assert subs[0] == subs[1]
    assert subs[2] != subs[0]
    assert person.sub not in subs


def test_pairwise_access_token_subject(client, person, make_client):
    rp = pairwise_client(make_client, "portal.example")
    token, tokens = id_token_of(client, rp)
    access = decode(client, tokens["access_token"], "ES256")
    assert access.claims["sub"] == token.claims["sub"]
