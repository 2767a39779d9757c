"""The registration rules in idp/developer/clients.py, one negative case per rule, plus the
rules that need a fetch (jwks_uri, sector_identifier_uri: oidcc-registration-sector-uri,
oidcc-registration-sector-bad, oidcc-registration-jwks-uri) and the secret rotation window."""

from datetime import timedelta

import pytest

from idp.developer.clients import ClientSpec, problems_of

from ..helpers import basic
from ..registration_fixtures import DocumentServer, issue_iat, make_org

GOOD = dict(name="社保查询", client_type="web", redirect_uris=["https://rp.example/cb"])
RSA_PUBLIC = {"kty": "RSA", "kid": "k1", "e": "AQAB", "n": (
    "sXchDaQebHnPiGvyDOAT4saGEUetSyo9MKLOoWFsueri23bOdgWp4Dy1WlUzewbgBHod5pcM9H95GQRV3JDXboIRROSBigeC5yjU1hGzHHyXss8UDprecbAYxknTcQkhslANGRUZmdTOQ5qTRsLAt6BTYuyvVRdhS8exSZEy_c4gs_7svlJJQ4H9_NxsiIoLwAEk7-Q3UXERGYw_75IDrGA84-lA_-Ct4eTlXHBIY2EaV7t7LjJaynVJCpkv4LKjTTAumiGUIuQhrNhZLuF_RJLqHpM2kgWFLU7-VTdL1VbC2tejvcI2BlMkEpk1BzBZI0KQB0GaDWFLN-aEAw3vRw")}



def _weak_rsa() -> dict:
    from cryptography.hazmat.primitives.asymmetric import rsa
    from joserfc.jwk import RSAKey

    key = rsa.generate_private_key(public_exponent=65537, key_size=1024)  # noqa: S505
    return RSAKey.import_key(key.public_key()).as_dict(private=False)


WEAK_RSA = _weak_rsa()


def problems(**changes):
    return problems_of(ClientSpec(**{**GOOD, **changes}), allow_http_loopback=False)


def codes(**changes) -> set[tuple[str, str]]:
    return {(p.field, p.code) for p in problems(**changes)}


def test_a_good_web_client_has_no_problems():
    assert problems() == []


