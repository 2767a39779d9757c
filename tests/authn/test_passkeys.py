"""Passkey ceremonies with a software authenticator: RP ID and origin from the issuer setting
(never the Host header), single-use server-side challenges bound to one browser, user handle,
user verification, sign counter, the lockout policy, passkey as second factor, management."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from idp.extensions import db
from idp.models import SsoSession, WebAuthnCredential

from ..conftest import PASSWORD
from ..factors import audit_events, grant_role
from ..helpers import csrf_token, login
from ..soft_authenticator import SoftAuthenticator

ISSUER = "http://localhost:5000"


@pytest.fixture
def settings_overrides(request):
    return {"issuer": ISSUER, **getattr(request, "param", {})}


def token_of(http, path="/login") -> str:
    return csrf_token(http.get(path).get_data(as_text=True))


def post_json(http, path, body, **kwargs):
    return http.post(path, json=body, headers={"X-CSRFToken": token_of(http)}, **kwargs)


def register(http, authenticator, name="My phone", origin=ISSUER):
    options = post_json(http, "/account/security/passkeys/options", {})
    assert options.status_code == 200, options.get_json()
    credential = authenticator.create(options.get_json(), origin)
    return post_json(http, "/account/security/passkeys", {"name": name, "credential": credential})


def passkey_login(http, authenticator, *, mode="login", origin=ISSUER, **get_kwargs):
    options = post_json(http, "/login/passkey/options", {"mode": mode}).get_json()
    credential = authenticator.get(options, origin, **get_kwargs)
    return post_json(http, "/login/passkey", {"mode": mode, "next": "/", "credential": credential})


def logout(http):
    http.post("/logout/confirm", data={"csrf_token": token_of(http)})


def current_session(app):
    with app.app_context():
        return db.session.scalar(select(SsoSession).where(SsoSession.ended_at.is_(None))
                                 .order_by(SsoSession.id.desc()))


@pytest.fixture
def enrolled(client, make_person):
    person = make_person()
    authenticator = SoftAuthenticator()
    login(client, person.username)
    response = register(client, authenticator)
    assert response.status_code == 200, response.get_json()
    logout(client)
    return person, authenticator


def test_register_then_login_with_the_passkey_alone(client, app, enrolled):
    person, authenticator = enrolled
    response = passkey_login(client, authenticator)
    assert response.status_code == 200, response.get_json()
    assert response.get_json() == {"redirect": "/"}
    session = current_session(app)
    assert session.person_id == person.id
    assert session.acr == "urn:tongban:aal2"
    assert session.amr == ["hwk", "user", "mfa"]
    with app.app_context():
        row = db.session.scalar(select(WebAuthnCredential))
        assert row.sign_count == 1 and row.last_used_at is not None and row.name == "My phone"
    assert audit_events(app, "passkey.registered")


def test_synced_passkey_is_reported_as_swk(client, app, make_person):
    person = make_person()
    authenticator = SoftAuthenticator(backup_eligible=True)
    login(client, person.username)
    assert register(client, authenticator).status_code == 200
    logout(client)
    assert passkey_login(client, authenticator).status_code == 200
    assert current_session(app).amr == ["swk", "user", "mfa"]


def test_challenge_is_single_use(client, enrolled):
    _, authenticator = enrolled
    options = post_json(client, "/login/passkey/options", {"mode": "login"}).get_json()
    credential = authenticator.get(options, ISSUER)
    assert post_json(client, "/login/passkey", {"credential": credential}).status_code == 200
    logout(client)
    replay = post_json(client, "/login/passkey", {"credential": credential})
    assert replay.status_code == 400
    assert replay.get_json()["error"]


def test_challenge_is_bound_to_the_browser_that_asked(app, enrolled):
    _, authenticator = enrolled
    asking, other = app.test_client(), app.test_client()
    options = post_json(asking, "/login/passkey/options", {"mode": "login"}).get_json()
    credential = authenticator.get(options, ISSUER)
    assert post_json(other, "/login/passkey", {"credential": credential}).status_code == 400


def test_origin_and_rp_id_come_from_the_issuer_not_the_host_header(client, app, enrolled):
    _, authenticator = enrolled
    # Under another Host header the ceremony still names the issuer's RP ID and origin.
    with app.test_request_context("/login/passkey/options", method="POST",
                                  headers={"Host": "evil.example"}):
        from idp.authn import passkeys

        settings = app.extensions["tongban.settings"]
        assert settings.webauthn_origin == ISSUER and settings.webauthn_rp_id == "localhost"
        options = passkeys.authentication_options(settings=settings, browser_key="b",
                                                  now=app.extensions["tongban.clock"].now())
        assert options["rpId"] == "localhost"
        db.session.rollback()
    # An assertion made for another origin or RP ID is refused.
    options = post_json(client, "/login/passkey/options", {"mode": "login"}).get_json()
    assert options["rpId"] == "localhost"
    wrong_origin = authenticator.get(options, "http://evil.example")
    assert post_json(client, "/login/passkey", {"credential": wrong_origin}).status_code == 400
    options = post_json(client, "/login/passkey/options", {"mode": "login"}).get_json()
    wrong_rp = authenticator.get(options, ISSUER, rp_id="evil.example")
    assert post_json(client, "/login/passkey", {"credential": wrong_rp}).status_code == 400
    # The same authenticator with the right origin works (so the refusals were about origin).
    assert passkey_login(client, authenticator).status_code == 200


def test_passkey_only_login_requires_user_verification(client, enrolled):
    _, authenticator = enrolled
    assert passkey_login(client, authenticator, uv=False).status_code == 400


def test_user_handle_must_match(client, enrolled):
    _, authenticator = enrolled
    assert passkey_login(client, authenticator, user_handle=b"x" * 32).status_code == 400


def test_sign_counter_must_rise(client, enrolled):
    _, authenticator = enrolled
    assert passkey_login(client, authenticator).status_code == 200
    logout(client)
    # A clone that is behind (same counter again) is refused.
    assert passkey_login(client, authenticator, count_up=False).status_code == 400


@pytest.mark.parametrize("settings_overrides", [
    {"throttle_hard_lock": 8, "throttle_max_delay": 1}], indirect=True)
def test_locked_out_attacker_cannot_lock_out_the_passkey(client, app, enrolled, frozen_clock,
                                                         settings_overrides):
    person, authenticator = enrolled
    attacker = app.test_client()
    for _ in range(8):
        login(attacker, person.username, password="wrong guess!!")
        frozen_clock.advance(2)
    assert login(client, person.username).status_code == 429, "password path hard-locked"
    # The person's passkey still works, and it ends the lock (the verified recovery).
    assert passkey_login(client, authenticator).status_code == 200
    logout(client)
    assert login(client, person.username).status_code == 303


@pytest.mark.parametrize("settings_overrides", [{"throttle_source_free_failures": 4}],
                         indirect=True)
def test_passkey_login_obeys_the_source_counter(client, enrolled):
    _, authenticator = enrolled
    for _ in range(5):
        assert passkey_login(client, authenticator, uv=False).status_code == 400
    blocked = passkey_login(client, authenticator)
    assert blocked.status_code == 429


def test_passkey_as_second_factor_after_the_password(client, app, enrolled):
    person, authenticator = enrolled
    grant_role(app, person)  # staff: AAL2 at every login
    response = login(client, person.username)
    assert response.headers["Location"].startswith("/login/verify")
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert 'data-passkey="second_factor"' in page
    result = passkey_login(client, authenticator, mode="second_factor", uv=False)
    assert result.status_code == 200, result.get_json()
    session = current_session(app)
    assert session.amr == ["pwd", "hwk", "mfa"] and session.acr == "urn:tongban:aal2"


def test_second_factor_passkey_must_be_the_persons(client, app, enrolled, make_person):
    _, authenticator = enrolled
    other = make_person()
    grant_role(app, other)
    SoftAuthenticator()  # the other person has no passkey at all
    from ..factors import enrol_totp

    enrol_totp(app, other)
    login(client, other.username)
    result = passkey_login(client, authenticator, mode="second_factor")
    assert result.status_code == 400
    assert current_session(app) is None


def test_rename_and_remove(client, app, make_person, frozen_clock):
    person = make_person()
    login(client, person.username)
    first, second = SoftAuthenticator(), SoftAuthenticator()
    assert register(client, first, name="Phone").status_code == 200
    # With a passkey set up, adding another needs a session that proved a second factor.
    assert post_json(client, "/account/security/passkeys/options", {}).status_code == 401
    assert passkey_login(client, first).status_code == 200
    assert register(client, second, name="Key").status_code == 200
    with app.app_context():
        rows = list(db.session.scalars(select(WebAuthnCredential).order_by(WebAuthnCredential.id)))
    page = client.get("/account/security").get_data(as_text=True)
    assert "Phone" in page and "Key" in page
    client.post(f"/account/security/passkeys/{rows[0].id}/rename",
                data={"csrf_token": token_of(client), "name": "  Work   phone "})
    # Removing needs a recent login: later it asks for one (with the second factor).
    frozen_clock.advance(700)
    stale = client.post(f"/account/security/passkeys/{rows[1].id}/remove",
                        data={"csrf_token": token_of(client)})
    assert stale.status_code == 303 and stale.headers["Location"].startswith("/login?")
    assert "acr=urn" in stale.headers["Location"]
    with app.app_context():
        names = [r.name for r in db.session.scalars(select(WebAuthnCredential)
                                                    .order_by(WebAuthnCredential.id))]
    assert names == ["Work phone", "Key"]
    assert passkey_login(client, second).status_code == 200  # a fresh AAL2 login
    removed = client.post(f"/account/security/passkeys/{rows[1].id}/remove",
                          data={"csrf_token": token_of(client)})
    assert removed.status_code == 303 and removed.headers["Location"].startswith(
        "/account/security")
    with app.app_context():
        assert [r.name for r in db.session.scalars(select(WebAuthnCredential))] == ["Work phone"]


def test_registration_needs_a_recent_login(client, make_person, frozen_clock):
    person = make_person()
    login(client, person.username)
    frozen_clock.advance(700)
    response = post_json(client, "/account/security/passkeys/options", {})
    assert response.status_code == 401
    assert response.get_json()["redirect"].startswith("/login?")


def test_passkeys_need_a_domain_name_issuer(app, migrated, keys_dir, tmp_path):
    from idp import create_app

    from ..conftest import _settings

    ip_issuer = create_app(_settings(migrated, keys_dir, tmp_path)).test_client()
    page = ip_issuer.get("/login").get_data(as_text=True)
    assert "passkey-button" not in page
    assert ip_issuer.post("/login/passkey/options", json={},
                          headers={"X-CSRFToken": csrf_token(page)}).status_code == 404


def test_password_login_unchanged_by_passkeys(client, enrolled):
    person, _ = enrolled
    assert login(client, person.username, PASSWORD).status_code == 303


def test_challenge_expires(client, enrolled, frozen_clock):
    _, authenticator = enrolled
    options = post_json(client, "/login/passkey/options", {"mode": "login"}).get_json()
    credential = authenticator.get(options, ISSUER)
    frozen_clock.advance(121)
    assert post_json(client, "/login/passkey", {"credential": credential}).status_code == 400
