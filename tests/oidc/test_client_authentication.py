"""Client authentication at the token endpoint (RFC 6749 §2.3, §3.2.1; RFC 9700 §2.5) and the
client_credentials grant (RFC 6749 §4.4) for department back ends."""

import hashlib

import pytest
from joserfc import jwt
from joserfc.jwk import KeySet
from sqlalchemy import select

from idp.extensions import db
from idp.models import Client

from ..helpers import Flow, basic, pkce_pair, signed_in, token_call


@pytest.fixture
def person(client, make_person):
    return signed_in(client, make_person)


def assert_error(response, error: str, status: int) -> None:
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.get_json()["error"] == error


def code_request(flow) -> dict:
    return {"grant_type": "authorization_code", "code": flow.code(),
            "redirect_uri": flow.redirect_uri, "code_verifier": flow.verifier}


# --- the three methods ---------------------------------------------------------------------------

@pytest.mark.parametrize(("registered", "auth"), [
    ("client_secret_basic", "basic"),
    ("client_secret_post", "post"),
])
def test_confidential_client_methods(client, person, make_client, registered, auth):
    rp = make_client(auth_method=registered)
    response = token_call(client, rp, code_request(Flow(client, rp)), auth=auth)
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["access_token"]


@pytest.mark.parametrize("client_type", ["spa", "native"])
def test_public_client_uses_none_with_pkce(client, person, make_client, client_type):
    redirect = "https://rp.example/cb" if client_type == "spa" else "http://127.0.0.1/cb"
    rp = make_client(client_type, redirect_uris=(redirect,))
    assert rp.plain_secret is None
    flow = Flow(client, rp)
    response = token_call(client, rp, code_request(flow), auth="none")
    assert response.status_code == 200, response.get_json()
    # Without PKCE a public client's code is worthless (the verifier is its only proof).
    flow.verifier, flow.challenge = pkce_pair()
    code = flow.code()
    response = token_call(client, rp, {"grant_type": "authorization_code", "code": code,
                                       "redirect_uri": flow.redirect_uri}, auth="none")
    assert_error(response, "invalid_grant", 400)


# --- failures ------------------------------------------------------------------------------------

@pytest.mark.parametrize(("registered", "how"), [
    ("client_secret_basic", "basic"),
    ("client_secret_post", "post"),
])
def test_wrong_secret(client, person, make_client, registered, how):
    rp = make_client(auth_method=registered)
    data = code_request(Flow(client, rp))
    headers = {}
    if how == "basic":
        headers = basic(rp.client_id, rp.plain_secret + "x")
    else:
        data.update(client_id=rp.client_id, client_secret=rp.plain_secret + "x")
    response = client.post("/token", data=data, headers=headers)
    assert_error(response, "invalid_client", 401)
    if how == "basic":
        assert response.headers["WWW-Authenticate"].startswith("Basic ")


def test_confidential_client_without_credentials(client, person, make_client):
    """RFC 9700 §2.5 (row 13): a confidential client may not fall back to `none`."""
    rp = make_client()
    response = client.post("/token", data={**code_request(Flow(client, rp)),
                                           "client_id": rp.client_id})
    assert_error(response, "invalid_client", 401)


@pytest.mark.parametrize(("registered", "used"), [
    ("client_secret_basic", "post"),
    ("client_secret_post", "basic"),
])
def test_only_the_registered_method(client, person, make_client, registered, used):
    rp = make_client(auth_method=registered)
    response = token_call(client, rp, code_request(Flow(client, rp)), auth=used)
    assert_error(response, "invalid_client", 401)


def test_public_client_sending_a_secret_is_refused(client, person, make_client):
    rp = make_client("spa")
    response = client.post("/token", data={**code_request(Flow(client, rp)),
                                           "client_id": rp.client_id, "client_secret": "guess"})
    assert_error(response, "invalid_client", 401)


