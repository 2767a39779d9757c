"""OIDC Discovery 1.0 / RFC 8414 metadata (oidcc-discovery-endpoint-verification,
oidcc-rp-initiated-logout-discovery-endpoint-verification)."""

from urllib.parse import urlsplit

import pytest

from ..conftest import ISSUER
from ..helpers import Flow, query, signed_in

PATHS = ["/.well-known/openid-configuration", "/.well-known/oauth-authorization-server"]
ENDPOINTS = ("authorization_endpoint", "token_endpoint", "userinfo_endpoint", "jwks_uri",
             "end_session_endpoint", "introspection_endpoint", "revocation_endpoint")


@pytest.fixture
def meta(client):
    response = client.get("/.well-known/openid-configuration")
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    return response.get_json()


@pytest.mark.parametrize("path", PATHS)
def test_oidcc_discovery_endpoint_verification(client, path):
    response = client.get(path)
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    meta = response.get_json()
    # The issuer is the base of the discovery URL (Discovery §4.3).
    assert meta["issuer"] == ISSUER
    for name in ENDPOINTS:
        assert meta[name].startswith(ISSUER + "/"), name


def test_supported_types(meta):
    assert meta["response_types_supported"] == ["code"]
    assert set(meta["response_modes_supported"]) == {"query", "form_post"}
    assert {"authorization_code", "refresh_token"} <= set(meta["grant_types_supported"])
    assert "password" not in meta["grant_types_supported"]
    assert "implicit" not in meta["grant_types_supported"]
    assert set(meta["subject_types_supported"]) <= {"public", "pairwise"}
    assert "public" in meta["subject_types_supported"]


def test_signing_algorithms_exclude_none(meta):
    algs = meta["id_token_signing_alg_values_supported"]
    assert "RS256" in algs
    assert "none" not in algs
    assert not any(alg.startswith("HS") for alg in algs)


def test_scopes_and_parameters(meta):
    assert "openid" in meta["scopes_supported"]
    assert meta["code_challenge_methods_supported"] == ["S256"]
    assert meta["authorization_response_iss_parameter_supported"] is True
    assert meta["claims_parameter_supported"] is True
    assert meta["request_parameter_supported"] is False
    assert meta["request_uri_parameter_supported"] is False


def test_oidcc_rp_initiated_logout_discovery_endpoint_verification(meta):
    assert meta["end_session_endpoint"] == ISSUER + "/logout"
    assert meta["frontchannel_logout_supported"] is True
    assert meta["frontchannel_logout_session_supported"] is True


@pytest.mark.parametrize("path", PATHS)
def test_metadata_never_follows_the_host_header(client, path):
    response = client.get(path, headers={"Host": "evil.example",
                                         "X-Forwarded-Host": "evil.example"})
    assert response.status_code == 200
    assert "evil.example" not in response.get_data(as_text=True)
    assert response.get_json()["issuer"] == ISSUER


def test_request_urls_never_follow_the_host_header(client, make_client, make_person):
    """Redirects the IdP builds stay relative, and the issuer stays the configured one."""
    rp = make_client()
    signed_in(client, make_person)
    response = Flow(client, rp).authorize(prompt="none")
    assert query(response)["iss"] == ISSUER
    response = client.get("/authorize", headers={"Host": "evil.example"},
                          query_string=Flow(client, rp).params())
    assert "evil.example" not in response.headers.get("Location", "")


@pytest.mark.parametrize("path", [*PATHS, "/jwks"])
def test_cors_on_metadata_and_jwks(client, path):
    response = client.get(path, headers={"Origin": "https://rp.example"})
    assert response.status_code == 200
    assert response.headers["Access-Control-Allow-Origin"] == "*"


def test_no_cors_at_the_authorization_endpoint(client, make_client):
    # RFC 9700 §2.6: CORS MUST NOT be supported at the authorization endpoint.
    response = Flow(client, make_client()).authorize()
    assert "Access-Control-Allow-Origin" not in response.headers


def test_jwks_uri_serves_keys(client, meta):
    path = urlsplit(meta["jwks_uri"]).path
    keys = client.get(path).get_json()["keys"]
    algs = {k["alg"] for k in keys}
    assert set(meta["id_token_signing_alg_values_supported"]) <= algs
