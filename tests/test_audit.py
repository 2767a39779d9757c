"""The audit writer: named `<object>.<verb>` events, no secret-shaped detail, and nothing
replayable in the audit table or the logs after a whole login-to-logout journey."""

import json
import logging

import pytest
from sqlalchemy import select

from idp import audit
from idp.extensions import db
from idp.models import AuditEvent

from .conftest import PASSWORD
from .helpers import Flow, login, token_call


@pytest.mark.parametrize("name", ["login.succeeded", "token.revoked", "client_secret.rotated"])
def test_event_names_are_object_dot_verb(app, name):
    with app.app_context():
        assert audit.record(name).event == name
        db.session.rollback()


@pytest.mark.parametrize("name", ["login", "Login.Succeeded", "login.failed.twice",
                                  "login-failed", "login.", ".failed", "login.failed ",
                                  "login.failed\n", "登录.成功"])
def test_badly_named_events_are_refused(app, name):
    with app.app_context(), pytest.raises(audit.AuditError, match=r"<object>\.<verb>"):
        audit.record(name)


@pytest.mark.parametrize("key", ["password", "new_password", "token", "access_token",
                                 "refresh_token", "id_token", "code", "auth_code", "client_secret",
                                 "otp", "session_cookie", "code_verifier", "assertion",
                                 "Password"])
def test_secret_shaped_detail_is_refused(app, key):
    with app.app_context(), pytest.raises(audit.AuditError, match="could hold a secret"):
        audit.record("login.failed", **{key: "x"})


@pytest.mark.parametrize("key", ["token_type", "grant_type", "code_id", "family_id", "jti",
                                 "token_kind", "reason", "method"])
def test_naming_detail_is_allowed(app, key):
    with app.app_context():
        assert audit.record("token.issued", **{key: "x"}).detail == {key: "x"}
        db.session.rollback()


def test_recorded_events_carry_the_request_ip(app):
    with app.test_request_context("/", environ_base={"REMOTE_ADDR": "203.0.113.9"}):
        assert audit.record("login.failed").ip == "203.0.113.9"
        db.session.rollback()


def test_nothing_replayable_is_audited_or_logged(app, client, make_person, make_client, caplog):
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.DEBUG, logger="sqlalchemy.engine")
    caplog.set_level(logging.DEBUG, logger="authlib")
    rp = make_client()
    person = make_person()
    secrets = {"password": PASSWORD, "client secret": rp.plain_secret}

    failed = login(client, person.username, PASSWORD + "-wrong")
    assert failed.status_code == 400
    secrets["wrong password"] = PASSWORD + "-wrong"
    assert login(client, person.username).status_code == 303
    secrets["session cookie"] = client.get_cookie("tongban_session").value

    flow = Flow(client, rp)
    code = flow.code()
    secrets["code"] = code
    secrets["code verifier"] = flow.verifier
    tokens = flow.token(code).get_json()
    secrets.update({"access token": tokens["access_token"],
                    "refresh token": tokens["refresh_token"], "id token": tokens["id_token"]})
    refreshed = token_call(client, rp, {"grant_type": "refresh_token",
                                        "refresh_token": tokens["refresh_token"]})
    assert refreshed.status_code == 200, refreshed.get_json()
    refreshed = refreshed.get_json()
    secrets.update({"refreshed access token": refreshed["access_token"],
                    "refreshed refresh token": refreshed["refresh_token"]})
    revoked = token_call(client, rp, {"token": refreshed["refresh_token"]}, path="/revoke")
    assert revoked.status_code == 200
    assert flow.token(code).get_json()["error"] == "invalid_grant"     # a replayed code
    out = client.get("/logout", query_string={"id_token_hint": tokens["id_token"]})
    assert out.status_code == 200

    with app.app_context():
        rows = db.session.execute(select(AuditEvent.__table__)).all()
        events = [row.event for row in rows]
    assert {"login.failed", "login.succeeded", "session.started", "token.issued",
            "token.revoked", "session.ended"} <= set(events)
    assert all(audit.EVENT_NAME.match(e) for e in events)
    dumped = "\n".join(json.dumps([str(v) for v in row]) for row in rows)
    logged = caplog.text  # formatted when emitted, as a log handler would write it
    assert logged  # the journey did produce log lines to look through
    for what, value in secrets.items():
        assert value not in dumped, f"{what} in the audit table"
        assert value not in logged, f"{what} in the logs"