@pytest.mark.parametrize(("changes", "expected"), [
    ({"name": " "}, ("client_name", "required")),
    ({"client_type": "kiosk"}, ("client_type", "unknown_type")),
    ({"environment": "staging"}, ("environment", "unknown_environment")),
    ({"redirect_uris": []}, ("redirect_uris", "required")),
    ({"client_type": "service", "scope": "reports"}, ("redirect_uris", "not_for_type")),
    ({"redirect_uris": ["https://rp.example/cb"] * 2}, ("redirect_uris", "duplicate")),
    ({"redirect_uris": [f"https://rp.example/{i}" for i in range(21)]},
     ("redirect_uris", "too_many")),
    ({"redirect_uris": ["https://rp.example/" + "a" * 2000]}, ("redirect_uris", "too_long")),
    ({"redirect_uris": ["https://rp.example/c b"]}, ("redirect_uris", "whitespace")),
    ({"redirect_uris": ["https://rp.example/cb\x00"]}, ("redirect_uris", "whitespace")),
    ({"redirect_uris": ["rp.example/cb"]}, ("redirect_uris", "not_absolute")),
    ({"redirect_uris": ["https://rp.example/cb#x"]}, ("redirect_uris", "fragment")),
    ({"redirect_uris": ["https://*.rp.example/cb"]}, ("redirect_uris", "wildcard")),
    ({"redirect_uris": ["https://a@rp.example/cb"]}, ("redirect_uris", "credentials")),
    ({"redirect_uris": ["https://a@b@rp.example/cb"]}, ("redirect_uris", "credentials")),
    ({"redirect_uris": ["https:///cb"]}, ("redirect_uris", "host_missing")),
    ({"redirect_uris": ["http://rp.example/cb"]}, ("redirect_uris", "http_loopback_only")),
    ({"redirect_uris": ["http://127.0.0.1:8000/cb"]}, ("redirect_uris", "http_loopback_only")),
    ({"redirect_uris": ["javascript:alert(1)"]}, ("redirect_uris", "scheme")),
    ({"redirect_uris": ["JaVaScRiPt:alert(1)"]}, ("redirect_uris", "scheme")),
    ({"redirect_uris": ["Data:text/html,x"]}, ("redirect_uris", "scheme")),
    ({"redirect_uris": ["VBSCRIPT:x"]}, ("redirect_uris", "scheme")),
    ({"redirect_uris": ["HTTPS://rp.example/cb"]}, ("redirect_uris", "scheme")),
    ({"redirect_uris": ["cn.gov.app:/cb"]}, ("redirect_uris", "scheme")),
    ({"client_type": "native", "redirect_uris": ["myapp:/cb"]},
     ("redirect_uris", "scheme")),
    ({"client_type": "native", "redirect_uris": ["Cn.Gov.App:/cb"]},
     ("redirect_uris", "private_scheme")),
    ({"client_type": "native", "redirect_uris": ["cn.gov..app:/cb"]},
     ("redirect_uris", "private_scheme")),
    ({"post_logout_redirect_uris": ["DATA:text/html,x"]},
     ("post_logout_redirect_uris", "scheme")),
    ({"post_logout_redirect_uris": ["https://rp.example/#"]},
     ("post_logout_redirect_uris", "fragment")),
    ({"frontchannel_logout_uri": "http://rp.example/fc"}, ("frontchannel_logout_uri",
                                                           "https_only")),
    ({"backchannel_logout_uri": "JAVASCRIPT:x"}, ("backchannel_logout_uri", "https_only")),
    ({"logo_uri": "javascript:alert(1)"}, ("logo_uri", "https_only")),
    ({"logo_uri": "HTTPS://rp.example/logo.png"}, ("logo_uri", "https_only")),
    ({"client_uri": "https://rp.example/#x"}, ("client_uri", "fragment")),
    ({"policy_uri": "data:,x"}, ("policy_uri", "https_only")),
    ({"tos_uri": "https://u:p@rp.example/tos"}, ("tos_uri", "credentials")),
    ({"initiate_login_uri": "http://rp.example/start"}, ("initiate_login_uri", "https_only")),
    ({"jwks_uri": "http://rp.example/jwks", "auth_method": "private_key_jwt"},
     ("jwks_uri", "https_only")),
    ({"sector_identifier_uri": "https://rp.example/s"}, ("sector_identifier_uri",
                                                         "pairwise_only")),
    ({"client_type": "spa", "require_pkce": False}, ("require_pkce", "public_pkce")),
    ({"client_type": "spa", "auth_method": "client_secret_basic"},
     ("token_endpoint_auth_method", "public_client")),
    ({"auth_method": "client_secret_jwt"}, ("token_endpoint_auth_method", "auth_method")),
    ({"auth_method": "none"}, ("token_endpoint_auth_method", "auth_method")),
    ({"auth_method": "private_key_jwt"}, ("jwks", "jwks_required")),
    ({"jwks": {"keys": [RSA_PUBLIC]}, "jwks_uri": "https://rp.example/jwks"},
     ("jwks", "jwks_and_jwks_uri")),
    ({"jwks": {"keys": [{**RSA_PUBLIC, "d": "AAAA"}]}}, ("jwks", "jwks_private")),
    ({"jwks": {"keys": [{"kty": "oct", "k": "c2VjcmV0"}]}}, ("jwks", "jwks_key_type")),
    ({"jwks": {"keys": []}}, ("jwks", "jwks_count")),
    ({"jwks": {"keys": [RSA_PUBLIC, RSA_PUBLIC]}}, ("jwks", "jwks_kid")),
    ({"jwks": {"keys": [{**RSA_PUBLIC, "n": "AQAB"}]}}, ("jwks", "jwks_invalid")),
    ({"jwks": {"keys": [WEAK_RSA]}}, ("jwks", "jwks_weak")),
    ({"jwks": ["not", "a", "set"]}, ("jwks", "jwks_shape")),
    ({"auth_signing_alg": "HS256"}, ("token_endpoint_auth_signing_alg", "alg")),
    ({"auth_signing_alg": "none"}, ("token_endpoint_auth_signing_alg", "alg")),
    ({"id_token_alg": "none"}, ("id_token_signed_response_alg", "alg")),
    ({"subject_type": "anonymous"}, ("subject_type", "subject_type")),
    ({"scope": "openid admin"}, ("scope", "unknown_scope")),
    ({"sensitive_claims": ["id_number"]}, ("sensitive_purpose", "required")),
    ({"sensitive_claims": ["legal_name"], "sensitive_purpose": "核验"},
     ("sensitive_legal_basis", "required")),
    ({"sensitive_claims": ["blood_type"]}, ("sensitive_claims", "unknown_claim")),
    ({"description": "x" * 2001}, ("description", "too_long")),
    ({"contacts": ["a@example.cn"] * 6}, ("contacts", "contacts")),
    ({"contacts": [""]}, ("contacts", "contacts")),
])
def test_each_rule(changes, expected):
    assert expected in codes(**changes)


