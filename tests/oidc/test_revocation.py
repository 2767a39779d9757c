"""Token revocation (RFC 7009): a client ends its own tokens, never another client's; revoking a
refresh token ends its whole grant (§2.1)."""

import pytest

from ..helpers import Flow, basic, bearer, introspect, refresh, revoke, signed_in, token_call


@pytest.fixture
def rp(make_client):
    return make_client()


@pytest.fixture
def person(client, make_person):
    return signed_in(client, make_person)


@pytest.fixture
def tokens(client, person, rp) -> dict:
    return Flow(client, rp).tokens()


def assert_error(response, error: str, status: int = 400) -> None:
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.get_json()["error"] == error


def userinfo_status(http, access_token: str) -> int:
    return http.get("/userinfo", headers=bearer(access_token)).status_code


@pytest.mark.parametrize("hint", [None, "access_token", "refresh_token"])
def test_revoke_access_token(client, rp, tokens, hint):
    extra = {"token_type_hint": hint} if hint else {}
    assert revoke(client, rp, tokens["access_token"], **extra).status_code == 200
    assert userinfo_status(client, tokens["access_token"]) == 401
    # Only that access token: the grant goes on.
    assert refresh(client, rp, tokens["refresh_token"]).status_code == 200


@pytest.mark.parametrize("hint", [None, "access_token", "refresh_token"])
def test_revoke_refresh_token_ends_the_family(client, rp, tokens, hint):
    successor = refresh(client, rp, tokens["refresh_token"]).get_json()
    extra = {"token_type_hint": hint} if hint else {}
    assert revoke(client, rp, successor["refresh_token"], **extra).status_code == 200
    assert_error(refresh(client, rp, successor["refresh_token"]), "invalid_grant")
    for access in (tokens["access_token"], successor["access_token"]):
        assert userinfo_status(client, access) == 401


def test_revoking_one_family_leaves_the_others(client, rp, person, tokens):
    other = Flow(client, rp).tokens()
    revoke(client, rp, tokens["refresh_token"])
    assert userinfo_status(client, other["access_token"]) == 200
    assert refresh(client, rp, other["refresh_token"]).status_code == 200


@pytest.mark.parametrize("kind", ["access_token", "refresh_token"])
def test_another_clients_token_is_left_alone(client, rp, tokens, make_client, kind):
    other = make_client()
    response = revoke(client, other, tokens[kind])
    assert response.status_code == 200
    assert introspect(client, rp, tokens[kind]).get_json()["active"] is True
    assert userinfo_status(client, tokens["access_token"]) == 200


@pytest.mark.parametrize("value", ["unknown", "tbr_unknown", "a.b.c"])
def test_unknown_token(client, rp, value):
    assert revoke(client, rp, value).status_code == 200


def test_revoking_twice(client, rp, tokens):
    assert revoke(client, rp, tokens["refresh_token"]).status_code == 200
    assert revoke(client, rp, tokens["refresh_token"]).status_code == 200


def test_expired_access_token_can_be_revoked(frozen_clock, client, rp, tokens):
    frozen_clock.advance(3600)
    assert revoke(client, rp, tokens["access_token"]).status_code == 200


def test_public_client_revokes_its_own_tokens(client, person, make_client):
    spa = make_client("spa")
    tokens = Flow(client, spa).tokens()
    response = token_call(client, spa, {"token": tokens["refresh_token"]}, auth="none",
                          path="/revoke")
    assert response.status_code == 200
    assert_error(refresh(client, spa, tokens["refresh_token"], auth="none"), "invalid_grant")
    assert userinfo_status(client, tokens["access_token"]) == 401


# --- request errors ------------------------------------------------------------------------------

def test_unsupported_token_type_hint(client, rp, tokens):
    response = revoke(client, rp, tokens["access_token"], token_type_hint="id_token")
    assert_error(response, "unsupported_token_type")
    assert userinfo_status(client, tokens["access_token"]) == 200


@pytest.mark.parametrize("how", ["nothing", "wrong_secret", "client_id_only"])
def test_unauthenticated(client, rp, tokens, how):
    data = {"token": tokens["access_token"]}
    headers = basic(rp.client_id, "tbs_wrong") if how == "wrong_secret" else {}
    if how == "client_id_only":
        data["client_id"] = rp.client_id
    assert_error(client.post("/revoke", data=data, headers=headers), "invalid_client", 401)
    assert userinfo_status(client, tokens["access_token"]) == 200


@pytest.mark.parametrize("token", [None, ""])
def test_missing_token(client, rp, token):
    data = {} if token is None else {"token": token}
    assert_error(token_call(client, rp, data, path="/revoke"), "invalid_request")
