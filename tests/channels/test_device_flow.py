"""Device authorization grant (RFC 8628) for terminals: codes easy to read aloud, polling with
authorization_pending / slow_down / expired_token / access_denied, short sessions, no refresh
token."""

from __future__ import annotations

import re

import pytest
from joserfc import jwt
from sqlalchemy import func, select

from idp.extensions import db
from idp.models import AccessToken, SsoSession

from ..helpers import csrf_token, login

DEVICE_CODE = "urn:ietf:params:oauth:grant-type:device_code"


@pytest.fixture
def terminal(make_client):
    return make_client("terminal", redirect_uris=(), name="24小时自助终端 (市民中心)")


def start(http, terminal, **extra):
    response = http.post("/device_authorization",
                         data={"client_id": terminal.client_id, "scope": "openid profile",
                               **extra})
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def poll(http, terminal, device_code):
    return http.post("/token", data={"grant_type": DEVICE_CODE, "device_code": device_code,
                                     "client_id": terminal.client_id})


def approve(app, person, user_code, decision="approve"):
    phone = app.test_client()
    assert login(phone, person.username).status_code == 303
    entered = phone.get("/device", query_string={"user_code": user_code})
    assert entered.status_code == 200
    confirm = phone.post("/device", data={"csrf_token": csrf_token(entered.get_data(as_text=True)),
                                          "user_code": user_code})
    assert confirm.status_code == 200, confirm.get_data(as_text=True)[:400]
    return phone.post("/device", data={"csrf_token": csrf_token(confirm.get_data(as_text=True)),
                                       "user_code": user_code, "decision": decision})


def _tokens(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(AccessToken))


def test_device_authorization_response(client, terminal):
    body = start(client, terminal)
    assert re.fullmatch(r"[BCDFGHJKLMNPQRSTVWXZ]{4}-[BCDFGHJKLMNPQRSTVWXZ]{4}", body["user_code"])
    assert body["verification_uri"] == "http://127.0.0.1:5000/device"
    assert body["verification_uri_complete"] == (
        f"http://127.0.0.1:5000/device?user_code={body['user_code']}")
    assert body["expires_in"] == 600
    assert body["interval"] == 5
    assert len(body["device_code"]) >= 40


def test_full_flow_with_pending_then_tokens(app, client, terminal, make_person, frozen_clock):
    person = make_person()
    body = start(client, terminal)
    pending = poll(client, terminal, body["device_code"])
    assert pending.status_code == 400
    assert pending.get_json()["error"] == "authorization_pending"

    done = approve(app, person, body["user_code"])
    assert done.status_code == 200
    frozen_clock.advance(5)
    issued = poll(client, terminal, body["device_code"])

    assert issued.status_code == 200, issued.get_json()
    tokens = issued.get_json()
    assert "refresh_token" not in tokens
    assert tokens["expires_in"] == 300  # terminals: short sessions
    with app.app_context():
        from idp.oidc.provider import provider

        claims = jwt.decode(tokens["access_token"], provider().keys.verification_keys()).claims
        session = db.session.scalar(select(SsoSession).where(SsoSession.sid == claims["sid"]))
        assert session.channel == "device"
        assert (session.expires_at - session.created_at).total_seconds() == 300
    assert claims["sub"] == person.sub
    assert claims["acr"] == "urn:tongban:aal1"


def test_the_device_code_buys_one_token_set(app, client, terminal, make_person, frozen_clock):
    body = start(client, terminal)
    approve(app, make_person(), body["user_code"])
    assert poll(client, terminal, body["device_code"]).status_code == 200
    frozen_clock.advance(5)

    again = poll(client, terminal, body["device_code"])

    assert again.status_code == 400
    assert again.get_json()["error"] == "invalid_grant"
    assert _tokens(app) == 1


def test_polling_too_fast_is_slow_down_and_the_interval_grows(app, client, terminal,
                                                              frozen_clock):
    body = start(client, terminal)
    assert poll(client, terminal, body["device_code"]).get_json()["error"] == \
        "authorization_pending"
    frozen_clock.advance(4)

    fast = poll(client, terminal, body["device_code"])

    assert fast.status_code == 400
    assert fast.get_json() == {"error": "slow_down",
                               "error_description": "Poll at most every 10 seconds."}
    frozen_clock.advance(9)  # 9 s later: still inside the new 10-second interval
    assert poll(client, terminal, body["device_code"]).get_json()["error"] == "slow_down"
    frozen_clock.advance(15)  # the interval is now 15
    assert poll(client, terminal, body["device_code"]).get_json()["error"] == \
        "authorization_pending"
    assert _tokens(app) == 0


