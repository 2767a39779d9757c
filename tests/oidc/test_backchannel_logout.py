"""OIDC Back-Channel Logout 1.0: discovery, logout tokens, the outbox and its worker
(oidcc-backchannel-logout-discovery-endpoint-verification, oidcc-backchannel-rp-initiated-logout).
"""

from __future__ import annotations

import pytest
from joserfc import jwt
from joserfc.jwk import KeySet
from sqlalchemy import select

from idp.clock import utcnow
from idp.extensions import db
from idp.models import AuditEvent, LogoutDelivery, SsoSession

from ..conftest import ISSUER
from ..helpers import Flow, csrf_token, signed_in
from ..sessions_helpers import officer
from .receiver import Receiver, free_port

EVENT = "http://schemas.openid.net/event/backchannel-logout"


def run_worker(app, **options):
    result = app.test_cli_runner().invoke(args=["logout-worker", "--once",
                                                *options.get("args", [])])
    assert result.exit_code == 0, result.output
    return result.output


def deliveries(app) -> list[LogoutDelivery]:
    with app.app_context():
        rows = db.session.scalars(select(LogoutDelivery).order_by(LogoutDelivery.id)).all()
        for row in rows:
            db.session.expunge(row)
        return rows


def decode(client, token: str, alg: str):
    keys = KeySet.import_key_set(client.get("/jwks").get_json())
    return jwt.decode(token, keys, algorithms=[alg])


def joined_session(client, make_person, make_client, receiver_url, **client_fields):
    rp = make_client(redirect_uris=("https://rp.example/cb",),
                     backchannel_logout_uri=receiver_url, **client_fields)
    person = signed_in(client, make_person)
    tokens = Flow(client, rp).tokens()
    return rp, person, tokens


def logout(client):
    page = client.get("/")
    return client.post("/logout/confirm",
                       data={"csrf_token": csrf_token(page.get_data(as_text=True))})


def test_discovery_advertises_backchannel_logout(client):
    meta = client.get("/.well-known/openid-configuration").get_json()
    assert meta["backchannel_logout_supported"] is True
    assert meta["backchannel_logout_session_supported"] is True


@pytest.mark.parametrize("alg", ["RS256", "ES256", "PS256"])
def test_logout_token_on_rp_initiated_logout(app, client, make_person, make_client, alg):
    receiver = Receiver().start()
    try:
        rp, person, tokens = joined_session(client, make_person, make_client, receiver.url,
                                            id_token_alg=alg)
        id_claims = decode(client, tokens["id_token"], alg).claims
        assert logout(client).status_code == 200
        queued = deliveries(app)
        assert [(d.state, d.reason, d.sid) for d in queued] == [
            ("pending", "logout", id_claims["sid"])]
        run_worker(app)
    finally:
        receiver.stop()
    assert len(receiver.received) == 1
    posted = receiver.received[0]
    assert posted["_content_type"] == "application/x-www-form-urlencoded"
    token = decode(client, posted["logout_token"], alg)
    assert token.header["typ"] == "logout+jwt"
    assert token.header["alg"] == alg and token.header["kid"]
    claims = token.claims
    assert claims["iss"] == ISSUER
    assert claims["aud"] == rp.client_id
    assert claims["events"] == {EVENT: {}}
    assert claims["sid"] == id_claims["sid"]
    assert claims["sub"] == id_claims["sub"] == person.sub
    assert "nonce" not in claims
    assert claims["jti"] and claims["exp"] > claims["iat"]
    assert [d.state for d in deliveries(app)] == ["delivered"]
    # prompt=none after the logout must fail: the session really ended.
    silent = Flow(client, rp).authorize(prompt="none")
    assert "error=login_required" in silent.headers["Location"]


def test_pairwise_client_gets_its_own_sub(app, client, make_person, make_client):
    receiver = Receiver().start()
    try:
        _rp, person, tokens = joined_session(client, make_person, make_client, receiver.url,
                                             subject_type="pairwise")
        logout(client)
        run_worker(app)
    finally:
        receiver.stop()
    claims = decode(client, receiver.received[0]["logout_token"], "RS256").claims
    id_claims = decode(client, tokens["id_token"], "RS256").claims
    assert claims["sub"] == id_claims["sub"] != person.sub


def test_clients_without_backchannel_uri_get_nothing(app, client, make_person, make_client):
    rp = make_client()
    signed_in(client, make_person)
    Flow(client, rp).tokens()
    logout(client)
    assert deliveries(app) == []


def test_outbox_delivers_after_the_portal_comes_back(app, client, make_person, make_client,
                                                      frozen_clock):
    port = free_port()
    url = f"http://127.0.0.1:{port}/backchannel-logout"
    rp, _person, _tokens = joined_session(client, make_person, make_client, url)
    logout(client)
    run_worker(app)  # nobody listens: connection refused
    (row,) = deliveries(app)
    assert (row.state, row.attempts, row.last_error) == ("pending", 1, "connection failed")
    settings = app.extensions["tongban.settings"]
    assert (row.next_attempt_at - frozen_clock.now()).total_seconds() == \
        settings.logout_retry_base
    run_worker(app)  # not due yet: no attempt
    assert deliveries(app)[0].attempts == 1

    frozen_clock.advance(settings.logout_retry_base)
    run_worker(app)  # still down: second attempt, the wait doubles
    (row,) = deliveries(app)
    assert row.attempts == 2
    assert (row.next_attempt_at - frozen_clock.now()).total_seconds() == \
        2 * settings.logout_retry_base

    receiver = Receiver(port=port).start()
    try:
        frozen_clock.advance(2 * settings.logout_retry_base)
        run_worker(app)
    finally:
        receiver.stop()
    (row,) = deliveries(app)
    assert (row.state, row.attempts) == ("delivered", 3)
    token = decode(client, receiver.received[0]["logout_token"], "RS256")
    # Minted at delivery: fresh when it finally arrives.
    assert token.claims["iat"] == app.extensions["tongban.clock"].timestamp()
    assert token.claims["aud"] == rp.client_id


