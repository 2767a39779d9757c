"""The citizen's account centre: sessions (device, place, portals; end one, end all others),
apps that hold their data (withdraw), and sign-in history."""

from __future__ import annotations

from sqlalchemy import select

from idp.extensions import db
from idp.models import AccessToken, Consent, LogoutDelivery, RefreshToken, SsoSession

from ..helpers import Flow, csrf_token, login, token_call
from ..sessions_helpers import open_session, use_session

IPHONE = ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 "
          "(KHTML, like Gecko) Mobile/15E148 MicroMessenger/8.0.49")


def post(client, path):
    token = csrf_token(client.get("/account/sessions").get_data(as_text=True))
    return client.post(path, data={"csrf_token": token})


def test_sessions_page_describes_each_session(app, client, make_person, make_client):
    alice = make_person()
    rp = make_client(name="社保查询")
    here_sid, cookie = open_session(app, alice, ip="127.0.0.1")
    use_session(client, app, cookie)
    Flow(client, rp).tokens()
    phone_sid, _ = open_session(app, alice, ip="198.51.100.20", user_agent=IPHONE)
    html = client.get("/account/sessions").get_data(as_text=True)
    assert f'id="session-{here_sid}"' in html and f'id="session-{phone_sid}"' in html
    assert "Chrome · Windows" in html
    assert "WeChat · iPhone" in html
    assert "198.51.100.20" in html
    assert "社保查询" in html


def test_end_another_session_and_all_others(app, client, make_person, make_client):
    alice = make_person()
    rp = make_client(backchannel_logout_uri="http://127.0.0.1:9/bcl")
    here, cookie = open_session(app, alice)
    use_session(client, app, cookie)
    other1, cookie1 = open_session(app, alice)
    open_session(app, alice)
    phone = app.test_client()
    use_session(phone, app, cookie1)
    Flow(phone, rp).tokens()

    assert post(client, f"/account/sessions/{other1}/end").status_code == 303
    with app.app_context():
        (delivery,) = db.session.scalars(select(LogoutDelivery)).all()
        assert (delivery.sid, delivery.reason) == (other1, "ended_by_person")
    assert post(client, "/account/sessions/end-others").status_code == 303
    with app.app_context():
        open_sids = db.session.scalars(select(SsoSession.sid).where(
            SsoSession.ended_at.is_(None))).all()
    assert open_sids == [here]
    assert client.get("/account/sessions").status_code == 200


def test_end_this_session_signs_out(app, client, make_person):
    alice = make_person()
    here, cookie = open_session(app, alice)
    use_session(client, app, cookie)
    response = post(client, f"/account/sessions/{here}/end")
    assert response.status_code == 303 and response.headers["Location"].startswith("/login")
    assert client.get("/").status_code == 302


def test_cannot_end_someone_elses_session(app, client, make_person):
    alice, bob = make_person(), make_person()
    bobs, _ = open_session(app, bob)
    use_session(client, app, open_session(app, alice)[1])
    assert post(client, f"/account/sessions/{bobs}/end").status_code == 404
    with app.app_context():
        assert db.session.scalar(select(SsoSession).where(SsoSession.sid == bobs)).ended_at is None


def test_apps_and_withdraw(app, client, make_person, make_client):
    alice = make_person()
    rp = make_client(name="第三方应用", backchannel_logout_uri="http://127.0.0.1:9/bcl",
                     scope="openid profile email offline_access")
    kept = make_client(name="另一个门户")
    use_session(client, app, open_session(app, alice)[1])
    tokens = Flow(client, rp, scope="openid email offline_access").tokens()
    Flow(client, kept).tokens()
    html = client.get("/account/apps").get_data(as_text=True)
    assert "第三方应用" in html and "另一个门户" in html
    assert "your email address" in html or "电子邮箱" in html
    assert post(client, f"/account/apps/{rp.client_id}/withdraw").status_code == 303
    with app.app_context():
        consent = db.session.scalar(select(Consent).where(Consent.client_id == rp.id))
        assert consent.revoked_at is not None
        assert all(t.revoked_at for t in db.session.scalars(select(RefreshToken).where(
            RefreshToken.client_id == rp.id)))
        assert all(t.revoked_at for t in db.session.scalars(select(AccessToken).where(
            AccessToken.client_id == rp.id)))
        assert not any(t.revoked_at for t in db.session.scalars(select(AccessToken).where(
            AccessToken.client_id == kept.id)))
        (delivery,) = db.session.scalars(select(LogoutDelivery)).all()
        assert delivery.reason == "consent_withdrawn"
    # Even the offline refresh token is dead.
    refreshed = token_call(client, rp, {"grant_type": "refresh_token",
                                        "refresh_token": tokens["refresh_token"]})
    assert refreshed.get_json()["error"] == "invalid_grant"
    html = client.get("/account/apps").get_data(as_text=True)
    assert "第三方应用" not in html and "另一个门户" in html
    # Next time the client asks, the person is asked again.
    again = Flow(client, rp).authorize()
    assert again.headers["Location"].startswith("/consent/")


def test_history_shows_logins_and_failures(app, client, make_person):
    alice = make_person()
    login(app.test_client(), alice.username, password="wrong password!")
    assert login(client, alice.username).status_code == 303
    html = client.get("/account/history").get_data(as_text=True)
    assert html.count('class="item warn"') == 1
    assert "127.0.0.1" in html


def test_history_is_only_mine(app, client, make_person):
    alice, bob = make_person(), make_person()
    login(app.test_client(), bob.username, password="wrong password!")
    login(client, alice.username)
    assert 'class="item warn"' not in client.get("/account/history").get_data(as_text=True)


def test_account_pages_need_a_session(client):
    for path in ("/account/sessions", "/account/apps", "/account/history"):
        assert client.get(path).status_code == 302


def test_sections_are_an_extension_point(app, client, make_person):
    from flask_babel import lazy_gettext

    from idp.account.sections import Section, register

    register(app, Section("extra", lazy_gettext("Extra"), "account.history_page", 99))
    use_session(client, app, open_session(app, make_person())[1])
    html = client.get("/", query_string={"lang": "en"}).get_data(as_text=True)
    assert html.index("Extra") > html.index("Sign-in history")
