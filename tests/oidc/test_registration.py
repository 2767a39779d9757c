"""Dynamic Client Registration (RFC 7591) and client configuration (RFC 7592):
initial access tokens, approval, the registration access token, read/update/delete, and the
conformance modules oidcc-redirect-uri-regfrag, oidcc-3rd_party-init-login(-nohttps)."""

from datetime import timedelta

import pytest

from ..helpers import Flow, basic, signed_in
from ..registration_fixtures import approve_pending, client_row, grant_role, issue_iat, make_org

WEB = {"client_name": "社保查询", "redirect_uris": ["https://rp.example/cb"]}


@pytest.fixture
def owner(make_person):
    return make_person(username="developer")


@pytest.fixture
def org(app, owner):
    return make_org(app, owner)


def register(http, iat, body=None, **extra):
    return http.post("/connect/register", json={**(body or WEB), **extra},
                     headers={"Authorization": f"Bearer {iat}"} if iat else {})


def test_discovery_advertises_registration_endpoint(client):
    # The person's own sign-up page keeps its address.
    assert client.get("/register").status_code == 200
    meta = client.get("/.well-known/openid-configuration").get_json()
    assert meta["registration_endpoint"] == meta["issuer"] + "/connect/register"
    assert "private_key_jwt" in meta["token_endpoint_auth_methods_supported"]
    assert "HS256" not in meta["token_endpoint_auth_signing_alg_values_supported"]


@pytest.mark.parametrize("token", [None, "tbi_not-a-token", "Basic abc"])
def test_registration_requires_an_initial_access_token(client, org, token):
    response = register(client, token)
    assert response.status_code == 401
    assert response.get_json()["error"] == "invalid_token"
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_initial_access_token_is_single_use_and_invalid_requests_do_not_use_it(
        app, client, org, owner):
    iat = issue_iat(app, org, owner, max_uses=1)
    bad = register(client, iat, redirect_uris=["https://rp.example/cb#frag"])
    assert bad.get_json()["error"] == "invalid_redirect_uri"
    assert register(client, iat).status_code == 201
    again = register(client, iat)
    assert again.status_code == 401
    assert again.get_json()["error"] == "invalid_token"


def test_initial_access_token_expires(app, client, org, owner, frozen_clock):
    iat = issue_iat(app, org, owner, days=1)
    frozen_clock.advance(timedelta(days=1, seconds=1).total_seconds())
    assert register(client, iat).get_json()["error"] == "invalid_token"


def test_revoked_initial_access_token_is_refused(app, client, org, owner):
    from sqlalchemy import select

    from idp.clock import utcnow
    from idp.developer import initial_tokens
    from idp.extensions import db
    from idp.models import InitialAccessToken

    iat = issue_iat(app, org, owner, max_uses=5)
    with app.app_context():
        row = db.session.scalar(select(InitialAccessToken))
        initial_tokens.revoke(row, person_id=owner.id, now=utcnow())
        db.session.commit()
    assert register(client, iat).get_json()["error"] == "invalid_token"


def test_production_registration_waits_for_approval(app, client, org, owner, make_person):
    iat = issue_iat(app, org, owner)
    response = register(client, iat, client_id="my-chosen-id", client_secret="chosen-secret")
    assert response.status_code == 201
    body = response.get_json()
    # RFC 9700 §4.15: the registrant never picks its identifier or secret.
    assert body["client_id"].startswith("tbc_") and body["client_id"] != "my-chosen-id"
    assert body["client_secret"].startswith("tbs_") and body["client_secret"] != "chosen-secret"
    assert body["client_secret_expires_at"] == 0
    assert body["registration_client_uri"] == f"http://127.0.0.1:5000/connect/register/{body['client_id']}"
    assert body["registration_access_token"].startswith("tbg_")
    assert body["approval_status"] == "pending"
    assert response.headers["Cache-Control"] == "no-store"
    row = client_row(app, body["client_id"])
    assert row.registration_token_hash != body["registration_access_token"]
    assert row.organisation_id == org and row.status == "pending"

    rp = row
    rp.plain_secret = body["client_secret"]
    signed_in(client, make_person)
    pending = Flow(client, rp).authorize()
    assert pending.status_code == 400 and "Location" not in pending.headers

    admin = make_person(username="sysadmin")
    grant_role(app, admin)
    approve_pending(app, body["client_id"], admin)
    assert Flow(client, rp).tokens()["id_token"]