@pytest.mark.parametrize("changes", [
    {"client_type": "native", "redirect_uris": ["http://127.0.0.1/cb", "http://[::1]:5/cb",
                                                "cn.gov.example.app:/oauth2"]},
    {"client_type": "service", "redirect_uris": [], "scope": "reports",
     "auth_method": "private_key_jwt", "jwks": {"keys": [RSA_PUBLIC]}},
    {"client_type": "mini_program", "redirect_uris": []},
    {"client_type": "terminal", "redirect_uris": []},
    {"sensitive_claims": ["id_number"], "sensitive_purpose": "社保资格认证",
     "sensitive_legal_basis": "《社会保险法》第七十四条"},
    {"initiate_login_uri": "https://rp.example/start", "logo_uri": "https://rp.example/l.png"},
])
def test_valid_variants(changes):
    assert problems(**changes) == []


def test_loopback_http_for_web_clients_only_outside_production():
    spec = ClientSpec(**{**GOOD, "redirect_uris": ["http://127.0.0.1:5001/callback"],
                         "frontchannel_logout_uri": "http://127.0.0.1:5001/fc"})
    assert problems_of(spec, allow_http_loopback=True) == []
    assert {p.field for p in problems_of(spec, allow_http_loopback=False)} == {
        "redirect_uris", "frontchannel_logout_uri"}


# --- checks that fetch -----------------------------------------------------------------------

@pytest.fixture
def settings_overrides():
    return {"fetch_allow_loopback": True}


def _register(http, iat, **body):
    return http.post("/connect/register", json={"client_name": "x", **body},
                     headers={"Authorization": f"Bearer {iat}"})


@pytest.fixture
def iat(app, make_person):
    owner = make_person()
    return issue_iat(app, make_org(app, owner), owner, max_uses=10)


def test_oidcc_registration_sector_uri(app, client, iat):
    from ..registration_fixtures import client_row

    with DocumentServer() as server:
        server.documents["/sector"] = (200, ["https://a.example/cb", "https://b.example/cb"], {})
        body = _register(client, iat, redirect_uris=["https://a.example/cb",
                                                     "https://b.example/cb"],
                         subject_type="pairwise", sector_identifier_uri=server.url("/sector"))
        assert body.status_code == 201, body.get_json()
        assert client_row(app, body.get_json()["client_id"]).sector_identifier == "127.0.0.1"


@pytest.mark.parametrize(("document", "status"), [
    (["https://a.example/cb"], 200),           # oidcc-registration-sector-bad: b is missing
    ({"redirect_uris": ["https://a.example/cb", "https://b.example/cb"]}, 200),
    (b"not json", 200),
    ([], 404),
])
def test_oidcc_registration_sector_bad(client, iat, document, status):
    with DocumentServer() as server:
        server.documents["/sector"] = (status, document, {})
        body = _register(client, iat, redirect_uris=["https://a.example/cb",
                                                     "https://b.example/cb"],
                         subject_type="pairwise", sector_identifier_uri=server.url("/sector"))
        assert body.status_code == 400
        assert body.get_json()["error"] == "invalid_client_metadata"


def test_pairwise_with_several_hosts_needs_a_sector_identifier(client, iat):
    body = _register(client, iat, redirect_uris=["https://a.example/cb", "https://b.example/cb"],
                     subject_type="pairwise")
    assert body.get_json()["error"] == "invalid_client_metadata"


