"""Security officer: sessions (search, end one / a person's / a client's), accounts (lock,
unlock, require a new password, masked view), and the overview (charts and alerts)."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from idp.extensions import db
from idp.models import AuditEvent, LogoutDelivery, Person, SsoSession

from ..conftest import PASSWORD
from ..helpers import Flow, csrf_token, login
from ..sessions_helpers import officer, open_session

SEC = "security_officer"


def post(client, path, **data):
    token = csrf_token(client.get("/login").get_data(as_text=True))
    return client.post(path, data={"csrf_token": token, **data})


def live(app, person_id) -> list[SsoSession]:
    with app.app_context():
        rows = db.session.scalars(select(SsoSession).where(
            SsoSession.person_id == person_id, SsoSession.ended_at.is_(None))).all()
        db.session.expunge_all()
        return rows


def test_search_sessions_by_each_filter(app, client, make_person, make_client):
    alice = make_person(phone="13900001111")
    bob = make_person()
    rp = make_client()
    sid_a, _ = open_session(app, alice, ip="198.51.100.1", channel="web")
    sid_b, cookie_b = open_session(app, bob, ip="198.51.100.2", channel="qr")
    # bob's session joins the client
    other = app.test_client()
    other.set_cookie("tongban_session", cookie_b)
    Flow(other, rp).tokens()
    officer(app, client, make_person, SEC)

    def sids(**query):
        body = client.get("/admin/api/sessions", query_string=query).get_json()
        return {s["sid"] for s in body["sessions"]}

    assert sids(person="13900001111") == {sid_a}
    assert sids(person=alice.username) == {sid_a}
    assert sids(person="nobody-here") == set()
    assert sids(client=rp.client_id) == {sid_b}
    assert sids(ip="198.51.100.2") == {sid_b}
    assert sids(channel="qr") == {sid_b}
    assert {sid_a, sid_b} <= sids(since="2000-01-01")
    assert sids(until="2000-01-01") == set()
    page = client.get("/admin/sessions", query_string={"client": rp.client_id})
    assert f'id="session-{sid_b}"' in page.get_data(as_text=True)


def test_end_one_all_of_a_person_and_all_of_a_client(app, client, make_person, make_client):
    alice, bob = make_person(), make_person()
    rp = make_client(backchannel_logout_uri="http://127.0.0.1:9/bcl")
    one, _ = open_session(app, alice)
    open_session(app, alice)
    _sid, cookie = open_session(app, bob)
    joined = app.test_client()
    joined.set_cookie("tongban_session", cookie)
    Flow(joined, rp).tokens()
    me = officer(app, client, make_person, SEC)

    assert post(client, f"/admin/sessions/{one}/end").status_code == 303
    assert len(live(app, alice.id)) == 1
    assert post(client, f"/admin/persons/{alice.id}/sessions/end").status_code == 303
    assert live(app, alice.id) == []
    assert post(client, f"/admin/clients/{rp.client_id}/sessions/end").status_code == 303
    assert live(app, bob.id) == []
    with app.app_context():
        ended = db.session.scalars(select(AuditEvent).where(
            AuditEvent.event == "session.ended")).all()
        assert {e.actor_id for e in ended} == {me.id}
        assert {e.detail["reason"] for e in ended} == {"ended_by_officer"}
        # bob's client hears about it through the outbox
        (delivery,) = db.session.scalars(select(LogoutDelivery)).all()
        assert (delivery.reason, delivery.person_id) == ("ended_by_officer", bob.id)


def test_lock_ends_sessions_and_stops_login_unlock_restores(app, client, make_person):
    alice = make_person()
    open_session(app, alice)
    officer(app, client, make_person, SEC)
    assert post(client, f"/admin/accounts/{alice.id}/lock", note="stolen phone").status_code == 303
    assert live(app, alice.id) == []
    citizen = app.test_client()
    assert login(citizen, alice.username).status_code == 400
    with app.app_context():
        failed = db.session.scalars(select(AuditEvent).where(
            AuditEvent.event == "login.failed")).all()[-1]
        assert failed.detail["reason"] == "account_disabled"
    assert post(client, f"/admin/accounts/{alice.id}/unlock").status_code == 303
    assert login(citizen, alice.username).status_code == 303


def test_required_password_reset_is_enforced_at_next_login(app, client, make_person):
    alice = make_person()
    open_session(app, alice)
    officer(app, client, make_person, SEC)
    assert post(client, f"/admin/accounts/{alice.id}/require-password-reset").status_code == 303
    assert live(app, alice.id) == []

    citizen = app.test_client()
    response = login(citizen, alice.username)
    assert response.status_code == 303 and response.headers["Location"] == "/password/renew"
    # No session yet: the account page still asks to log in.
    assert citizen.get("/").status_code == 302
    assert live(app, alice.id) == []
    page = citizen.get("/password/renew")
    token = csrf_token(page.get_data(as_text=True))
    same = citizen.post("/password/renew", data={"csrf_token": token, "password": PASSWORD,
                                                 "confirm": PASSWORD})
    assert same.status_code == 400 and 'id="password-error"' in same.get_data(as_text=True)
    new = "a brand new sentence 2026"
    done = citizen.post("/password/renew", data={"csrf_token": token, "password": new,
                                                 "confirm": new})
    assert done.status_code == 303
    assert citizen.get("/").status_code == 200
    with app.app_context():
        assert db.session.get(Person, alice.id).password_reset_required is False
    assert login(app.test_client(), alice.username, password=new).status_code == 303
    assert login(app.test_client(), alice.username).status_code == 400


def test_renewal_page_needs_a_fresh_password_login(client):
    assert client.get("/password/renew").status_code == 302


def test_officer_cannot_act_on_own_account(app, client, make_person):
    me = officer(app, client, make_person, SEC)
    assert post(client, f"/admin/accounts/{me.id}/lock").status_code == 403
    with app.app_context():
        assert db.session.get(Person, me.id).status == "active"


def test_account_view_is_masked_and_audited(app, client, make_person):
    alice = make_person(phone="13912345678", display_name="王小明")
    me = officer(app, client, make_person, SEC)
    found = client.get("/admin/accounts", query_string={"q": "13912345678"})
    assert found.headers["Location"].endswith(f"/admin/accounts/{alice.id}")
    html = client.get(found.headers["Location"]).get_data(as_text=True)
    assert "139****5678" in html and "13912345678" not in html
    assert "王**" in html and "王小明" not in html
    assert alice.email not in html
    with app.app_context():
        viewed = db.session.scalar(select(AuditEvent).where(
            AuditEvent.event == "account.viewed"))
        assert (viewed.person_id, viewed.actor_id) == (alice.id, me.id)


# These count failures and successes exactly; the login throttle (tests/authn/test_throttle.py)
# would turn some of them into waits.
NO_THROTTLE = pytest.mark.parametrize(
    "settings_overrides", [{"throttle_free_failures": 1000, "throttle_hard_lock": 2000}],
    indirect=True)


@NO_THROTTLE
def test_overview_charts_and_alerts(app, client, make_person):
    alice = make_person()
    settings = app.extensions["tongban.settings"]
    other = app.test_client()
    for _ in range(settings.alert_account_failures):
        login(other, alice.username, password="wrong password!")
    login(other, alice.username)
    officer(app, client, make_person, SEC)
    html = client.get("/admin/overview").get_data(as_text=True)
    assert html.count("<svg") == 3 and "<script" not in html
    assert f"against account {alice.username}" in html or alice.username in html
    body = client.get("/admin/api/overview").get_json()
    assert sum(v for _, v in body["series"]["failures"]) == settings.alert_account_failures
    assert sum(v for _, v in body["series"]["logins"]) >= 1
    assert body["channels"]["web"]["failures"] == settings.alert_account_failures
    assert body["channels"]["web"]["logins"] >= 1
    assert {"kind": "account", "subject": alice.username,
            "failures": settings.alert_account_failures} in body["alerts"]
    # Below the per-source threshold: no alert for the address.
    assert all(a["kind"] != "source" for a in body["alerts"])


@NO_THROTTLE
def test_alert_for_a_burst_from_one_source(app, client, make_person):
    settings = app.extensions["tongban.settings"]
    other = app.test_client()
    for i in range(settings.alert_source_failures):
        login(other, f"nobody{i}", password="wrong password!")
    officer(app, client, make_person, SEC)
    alerts = client.get("/admin/api/overview").get_json()["alerts"]
    assert {"kind": "source", "subject": "127.0.0.1",
            "failures": settings.alert_source_failures} in alerts


def test_throttled_attempts_count_as_failures(app, client, make_person):
    """With the throttle on, attempts refused because of it still show in the failure series
    and the alerts: a burst is a burst whether or not the password was checked."""
    alice = make_person()
    settings = app.extensions["tongban.settings"]
    other = app.test_client()
    for _ in range(settings.alert_account_failures + 2):
        login(other, alice.username, password="wrong password!")
    officer(app, client, make_person, SEC)
    body = client.get("/admin/api/overview").get_json()
    assert sum(v for _, v in body["series"]["failures"]) == settings.alert_account_failures + 2
    assert any(a["kind"] == "account" and a["subject"] == alice.username for a in body["alerts"])