@pytest.mark.parametrize(("uris", "error"), [
    (["https://rp.example/cb#fragment"], "invalid_redirect_uri"),   # oidcc-redirect-uri-regfrag
    (["https://rp.example/cb#"], "invalid_redirect_uri"),
    (["http://rp.example/cb"], "invalid_redirect_uri"),
    (["javascript:alert(1)"], "invalid_redirect_uri"),
    (["JaVaScRiPt:alert(1)//"], "invalid_redirect_uri"),
    (["DATA:text/html,<script>alert(1)</script>"], "invalid_redirect_uri"),
    (["https://*.rp.example/cb"], "invalid_redirect_uri"),
    (["https://user:pw@rp.example/cb"], "invalid_redirect_uri"),
    (["https://good@evil.example/cb"], "invalid_redirect_uri"),
    (["/relative/cb"], "invalid_redirect_uri"),
    (["HTTPS://rp.example/cb"], "invalid_redirect_uri"),
    ([" https://rp.example/cb"], "invalid_redirect_uri"),
    (["com.example.app:/cb"], "invalid_redirect_uri"),           # private scheme, web client
    ([], "invalid_redirect_uri"),
    ("https://rp.example/cb", "invalid_client_metadata"),        # not an array
])
def test_registration_refuses_bad_redirect_uris(app, client, org, owner, uris, error):
    iat = issue_iat(app, org, owner)
    response = register(client, iat, redirect_uris=uris)
    assert response.status_code == 400
    assert response.get_json()["error"] == error


@pytest.mark.parametrize("extra", [
    {"post_logout_redirect_uris": ["DATA:text/html,x"]},
    {"post_logout_redirect_uris": ["javascript:alert(1)"]},
    {"post_logout_redirect_uris": ["https://rp.example/bye#x"]},
    {"logo_uri": "JaVaScRiPt:alert(1)"},
    {"logo_uri": "http://rp.example/logo.png"},
    {"policy_uri": "data:text/html,x"},
    {"tos_uri": "vbscript:x"},
    {"client_uri": "https://rp.example/#home"},
    {"frontchannel_logout_uri": "http://rp.example/fc"},
    {"backchannel_logout_uri": "file:///etc/passwd"},
    # oidcc-3rd_party-init-login-nohttps
    {"initiate_login_uri": "http://rp.example/start"},
    {"initiate_login_uri": "http://127.0.0.1:8000/start"},        # https always, even loopback
    {"initiate_login_uri": "JaVaScRiPt:alert(1)"},
    {"jwks_uri": "http://rp.example/jwks"},
    {"sector_identifier_uri": "http://rp.example/sector", "subject_type": "pairwise"},
    {"response_types": ["token"]},
    {"response_types": ["code", "id_token"]},
    {"grant_types": ["implicit"]},
    {"grant_types": ["password"]},
    {"token_endpoint_auth_method": "client_secret_jwt"},
    {"token_endpoint_auth_method": "private_key_jwt"},             # but no keys
    {"token_endpoint_auth_signing_alg": "HS256"},
    {"id_token_signed_response_alg": "none"},
    {"id_token_signed_response_alg": "HS256"},
    {"id_token_encrypted_response_alg": "RSA-OAEP"},
    {"userinfo_signed_response_alg": "RS256"},
    {"request_uris": ["https://rp.example/request"]},
    {"default_max_age": 60},
    {"subject_type": "anonymous"},
    {"scope": "openid admin"},
    {"application_type": "desktop"},
    {"client_name": ""},
    {"client_name": "x" * 201},
    {"contacts": "ops@rp.example"},
    {"sensitive_claims": ["id_number"]},                            # no purpose / legal basis
    {"sensitive_claims": ["id_number"], "sensitive_purpose": "社保资格核验"},
    {"sensitive_claims": ["blood_type"], "sensitive_purpose": "x", "sensitive_legal_basis": "y"},
    {"sector_identifier_uri": "https://rp.example/sector"},         # only for pairwise
    {"jwks": {"keys": [{"kty": "oct", "k": "c2VjcmV0"}]}},
    {"client_type": "kiosk"},
])
def test_registration_refuses_bad_metadata(app, client, org, owner, extra):
    iat = issue_iat(app, org, owner)
    response = register(client, iat, **extra)
    assert response.status_code == 400, response.get_json()
    assert response.get_json()["error"] == "invalid_client_metadata"


