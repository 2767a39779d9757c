"""PKCE (RFC 7636) as RFC 9700 §2.1.1 and §4.8.2 tighten it: S256 only, required for every
client unless a confidential client relaxes it, no downgrade (CVE-2024-23647), no missing
verifier (CVE-2023-48228). oidcc-ensure-request-with-valid-pkce-succeeds."""

import pytest

from idp.developer.clients import ClientRejected

from ..conftest import ISSUER
from ..helpers import Flow, pkce_pair, query, signed_in

CHALLENGE = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"


def _redirected_error(flow, response) -> str:
    assert response.status_code == 303, response.get_data(as_text=True)[:300]
    assert response.headers["Location"].startswith(flow.redirect_uri + "?")
    params = query(response)
    assert params["iss"] == ISSUER
    assert params["state"] == flow.state
    assert "code" not in params
    return params["error"]


@pytest.mark.parametrize("client_type", ["web", "spa", "native"])
def test_oidcc_ensure_request_with_valid_pkce_succeeds(client, make_person, make_client,
                                                       client_type):
    uri = "http://127.0.0.1:8765/cb" if client_type == "native" else "https://rp.example/cb"
    rp = make_client(client_type, redirect_uris=[uri])
    signed_in(client, make_person)
    tokens = Flow(client, rp).tokens()
    assert tokens["access_token"] and tokens["id_token"]


def test_discovery_lists_only_s256(client):
    metadata = client.get("/.well-known/openid-configuration").get_json()
    assert metadata["code_challenge_methods_supported"] == ["S256"]


# --- authorization request ----------------------------------------------------------------------

@pytest.mark.parametrize(("challenge", "method"), [
    (CHALLENGE, None),                      # RFC 7636 would default to plain: refused
    (CHALLENGE, ""),
    (CHALLENGE, "plain"),
    (CHALLENGE, "s256"),
    (CHALLENGE, "S512"),
    (None, "S256"),                         # method without challenge
    ("too-short", "S256"),
    ("a" * 42, "S256"),
    ("a" * 129, "S256"),
    ("E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw+cM=", "S256"),    # base64, not base64url
    (CHALLENGE[:-1] + " ", "S256"),
])
@pytest.mark.parametrize("client_type", ["web", "spa"])
def test_bad_challenge_is_invalid_request(client, make_person, make_client, client_type,
                                          challenge, method):
    rp = make_client(client_type)
    signed_in(client, make_person)
    flow = Flow(client, rp, pkce=False)
    response = flow.authorize(code_challenge=challenge, code_challenge_method=method)
    assert _redirected_error(flow, response) == "invalid_request"


@pytest.mark.parametrize("client_type", ["web", "spa", "native"])
def test_missing_challenge_is_invalid_request(client, make_person, make_client, client_type):
    uri = "http://127.0.0.1:8765/cb" if client_type == "native" else "https://rp.example/cb"
    rp = make_client(client_type, redirect_uris=[uri])
    signed_in(client, make_person)
    flow = Flow(client, rp, pkce=False)
    assert _redirected_error(flow, flow.authorize()) == "invalid_request"


@pytest.mark.parametrize("client_type", ["spa", "native"])
def test_public_client_can_never_relax_pkce(make_client, client_type):
    uri = "http://127.0.0.1:8765/cb" if client_type == "native" else "https://rp.example/cb"
    with pytest.raises(ClientRejected) as rejected:
        make_client(client_type, redirect_uris=[uri], require_pkce=False)
    assert rejected.value.problems == ["require_pkce: public clients always use PKCE"]


# --- token request ------------------------------------------------------------------------------

def _token_error(response) -> str:
    assert response.status_code == 400, response.get_json()
    assert response.headers["Cache-Control"] == "no-store"
    return response.get_json()["error"]


@pytest.mark.parametrize("client_type", ["web", "spa"])
def test_verifier_omitted_is_invalid_grant(client, make_person, make_client, client_type):
    # authentik CVE-2023-48228.
    rp = make_client(client_type)
    signed_in(client, make_person)
    flow = Flow(client, rp)
    assert _token_error(flow.token(flow.code(), verifier=None)) == "invalid_grant"


@pytest.mark.parametrize("wrong", [
    "other",
    "challenge itself",            # a plain-style verifier against an S256 challenge
    "too short",
    "bad characters",
])
@pytest.mark.parametrize("client_type", ["web", "spa"])
def test_wrong_verifier_is_invalid_grant(client, make_person, make_client, client_type, wrong):
    rp = make_client(client_type)
    signed_in(client, make_person)
    flow = Flow(client, rp)
    verifier = {"other": pkce_pair()[0], "challenge itself": flow.challenge,
                "too short": flow.verifier[:42], "bad characters": flow.verifier[:-1] + "+"}[wrong]
    assert _token_error(flow.token(flow.code(), verifier=verifier)) == "invalid_grant"


def test_confidential_client_may_relax_pkce(client, make_person, make_client):
    rp = make_client(require_pkce=False)
    assert rp.require_pkce is False
    signed_in(client, make_person)
    flow = Flow(client, rp, pkce=False)
    response = flow.token(flow.code())
    assert response.status_code == 200, response.get_json()
    # Relaxed does not mean plain: a challenge, when sent, is still checked.
    flow = Flow(client, rp)
    assert _token_error(flow.token(flow.code(), verifier=None)) == "invalid_grant"


def test_verifier_for_a_code_issued_without_challenge_is_invalid_grant(client, make_person,
                                                                       make_client):
    # RFC 9700 §4.8.2 PKCE downgrade (authentik CVE-2024-23647): an attacker stripped the
    # challenge from the authorization request; the genuine client still sends its verifier.
    rp = make_client(require_pkce=False)
    signed_in(client, make_person)
    flow = Flow(client, rp, pkce=False)
    verifier, _ = pkce_pair()
    assert _token_error(flow.token(flow.code(), verifier=verifier)) == "invalid_grant"