@pytest.mark.parametrize("document", [
    {"keys": [{**RSA_PUBLIC, "d": "AAAA"}]}, {"keys": []}, [], b"<html>",
])
def test_jwks_uri_must_serve_public_keys(client, iat, document):
    with DocumentServer() as server:
        server.documents["/jwks"] = (200, document, {})
        body = _register(client, iat, redirect_uris=["https://a.example/cb"],
                         token_endpoint_auth_method="private_key_jwt",
                         jwks_uri=server.url("/jwks"))
        assert body.get_json()["error"] == "invalid_client_metadata"


@pytest.mark.parametrize("settings_overrides", [{"env": "production",
                                                 "issuer": "https://id.example.gov.cn"}])
@pytest.mark.parametrize("where", ["loopback", "private", "metadata", "mapped", "localhost"])
def test_jwks_uri_and_sector_uri_on_internal_addresses_are_refused_in_production(
        client, iat, settings_overrides, where):
    with DocumentServer() as server:
        server.documents["/doc"] = (200, {"keys": [RSA_PUBLIC]}, {})
        port = server.base.rsplit(":", 1)[1]
        url = {"loopback": f"https://127.0.0.1:{port}/doc", "private": "https://10.1.2.3/doc",
               "metadata": "https://169.254.169.254/latest/meta-data/",
               "mapped": f"https://[::ffff:127.0.0.1]:{port}/doc",
               "localhost": f"https://localhost:{port}/doc"}[where]
        for body in ({"token_endpoint_auth_method": "private_key_jwt", "jwks_uri": url},
                     {"subject_type": "pairwise", "sector_identifier_uri": url}):
            response = _register(client, iat, redirect_uris=["https://a.example/cb"], **body)
            assert response.status_code == 400
            assert response.get_json()["error"] == "invalid_client_metadata"
            assert "may not reach" in response.get_json()["error_description"]
        assert server.hits == []


# --- secret rotation -------------------------------------------------------------------------

def _client_credentials(http, client_id, secret):
    return http.post("/token", data={"grant_type": "client_credentials"},
                     headers=basic(client_id, secret))


def _rotate(app, client_id, overlap):
    from sqlalchemy import select

    from idp.clock import utcnow
    from idp.developer.credentials import rotate_secret
    from idp.extensions import db
    from idp.models import Client

    with app.app_context():
        row = db.session.scalar(select(Client).where(Client.client_id == client_id))
        secret = rotate_secret(row, overlap=overlap, person_id=None, now=utcnow())
        db.session.commit()
        return secret


def test_rotated_secret_overlaps_then_expires(app, client, make_client, frozen_clock):
    svc = make_client("service", scope="reports")
    old = svc.plain_secret
    new = _rotate(app, svc.client_id, 3600)
    assert new != old
    assert _client_credentials(client, svc.client_id, new).status_code == 200
    assert _client_credentials(client, svc.client_id, old).status_code == 200
    frozen_clock.advance(3601)
    assert _client_credentials(client, svc.client_id, new).status_code == 200
    refused = _client_credentials(client, svc.client_id, old)
    assert refused.status_code == 401 and refused.get_json()["error"] == "invalid_client"


def test_rotation_without_overlap_and_rotation_during_overlap(app, client, make_client):
    svc = make_client("service", scope="reports")
    first = svc.plain_secret
    second = _rotate(app, svc.client_id, 0)
    assert _client_credentials(client, svc.client_id, first).status_code == 401
    third = _rotate(app, svc.client_id, 3600)
    fourth = _rotate(app, svc.client_id, 3600)
    assert _client_credentials(client, svc.client_id, second).status_code == 401
    assert _client_credentials(client, svc.client_id, third).status_code == 200
    assert _client_credentials(client, svc.client_id, fourth).status_code == 200


def test_secret_check_uses_the_time_it_is_given():
    from datetime import datetime

    from idp.models import Client
    from idp.models.client import hash_secret

    at = datetime(2026, 1, 1)
    row = Client(secret_hash=hash_secret("new"), previous_secret_hash=hash_secret("old"),
                 previous_secret_expires_at=at)
    assert row.check_client_secret("new", now=at + timedelta(days=1))
    assert row.check_client_secret("old", now=at - timedelta(seconds=1))
    assert not row.check_client_secret("old", now=at)
    assert not row.check_client_secret("other", now=at - timedelta(days=1))