def test_registration_refuses_non_json(app, client, org, owner):
    iat = issue_iat(app, org, owner)
    response = client.post("/connect/register", data="client_name=x",
                           headers={"Authorization": f"Bearer {iat}"})
    assert response.status_code == 400
    assert response.get_json()["error"] == "invalid_client_metadata"


def test_oidcc_3rd_party_init_login(app, client, org, owner):
    iat = issue_iat(app, org, owner)
    body = register(client, iat, initiate_login_uri="https://rp.example/start").get_json()
    read = client.get(body["registration_client_uri"],
                      headers={"Authorization": f"Bearer {body['registration_access_token']}"})
    assert read.status_code == 200
    assert read.get_json()["initiate_login_uri"] == "https://rp.example/start"


def test_native_and_spa_clients_are_public(app, client, org, owner):
    iat = issue_iat(app, org, owner, max_uses=3)
    native = register(client, iat, {"client_name": "掌上办", "application_type": "native",
                                    "token_endpoint_auth_method": "none",
                                    "redirect_uris": ["cn.gov.example.app:/cb",
                                                      "http://127.0.0.1/cb"]}).get_json()
    assert native["token_endpoint_auth_method"] == "none" and "client_secret" not in native
    spa = register(client, iat, {"client_name": "SPA", "token_endpoint_auth_method": "none",
                                 "redirect_uris": ["https://spa.example/cb"]}).get_json()
    assert spa["client_type"] == "spa" and "client_secret" not in spa
    bad = register(client, iat, {"client_name": "x", "application_type": "native",
                                 "token_endpoint_auth_method": "none",
                                 "redirect_uris": ["example:/cb"]})
    assert bad.get_json()["error"] == "invalid_redirect_uri"


def _registered(app, client, org, owner, **extra):
    iat = issue_iat(app, org, owner)
    body = register(client, iat, **extra).get_json()
    return body, {"Authorization": f"Bearer {body['registration_access_token']}"}


def test_rfc7592_read_needs_the_clients_own_token(app, client, org, owner):
    first, auth = _registered(app, client, org, owner)
    _second, other = _registered(app, client, org, owner)
    assert client.get(first["registration_client_uri"], headers=auth).status_code == 200
    for headers in (other, {}, {"Authorization": "Bearer tbg_nope"}):
        response = client.get(first["registration_client_uri"], headers=headers)
        assert response.status_code == 401
        assert response.get_json()["error"] == "invalid_token"
    unknown = client.get("/connect/register/tbc_unknown", headers=auth)
    assert unknown.status_code == 401


def test_rfc7592_update_widening_waits_narrowing_applies(app, client, org, owner, make_person):
    body, auth = _registered(app, client, org, owner,
                             redirect_uris=["https://rp.example/cb", "https://rp.example/cb2"])
    admin = make_person(username="sysadmin")
    grant_role(app, admin)
    approve_pending(app, body["client_id"], admin)

    update = {"client_id": body["client_id"], "client_name": "社保查询",
              "redirect_uris": ["https://rp.example/cb"]}
    narrowed = client.put(body["registration_client_uri"], json=update, headers=auth)
    assert narrowed.status_code == 200, narrowed.get_json()
    assert narrowed.get_json()["redirect_uris"] == ["https://rp.example/cb"]
    assert narrowed.get_json()["approval_status"] == "active"

    widened = client.put(body["registration_client_uri"], headers=auth, json={
        **update, "redirect_uris": ["https://rp.example/cb", "https://evil.example/cb"]})
    assert widened.status_code == 200
    assert widened.get_json()["redirect_uris"] == ["https://rp.example/cb"]
    assert widened.get_json()["approval_status"] == "change_pending"
    assert client_row(app, body["client_id"]).redirect_uris == ["https://rp.example/cb"]

    approve_pending(app, body["client_id"], admin)
    assert client_row(app, body["client_id"]).redirect_uris == [
        "https://rp.example/cb", "https://evil.example/cb"]


