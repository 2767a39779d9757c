"""Token introspection (RFC 7662): a client learns about its own tokens and nothing else
(authentik CVE-2024-47077)."""

import pytest

from ..conftest import ISSUER
from ..helpers import Flow, basic, introspect, refresh, revoke, signed_in, token_call


@pytest.fixture
def rp(make_client):
    return make_client()


@pytest.fixture
def person(client, make_person):
    return signed_in(client, make_person)


@pytest.fixture
def tokens(client, person, rp) -> dict:
    return Flow(client, rp, scope="openid profile").tokens()


def assert_error(response, error: str, status: int) -> None:
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.get_json()["error"] == error


@pytest.mark.parametrize("hint", [None, "access_token", "refresh_token"])
def test_active_access_token(client, rp, person, tokens, hint):
    extra = {"token_type_hint": hint} if hint else {}
    response = introspect(client, rp, tokens["access_token"], **extra)
    assert response.status_code == 200
    body = response.get_json()
    assert body["active"] is True
    assert body["token_type"] == "Bearer"
    assert body["scope"] == "openid profile"
    assert body["client_id"] == rp.client_id
    assert body["sub"] == person.sub
    assert body["iss"] == ISSUER
    assert body["exp"] > body["iat"]


@pytest.mark.parametrize("hint", [None, "access_token", "refresh_token"])
def test_active_refresh_token(client, rp, tokens, hint):
    extra = {"token_type_hint": hint} if hint else {}
    body = introspect(client, rp, tokens["refresh_token"], **extra).get_json()
    assert body["active"] is True
    assert body["token_type"] == "refresh_token"
    assert body["scope"] == "openid profile"
    assert body["client_id"] == rp.client_id
    assert body["exp"] > body["iat"]


def test_client_credentials_token(client, make_client):
    service = make_client("service", scope="records.read")
    access = token_call(client, service, {"grant_type": "client_credentials",
                                          "scope": "records.read"}).get_json()["access_token"]
    body = introspect(client, service, access).get_json()
    assert body["active"] is True
    assert body["sub"] == body["client_id"] == service.client_id


@pytest.mark.parametrize("kind", ["access_token", "refresh_token"])
def test_another_clients_token_is_inactive(client, tokens, make_client, kind):
    """CVE-2024-47077: authenticating as some client must not reveal another client's token."""
    other = make_client()
    assert introspect(client, other, tokens[kind]).get_json() == {"active": False}


def test_revoked_access_token(client, rp, tokens):
    revoke(client, rp, tokens["access_token"])
    assert introspect(client, rp, tokens["access_token"]).get_json() == {"active": False}


def test_revoked_refresh_token(client, rp, tokens):
    revoke(client, rp, tokens["refresh_token"])
    for kind in ("refresh_token", "access_token"):
        assert introspect(client, rp, tokens[kind]).get_json() == {"active": False}


def test_expired_access_token(frozen_clock, client, rp, tokens):
    frozen_clock.advance(600)
    assert introspect(client, rp, tokens["access_token"]).get_json() == {"active": False}
    assert introspect(client, rp, tokens["refresh_token"]).get_json()["active"] is True


def test_expired_refresh_token(frozen_clock, client, rp, tokens):
    frozen_clock.advance(7 * 24 * 3600)
    assert introspect(client, rp, tokens["refresh_token"]).get_json() == {"active": False}


def test_rotated_refresh_token(client, rp, tokens):
    successor = refresh(client, rp, tokens["refresh_token"]).get_json()["refresh_token"]
    assert introspect(client, rp, tokens["refresh_token"]).get_json() == {"active": False}
    assert introspect(client, rp, successor).get_json()["active"] is True


@pytest.mark.parametrize("value", ["unknown", "tbr_unknown", "a.b.c", "x" * 5000])
def test_unknown_token(client, rp, value):
    assert introspect(client, rp, value).get_json() == {"active": False}


# --- request errors ------------------------------------------------------------------------------

@pytest.mark.parametrize("credentials", [
    {},
    {"headers": "wrong-secret"},
    {"data": "client_id-only"},
])
def test_unauthenticated(client, rp, tokens, credentials):
    data = {"token": tokens["access_token"]}
    headers = {}
    if credentials.get("headers"):
        headers = basic(rp.client_id, "tbs_wrong")
    if credentials.get("data"):
        data["client_id"] = rp.client_id
    response = client.post("/introspect", data=data, headers=headers)
    assert_error(response, "invalid_client", 401)


def test_public_clients_cannot_introspect(client, person, make_client):
    spa = make_client("spa")
    tokens = Flow(client, spa).tokens()
    response = token_call(client, spa, {"token": tokens["access_token"]}, auth="none",
                          path="/introspect")
    assert_error(response, "invalid_client", 401)


def test_unsupported_token_type_hint(client, rp, tokens):
    response = introspect(client, rp, tokens["access_token"], token_type_hint="id_token")
    assert_error(response, "unsupported_token_type", 400)


@pytest.mark.parametrize("token", [None, ""])
def test_missing_token(client, rp, token):
    data = {} if token is None else {"token": token}
    assert_error(token_call(client, rp, data, path="/introspect"), "invalid_request", 400)


def test_parameters_in_the_query_string(client, rp, tokens):
    response = client.post("/introspect", query_string={"token": tokens["access_token"]},
                           headers=basic(rp.client_id, rp.plain_secret))
    assert_error(response, "invalid_request", 400)