def test_permanent_failure_is_visible_to_officers(app, client, make_person, make_client):
    receiver = Receiver(status=400).start()
    try:
        rp, _person, _ = joined_session(client, make_person, make_client, receiver.url)
        logout(client)
        run_worker(app)
    finally:
        receiver.stop()
    (row,) = deliveries(app)
    assert (row.state, row.attempts, row.last_status) == ("failed", 1, 400)
    with app.app_context():
        failed = db.session.scalar(select(AuditEvent).where(AuditEvent.event == "logout.failed"))
        assert failed.client_id == rp.client_id and failed.detail["status"] == 400

    officer(app, client, make_person, "security_officer")
    page = client.get("/admin/deliveries", query_string={"state": "failed"})
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert f'id="delivery-{row.id}" data-state="failed"' in html
    assert rp.client_id in html and "HTTP 400" in html
    api = client.get("/admin/api/deliveries", query_string={"state": "failed"}).get_json()
    assert api["counts"] == {"failed": 1}
    assert api["deliveries"][0]["last_error"] == "HTTP 400"

    # An officer can send it again once the client is fixed.
    retry = client.post(f"/admin/deliveries/{row.id}/retry",
                        data={"csrf_token": csrf_token(html)})
    assert retry.status_code == 303
    assert deliveries(app)[0].state == "pending"


def test_gives_up_after_max_attempts(app, client, make_person, make_client, frozen_clock):
    settings = app.extensions["tongban.settings"]
    url = f"http://127.0.0.1:{free_port()}/backchannel-logout"
    joined_session(client, make_person, make_client, url)
    logout(client)
    for _ in range(settings.logout_max_attempts):
        run_worker(app)
        frozen_clock.advance(settings.logout_retry_max)
    (row,) = deliveries(app)
    assert (row.state, row.attempts) == ("failed", settings.logout_max_attempts)


def test_one_claim_per_delivery(app, client, make_person, make_client):
    from idp.oidc.logout_worker import claim_due

    joined_session(client, make_person, make_client, "http://127.0.0.1:9/bcl")
    logout(client)
    with app.app_context():
        settings = app.extensions["tongban.settings"]
        first = claim_due(utcnow(), settings, 10)
        second = claim_due(utcnow(), settings, 10)
    assert len(first) == 1 and second == []


def test_session_expiry_sweep_sends_logout(app, client, make_person, make_client,
                                           frozen_clock):
    receiver = Receiver().start()
    try:
        joined_session(client, make_person, make_client, receiver.url)
        settings = app.extensions["tongban.settings"]
        frozen_clock.advance(settings.session_idle_ttl + 1)
        result = app.test_cli_runner().invoke(args=["sessions", "expire"])
        assert result.exit_code == 0 and "ended 1 expired session" in result.output
        assert [d.reason for d in deliveries(app)] == ["expired"]
        run_worker(app)
    finally:
        receiver.stop()
    assert len(receiver.received) == 1
    with app.app_context():
        session = db.session.scalar(select(SsoSession))
        assert session.end_reason == "expired"


def test_worker_sweeps_expired_sessions_itself(app, client, make_person, make_client,
                                               frozen_clock):
    receiver = Receiver().start()
    try:
        joined_session(client, make_person, make_client, receiver.url)
        frozen_clock.advance(app.extensions["tongban.settings"].session_absolute_ttl + 1)
        run_worker(app)
    finally:
        receiver.stop()
    assert len(receiver.received) == 1
    assert [d.state for d in deliveries(app)] == ["delivered"]


def test_account_disable_sends_logout(app, client, make_person, make_client):
    receiver = Receiver().start()
    try:
        _rp, person, _ = joined_session(client, make_person, make_client, receiver.url)
        result = app.test_cli_runner().invoke(args=["users", "disable", person.username])
        assert result.exit_code == 0, result.output
        run_worker(app)
    finally:
        receiver.stop()
    assert [d.reason for d in deliveries(app)] == ["account_disabled"]
    assert len(receiver.received) == 1


def test_refresh_tokens_of_the_session_end_with_it(app, client, make_person, make_client):
    from ..helpers import token_call

    rp, _person, tokens = joined_session(client, make_person, make_client,
                                         "http://127.0.0.1:9/bcl")
    logout(client)
    refreshed = token_call(client, rp, {"grant_type": "refresh_token",
                                        "refresh_token": tokens["refresh_token"]})
    assert refreshed.status_code == 400
    assert refreshed.get_json()["error"] == "invalid_grant"
