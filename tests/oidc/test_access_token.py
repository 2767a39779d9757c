"""JWT access tokens (RFC 9068): header, signature by a published ES256 key, and claims."""

import pytest
from joserfc import jwt
from joserfc.jwk import KeySet

from ..conftest import ISSUER
from ..helpers import Flow, refresh, signed_in


@pytest.fixture
def rp(make_client):
    return make_client()


@pytest.fixture
def person(client, make_person):
    return signed_in(client, make_person)


def decode(http, value: str):
    return jwt.decode(value, KeySet.import_key_set(http.get("/jwks").get_json()),
                      algorithms=["ES256"])


def test_header(client, rp, person):
    token = decode(client, Flow(client, rp).tokens()["access_token"])
    assert token.header["typ"] == "at+jwt"
    assert token.header["alg"] == "ES256"
    published = {k["kid"]: k for k in client.get("/jwks").get_json()["keys"]}
    assert published[token.header["kid"]]["kty"] == "EC"


def test_claims(client, rp, person):
    flow = Flow(client, rp, scope="openid profile email")
    tokens = flow.tokens()
    claims = decode(client, tokens["access_token"]).claims
    assert claims["iss"] == ISSUER
    assert claims["sub"] == person.sub
    # Audience-restricted (RFC 9700 §2.3): the client that asked, and only it.
    assert claims["aud"] == claims["client_id"] == rp.client_id
    assert claims["scope"] == "openid profile email" == tokens["scope"]
    assert claims["exp"] - claims["iat"] == tokens["expires_in"]
    assert claims["jti"]
    assert claims["auth_time"] <= claims["iat"]
    assert claims["acr"]
    id_token = jwt.decode(tokens["id_token"],
                          KeySet.import_key_set(client.get("/jwks").get_json()),
                          algorithms=["RS256"]).claims
    assert claims["sid"] == id_token["sid"]
    assert claims["auth_time"] == id_token["auth_time"]
    # Nothing about the person beyond the subject travels in the access token.
    assert not {"name", "email", "preferred_username", "nonce"} & set(claims)


def test_distinct_jti_per_token(client, rp, person):
    first = Flow(client, rp).tokens()
    second = Flow(client, rp).tokens()
    third = refresh(client, rp, second["refresh_token"]).get_json()
    jtis = {decode(client, t["access_token"]).claims["jti"] for t in (first, second, third)}
    assert len(jtis) == 3


def test_refreshed_access_token_keeps_the_authentication(client, rp, person):
    tokens = Flow(client, rp).tokens()
    before = decode(client, tokens["access_token"]).claims
    after = decode(client, refresh(client, rp, tokens["refresh_token"]).get_json()[
        "access_token"]).claims
    for name in ("iss", "sub", "aud", "client_id", "scope", "auth_time", "acr", "sid"):
        assert after[name] == before[name], name