@pytest.mark.parametrize("change", [
    {"client_id": "tbc_someone_else"},
    {"registration_access_token": "x"},
    {"client_id_issued_at": 1},
    {"client_secret": "tbs_wrong"},
])
def test_rfc7592_update_rules(app, client, org, owner, change):
    body, auth = _registered(app, client, org, owner)
    update = {"client_id": body["client_id"], **WEB, **change}
    response = client.put(body["registration_client_uri"], json=update, headers=auth)
    assert response.status_code == 400
    assert response.get_json()["error"] == "invalid_request"


def test_rfc7592_update_is_validated_like_registration(app, client, org, owner):
    body, auth = _registered(app, client, org, owner)
    response = client.put(body["registration_client_uri"], headers=auth, json={
        "client_id": body["client_id"], "client_name": "x",
        "redirect_uris": ["https://rp.example/cb#frag"]})
    assert response.get_json()["error"] == "invalid_redirect_uri"


def test_rfc7592_delete_ends_the_client(app, client, org, owner, make_person):
    body, auth = _registered(app, client, org, owner)
    admin = make_person(username="sysadmin")
    grant_role(app, admin)
    approve_pending(app, body["client_id"], admin)
    rp = client_row(app, body["client_id"])
    rp.plain_secret = body["client_secret"]
    signed_in(client, make_person)
    tokens = Flow(client, rp).tokens()

    assert client.delete(body["registration_client_uri"], headers=auth).status_code == 204
    assert client.get(body["registration_client_uri"], headers=auth).status_code == 401
    info = client.get("/userinfo", headers={"Authorization": f"Bearer {tokens['access_token']}"})
    assert info.status_code == 401
    refreshed = client.post("/token", data={"grant_type": "refresh_token",
                                            "refresh_token": tokens["refresh_token"]},
                            headers=basic(body["client_id"], body["client_secret"]))
    assert refreshed.status_code in (400, 401)
    assert refreshed.get_json()["error"] == "invalid_client"


def test_sandbox_registration_works_at_once_for_test_accounts_only(
        app, client, org, owner, make_person):
    from idp.clock import utcnow
    from idp.developer import organisations
    from idp.extensions import db

    from ..conftest import PASSWORD
    from ..helpers import login, query

    iat = issue_iat(app, org, owner, environment="sandbox")
    body = register(client, iat).get_json()
    assert body["approval_status"] == "active"
    rp = client_row(app, body["client_id"])
    rp.plain_secret = body["client_secret"]

    # A real person is asked to log in (with a test account) ...
    citizen = signed_in(client, make_person)
    first = Flow(client, rp).authorize()
    assert first.status_code == 302 and first.headers["Location"].startswith("/login")
    silent = Flow(client, rp).authorize(prompt="none")
    assert query(silent)["error"] == "login_required"
    # ... and told plainly if they log in as themselves again: no redirect to the client.
    next_path = first.headers["Location"].split("next=", 1)[1].replace("%2F", "/")
    logged_in = login(client, citizen.username, next_path=next_path)
    refused = client.get(logged_in.headers["Location"])
    assert refused.status_code == 400 and "Location" not in refused.headers
    assert "access_denied" in refused.get_data(as_text=True)

    with app.app_context():
        organisations.create_test_account(organisation_id=org, username="tester1",
                                          password=PASSWORD, display_name="测试用户",
                                          person_id=owner.id, now=utcnow())
        db.session.commit()
    tester = app.test_client()
    login(tester, "tester1")
    assert Flow(tester, rp).tokens()["id_token"]


def test_a_single_use_token_registers_once_under_concurrency(app, org, owner):
    """N registrations race with one single-use initial access token: exactly one wins."""
    from concurrent.futures import ThreadPoolExecutor

    iat = issue_iat(app, org, owner, max_uses=1)

    def attempt(_):
        return register(app.test_client(), iat).status_code

    with ThreadPoolExecutor(max_workers=8) as pool:
        statuses = list(pool.map(attempt, range(8)))
    assert statuses.count(201) == 1
    assert statuses.count(401) == 7