def test_polling_too_fast_even_after_approval_issues_nothing(app, client, terminal,
                                                            make_person, frozen_clock):
    body = start(client, terminal)
    poll(client, terminal, body["device_code"])
    approve(app, make_person(), body["user_code"])
    frozen_clock.advance(1)

    assert poll(client, terminal, body["device_code"]).get_json()["error"] == "slow_down"
    assert _tokens(app) == 0


@pytest.mark.parametrize("settings_overrides", [{"device_poll_interval": 1}], indirect=True)
def test_the_interval_is_configurable(app, client, terminal, frozen_clock):
    body = start(client, terminal)
    assert body["interval"] == 1
    poll(client, terminal, body["device_code"])
    frozen_clock.advance(1)
    assert poll(client, terminal, body["device_code"]).get_json()["error"] == \
        "authorization_pending"


def test_expired_device_code(app, client, terminal, frozen_clock):
    body = start(client, terminal)
    frozen_clock.advance(600)
    expired = poll(client, terminal, body["device_code"])
    assert expired.status_code == 400
    assert expired.get_json()["error"] == "expired_token"


def test_denied_is_access_denied(app, client, terminal, make_person):
    body = start(client, terminal)
    assert approve(app, make_person(), body["user_code"], decision="deny").status_code == 200
    denied = poll(client, terminal, body["device_code"])
    assert denied.status_code == 400
    assert denied.get_json()["error"] == "access_denied"
    assert _tokens(app) == 0


def test_an_expired_user_code_cannot_be_approved(app, client, terminal, make_person,
                                                 frozen_clock):
    body = start(client, terminal)
    frozen_clock.advance(601)
    phone = app.test_client()
    login(phone, make_person().username)
    page = phone.get("/device")
    refused = phone.post("/device", data={"csrf_token": csrf_token(page.get_data(as_text=True)),
                                          "user_code": body["user_code"], "decision": "approve"})
    assert refused.status_code == 400


def test_user_codes_are_accepted_in_any_case_without_the_dash(app, client, terminal,
                                                              make_person, frozen_clock):
    body = start(client, terminal)
    typed = body["user_code"].replace("-", " ").lower()
    assert approve(app, make_person(), typed).status_code == 200
    frozen_clock.advance(5)
    assert poll(client, terminal, body["device_code"]).status_code == 200


def test_too_many_wrong_codes(app, make_person):
    phone = app.test_client()
    login(phone, make_person().username)
    page = phone.get("/device")
    token = csrf_token(page.get_data(as_text=True))
    for _ in range(5):
        assert phone.post("/device", data={"csrf_token": token,
                                           "user_code": "BBBB-BBBB"}).status_code == 400
    assert phone.get("/device").status_code == 429


def test_verification_needs_a_login(client):
    response = client.get("/device", query_string={"user_code": "BCDF-GHJK"})
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login?next=/device")


def test_clients_not_allowed_the_grant(app, client, make_client, make_person):
    native = make_client("native", redirect_uris=("http://127.0.0.1/cb",))
    refused = client.post("/device_authorization", data={"client_id": native.client_id})
    assert refused.status_code == 400
    assert refused.get_json()["error"] == "unauthorized_client"


def test_another_client_cannot_redeem_the_device_code(app, client, terminal, make_client,
                                                      make_person, frozen_clock):
    other = make_client("terminal", redirect_uris=())
    body = start(client, terminal)
    approve(app, make_person(), body["user_code"])
    frozen_clock.advance(5)

    stolen = poll(client, other, body["device_code"])

    assert stolen.get_json()["error"] == "invalid_grant"
    assert _tokens(app) == 0


def test_discovery_advertises_the_channels(client):
    metadata = client.get("/.well-known/openid-configuration").get_json()
    assert metadata["device_authorization_endpoint"] == "http://127.0.0.1:5000/device_authorization"
    assert DEVICE_CODE in metadata["grant_types_supported"]
    assert "urn:ietf:params:oauth:grant-type:token-exchange" in metadata["grant_types_supported"]
