"""OIDC Core §3.1 code flow, happy path (oidcc-server, oidcc-server-client-secret-post)."""

from joserfc import jwt
from joserfc.jwk import KeySet

from ..conftest import ISSUER
from ..helpers import Flow, signed_in


def test_oidcc_server(client, make_person, make_client):
    rp = make_client()
    person = signed_in(client, make_person)
    flow = Flow(client, rp)
    tokens = flow.tokens()
    assert tokens["token_type"] == "Bearer"
    assert tokens["expires_in"] > 0
    jwks = KeySet.import_key_set(client.get("/jwks").get_json())
    id_token = jwt.decode(tokens["id_token"], jwks, algorithms=["RS256"])
    assert id_token.header["alg"] == "RS256" and id_token.header["kid"]
    claims = id_token.claims
    assert claims["iss"] == ISSUER
    assert claims["aud"] == rp.client_id
    assert claims["sub"] == person.sub
    assert claims["nonce"] == flow.nonce
    for name in ("auth_time", "acr", "amr", "sid", "at_hash", "iat", "exp"):
        assert name in claims
    info = client.get("/userinfo", headers={"Authorization": f"Bearer {tokens['access_token']}"})
    assert info.status_code == 200
    assert info.get_json()["sub"] == person.sub
    assert info.get_json()["name"] == person.display_name


def test_oidcc_server_client_secret_post(client, make_person, make_client):
    rp = make_client(auth_method="client_secret_post")
    signed_in(client, make_person)
    flow = Flow(client, rp)
    response = flow.token(flow.code(), auth="post")
    assert response.status_code == 200, response.get_json()
    # The same client may not switch to another method.
    response = flow.token(flow.code(), auth="basic")
    assert response.status_code == 401
    assert response.get_json()["error"] == "invalid_client"