@pytest.mark.parametrize(("auth", "status"), [("basic", 401), ("post", 400)])
def test_disabled_client(client, person, make_client, app, auth, status):
    rp = make_client(auth_method=f"client_secret_{auth}")
    data = code_request(Flow(client, rp))
    with app.app_context():
        db.session.scalar(select(Client).where(Client.client_id == rp.client_id)).status = \
            "disabled"
        db.session.commit()
    assert_error(token_call(client, rp, data, auth=auth), "invalid_client", status)


def test_unknown_client(client):
    response = client.post("/token", data={"grant_type": "client_credentials"},
                           headers=basic("tbc_nobody", "tbs_nothing"))
    assert_error(response, "invalid_client", 401)


def test_secrets_are_stored_hashed(app, make_client):
    rp = make_client()
    with app.app_context():
        row = db.session.scalar(select(Client).where(Client.client_id == rp.client_id))
        stored = {c.name: getattr(row, c.name) for c in Client.__table__.columns}
    assert stored["secret_hash"] == hashlib.sha256(rp.plain_secret.encode()).hexdigest()
    assert not any(rp.plain_secret in str(value) for value in stored.values())


# --- client_credentials --------------------------------------------------------------------------

@pytest.fixture
def service(make_client):
    return make_client("service", scope="records.read records.write")


def credentials(client, service, **extra):
    return token_call(client, service, {"grant_type": "client_credentials", **extra})


@pytest.mark.parametrize("auth", ["basic", "post"])
def test_client_credentials(client, make_client, auth):
    service = make_client("service", scope="records.read records.write",
                          auth_method=f"client_secret_{auth}")
    response = token_call(client, service, {"grant_type": "client_credentials",
                                            "scope": "records.read"}, auth=auth)
    assert response.status_code == 200, response.get_json()
    assert response.headers["Cache-Control"] == "no-store"
    body = response.get_json()
    assert "refresh_token" not in body and "id_token" not in body
    assert body["scope"] == "records.read"
    token = jwt.decode(body["access_token"], KeySet.import_key_set(client.get("/jwks").get_json()),
                       algorithms=["ES256"])
    # RFC 9068 §2.2: the subject of a client_credentials token is the client itself.
    assert token.claims["sub"] == token.claims["client_id"] == service.client_id
    assert token.claims["scope"] == "records.read"


def test_client_credentials_without_scope_gets_none(client, service):
    response = credentials(client, service)
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["scope"] == ""


@pytest.mark.parametrize("scope", ["records.admin", "records.read records.admin", "openid",
                                   "offline_access", "profile"])
def test_client_credentials_scope_beyond_the_client(client, service, scope):
    assert_error(credentials(client, service, scope=scope), "invalid_scope", 400)


def test_client_credentials_token_is_not_for_userinfo(client, service):
    token = credentials(client, service, scope="records.read").get_json()["access_token"]
    response = client.get("/userinfo", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 403
    assert 'error="insufficient_scope"' in response.headers["WWW-Authenticate"]


def test_web_client_may_not_use_client_credentials(client, make_client):
    rp = make_client()
    response = token_call(client, rp, {"grant_type": "client_credentials"})
    assert_error(response, "unauthorized_client", 400)


def test_public_client_may_not_use_client_credentials(client, make_client):
    rp = make_client("spa", grant_types=["authorization_code", "client_credentials"])
    response = token_call(client, rp, {"grant_type": "client_credentials"}, auth="none")
    assert_error(response, "invalid_client", 401)


def test_service_client_may_not_use_the_code_grant(client, service):
    response = token_call(client, service, {"grant_type": "authorization_code", "code": "x",
                                            "redirect_uri": "https://rp.example/cb"})
    assert_error(response, "unauthorized_client", 400)


def test_two_authentication_methods_at_once_are_refused(client, make_client):
    """RFC 6749 §2.3: a client MUST NOT use more than one authentication method per request."""
    service = make_client("service", scope="api:read")
    response = client.post("/token", data={"grant_type": "client_credentials",
                                           "client_id": service.client_id,
                                           "client_secret": service.plain_secret},
                           headers=basic(service.client_id, service.plain_secret))
    assert response.status_code == 400
    assert response.get_json()["error"] == "invalid_request"
