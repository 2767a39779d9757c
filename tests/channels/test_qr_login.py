"""QR-code login on a PC: waiting → scanned → confirmed, bound to the PC browser, single use,
≤ 120 s, polling rate-limited, confirmed only by the app session that scanned, every step
audited; the PC session's acr is the app's and its amr adds "mca"."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from idp.extensions import db
from idp.models import AuditEvent, SsoSession

from ..helpers import Flow, bearer, login

APP_REDIRECT = "http://127.0.0.1/callback"


@pytest.fixture
def govapp(make_client):
    return make_client("native", redirect_uris=(APP_REDIRECT,), first_party=True,
                       name="政务服务 App")


def app_token(app, make_person_or_person, govapp, *, person=None):
    """Sign `person` in to the government app (its own browser session); its access token."""
    http = app.test_client()
    assert login(http, person.username).status_code == 303
    return Flow(http, govapp, scope="openid profile").tokens()["access_token"]


class Pc:
    """The PC browser showing the QR page."""

    def __init__(self, app, next_path="/"):
        self.http = app.test_client()
        page = self.http.get("/login/qr", query_string={"next": next_path})
        assert page.status_code == 200
        html = page.get_data(as_text=True)
        self.html = html
        self.payload = re.search(r'data-payload="([^"]+)"', html).group(1)
        self.state_url = re.search(r'data-state-url="([^"]+)"', html).group(1)

    def poll(self):
        return self.http.get(self.state_url)


def scan(client, token, payload):
    return client.post("/qr/scan", data={"payload": payload}, headers=bearer(token))


def decide(client, token, payload, decision="confirm"):
    return client.post("/qr/confirm", data={"payload": payload, "decision": decision},
                       headers=bearer(token))


def _events(app) -> list[str]:
    with app.app_context():
        return [e.event for e in db.session.scalars(
            select(AuditEvent).where(AuditEvent.event.like("qr_login.%")).order_by(AuditEvent.id))]


def test_scan_confirm_and_the_pc_gets_a_session(app, client, make_person, govapp, frozen_clock):
    person = make_person()
    token = app_token(app, None, govapp, person=person)
    pc = Pc(app)
    assert pc.poll().get_json() == {"state": "waiting"}
    assert 'src="/static/qr_login.js"' in pc.html
    assert "<svg" in pc.html

    scanned = scan(client, token, pc.payload)
    assert scanned.status_code == 200, scanned.get_json()
    details = scanned.get_json()
    assert details["place"] == {"network": "this_computer", "address": "127.0.0.*"}
    assert details["browser"] == "unknown browser"  # the test client sends no real UA
    assert details["expires_in"] == 120
    frozen_clock.advance(1)
    assert pc.poll().get_json() == {"state": "scanned"}

    assert decide(client, token, pc.payload).get_json() == {"state": "confirmed"}
    frozen_clock.advance(1)
    confirmed = pc.poll().get_json()
    assert confirmed["state"] == "confirmed"
    done = pc.http.get(confirmed["complete_url"])

    assert done.status_code == 303
    assert done.headers["Location"] == "/"
    home = pc.http.get("/")
    assert home.status_code == 200
    with app.app_context():
        sessions = db.session.scalars(select(SsoSession).where(
            SsoSession.person_id == person.id).order_by(SsoSession.id)).all()
    app_session, pc_session = sessions
    assert pc_session.channel == "qr"
    assert pc_session.acr == app_session.acr == "urn:tongban:aal1"
    assert pc_session.amr == ["mca", "pwd"]
    assert pc_session.sid != app_session.sid
    assert _events(app) == ["qr_login.created", "qr_login.scanned", "qr_login.confirmed",
                            "qr_login.completed"]


def test_completion_is_single_use(app, client, make_person, govapp, frozen_clock):
    token = app_token(app, None, govapp, person=make_person())
    pc = Pc(app)
    scan(client, token, pc.payload)
    decide(client, token, pc.payload)
    complete_url = pc.poll().get_json()["complete_url"]
    assert pc.http.get(complete_url).status_code == 303

    again = pc.http.get(complete_url)

    assert again.status_code == 400
    frozen_clock.advance(1)
    assert pc.poll().get_json() == {"state": "completed"}


def test_only_the_browser_that_showed_the_code_can_follow_or_complete_it(
        app, client, make_person, govapp):
    token = app_token(app, None, govapp, person=make_person())
    pc = Pc(app)
    scan(client, token, pc.payload)
    decide(client, token, pc.payload)
    thief = app.test_client()

    assert thief.get(pc.state_url).status_code == 404
    complete = pc.state_url.replace("/state", "/complete")
    assert thief.get(complete).status_code == 400
    with app.app_context():
        assert db.session.scalar(select(SsoSession).where(SsoSession.channel == "qr")) is None


def test_confirm_from_a_different_app_session_is_refused(app, client, make_person, govapp):
    person = make_person()
    scanner = app_token(app, None, govapp, person=person)
    other_session = app_token(app, None, govapp, person=person)  # same person, other phone
    pc = Pc(app)
    scan(client, scanner, pc.payload)

    refused = decide(client, other_session, pc.payload)

    assert refused.status_code == 403
    assert refused.get_json() == {"error": "session_mismatch"}
    assert pc.poll().get_json() == {"state": "scanned"}


def test_confirm_after_expiry_is_refused_also_from_another_session(
        app, client, make_person, govapp, frozen_clock):
    person = make_person()
    scanner = app_token(app, None, govapp, person=person)
    other_session = app_token(app, None, govapp, person=person)
    pc = Pc(app)
    scan(client, scanner, pc.payload)
    frozen_clock.advance(121)

    for token in (scanner, other_session):
        refused = decide(client, token, pc.payload)
        assert refused.status_code == 400
        assert refused.get_json() == {"error": "expired"}
    assert pc.poll().get_json() == {"state": "expired"}
    assert _events(app).count("qr_login.refused") == 2


def test_scan_after_expiry_is_refused(app, client, make_person, govapp, frozen_clock):
    token = app_token(app, None, govapp, person=make_person())
    pc = Pc(app)
    frozen_clock.advance(120)
    assert scan(client, token, pc.payload).get_json() == {"error": "expired"}


def test_a_code_is_scanned_once(app, client, make_person, govapp):
    first = app_token(app, None, govapp, person=make_person())
    second = app_token(app, None, govapp, person=make_person())
    pc = Pc(app)
    assert scan(client, first, pc.payload).status_code == 200

    again = scan(client, second, pc.payload)

    assert again.status_code == 400
    assert again.get_json() == {"error": "not_pending"}


def test_decline_cancels_the_request(app, client, make_person, govapp, frozen_clock):
    token = app_token(app, None, govapp, person=make_person())
    pc = Pc(app)
    scan(client, token, pc.payload)

    assert decide(client, token, pc.payload, "decline").get_json() == {"state": "declined"}

    frozen_clock.advance(1)
    assert pc.poll().get_json() == {"state": "declined"}
    assert pc.http.get(pc.state_url.replace("/state", "/complete")).status_code == 400
    assert decide(client, token, pc.payload).get_json() == {"error": "not_pending"}
    assert "qr_login.declined" in _events(app)


def test_polling_faster_than_allowed_is_refused(app, frozen_clock):
    pc = Pc(app)
    assert pc.poll().status_code == 200

    too_fast = pc.poll()

    assert too_fast.status_code == 429
    assert too_fast.headers["Retry-After"] == "1"
    assert too_fast.get_json() == {"error": "too_fast"}
    frozen_clock.advance(1)
    assert pc.poll().status_code == 200


def test_a_third_party_native_app_cannot_confirm_qr_logins(app, client, make_person,
                                                          make_client):
    other_app = make_client("native", redirect_uris=(APP_REDIRECT,), first_party=False)
    person = make_person()
    http = app.test_client()
    login(http, person.username)
    token = Flow(http, other_app).tokens()["access_token"]
    pc = Pc(app)

    refused = scan(client, token, pc.payload)

    assert refused.status_code == 403
    assert refused.get_json() == {"error": "app_not_allowed"}


def test_an_app_whose_session_ended_cannot_scan(app, client, make_person, govapp):
    person = make_person()
    http = app.test_client()
    login(http, person.username)
    token = Flow(http, govapp).tokens()["access_token"]
    with app.app_context():
        session = db.session.scalar(select(SsoSession).where(SsoSession.person_id == person.id))
        from idp.authn import sessions
        from idp.clock import utcnow

        sessions.end(session, utcnow(), "logout")
        db.session.commit()
    pc = Pc(app)

    refused = scan(client, token, pc.payload)

    assert refused.status_code == 401
    assert refused.get_json()["error"] in ("invalid_token", "session_ended")


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer not-a-token"}])
def test_scanning_needs_a_valid_app_token(app, client, headers):
    pc = Pc(app)
    refused = client.post("/qr/scan", data={"payload": pc.payload}, headers=headers)
    assert refused.status_code == 401
    assert refused.get_json() == {"error": "invalid_token"}


def test_unknown_payload(app, client, make_person, govapp):
    token = app_token(app, None, govapp, person=make_person())
    refused = scan(client, token, "http://127.0.0.1:5000/qr/made-up")
    assert refused.status_code == 404
    assert refused.get_json() == {"error": "not_found"}


def test_the_login_page_offers_scanning(client):
    page = client.get("/login", query_string={"next": "/authorize/continue/x"})
    assert 'href="/login/qr?next=/authorize/continue/x"' in page.get_data(as_text=True)


def test_qr_page_names_the_portal_that_asked(app, make_client):
    portal = make_client("web", name="社保服务门户", first_party=True)
    pc = app.test_client()
    asked = Flow(pc, portal).authorize()
    login_page = asked.headers["Location"]
    next_path = login_page.split("next=", 1)[1]
    from urllib.parse import unquote

    page = pc.get("/login/qr", query_string={"next": unquote(next_path)})

    assert "社保服务门户" in page.get_data(as_text=True)
