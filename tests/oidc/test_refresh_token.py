"""The refresh_token grant (RFC 6749 §6, oidcc-refresh-token) with rotation on every use and
reuse detection per family (RFC 9700 §4.14.2), idle and absolute lifetimes, and revocation at
logout."""

import pytest
from joserfc import jwt
from joserfc.jwk import KeySet
from sqlalchemy import update

from idp import create_app
from idp.extensions import db
from idp.models import Person

from ..helpers import Flow, bearer, csrf_token, introspect, login, refresh, signed_in

GRACE = 5  # conftest's refresh_reuse_grace


@pytest.fixture
def settings_overrides(request) -> dict:
    """Per-test settings through indirect parametrisation."""
    return getattr(request, "param", {})


@pytest.fixture
def rp(make_client):
    return make_client(scope="openid profile email offline_access")


@pytest.fixture
def person(client, make_person):
    return signed_in(client, make_person)


@pytest.fixture
def tokens(client, person, rp) -> dict:
    return Flow(client, rp).tokens()


def rotate(http, rp, refresh_token: str, **extra) -> dict:
    response = refresh(http, rp, refresh_token, **extra)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def assert_error(response, error: str) -> None:
    assert response.status_code == 400, response.get_data(as_text=True)
    assert response.get_json()["error"] == error


def works(http, rp, refresh_token: str) -> bool:
    return introspect(http, rp, refresh_token).get_json()["active"]


def id_claims(http, id_token: str) -> dict:
    keys = KeySet.import_key_set(http.get("/jwks").get_json())
    return jwt.decode(id_token, keys, algorithms=["RS256"]).claims


# --- rotation ------------------------------------------------------------------------------------

def test_oidcc_refresh_token(client, rp, tokens):
    response = refresh(client, rp, tokens["refresh_token"])
    assert response.status_code == 200, response.get_json()
    assert response.headers["Cache-Control"] == "no-store"
    fresh = response.get_json()
    assert fresh["token_type"] == "Bearer" and fresh["expires_in"] > 0
    assert fresh["access_token"] != tokens["access_token"]
    assert client.get("/userinfo", headers=bearer(fresh["access_token"])).status_code == 200
    # RFC 6749 A.17: refresh tokens are made of visible ASCII characters.
    assert all(0x20 <= ord(c) <= 0x7E for c in fresh["refresh_token"])


def test_public_client_refresh(frozen_clock, client, person, make_client):
    spa = make_client("spa")
    tokens = Flow(client, spa).tokens()
    fresh = rotate(client, spa, tokens["refresh_token"], auth="none")
    frozen_clock.advance(GRACE + 1)
    assert_error(refresh(client, spa, tokens["refresh_token"], auth="none"), "invalid_grant")
    assert_error(refresh(client, spa, fresh["refresh_token"], auth="none"), "invalid_grant")


def test_rotation_on_every_use(frozen_clock, client, rp, tokens):
    seen = [tokens["refresh_token"]]
    for _ in range(3):
        seen.append(rotate(client, rp, seen[-1])["refresh_token"])
        frozen_clock.advance(GRACE + 1)
    assert len(set(seen)) == len(seen)
    for old in seen[:-1]:
        assert not works(client, rp, old)
    assert works(client, rp, seen[-1])


def test_rotated_token_replayed_after_the_grace_revokes_its_family(frozen_clock, client, rp,
                                                                   tokens):
    successor = rotate(client, rp, tokens["refresh_token"])
    frozen_clock.advance(GRACE + 1)
    assert_error(refresh(client, rp, tokens["refresh_token"]), "invalid_grant")
    # Someone holds a copy: the legitimate successor and its access token die with the family.
    assert_error(refresh(client, rp, successor["refresh_token"]), "invalid_grant")
    assert client.get("/userinfo", headers=bearer(successor["access_token"])).status_code == 401
    assert client.get("/userinfo", headers=bearer(tokens["access_token"])).status_code == 401


@pytest.mark.parametrize("settings_overrides", [{"refresh_reuse_grace": 0}], indirect=True)
def test_without_grace_any_reuse_revokes(client, rp, tokens):
    successor = rotate(client, rp, tokens["refresh_token"])
    assert_error(refresh(client, rp, tokens["refresh_token"]), "invalid_grant")
    assert_error(refresh(client, rp, successor["refresh_token"]), "invalid_grant")


@pytest.mark.parametrize("settings_overrides", [{"refresh_reuse_grace": 0}], indirect=True)
@pytest.mark.parametrize("other", ["another_client", "another_login"])
def test_reuse_revokes_that_family_only(app, client, person, rp, tokens, make_client, other):
    if other == "another_client":
        other_rp = make_client(scope="openid profile")
        other_tokens = Flow(client, other_rp).tokens()
    else:
        other_rp = rp
        browser = app.test_client()  # a second device of the same person
        assert login(browser, person.username).status_code == 303
        other_tokens = Flow(browser, rp).tokens()

    successor = rotate(client, rp, tokens["refresh_token"])
    assert_error(refresh(client, rp, tokens["refresh_token"]), "invalid_grant")
    assert not works(client, rp, successor["refresh_token"])

    assert client.get("/userinfo", headers=bearer(other_tokens["access_token"])).status_code == 200
    assert rotate(client, other_rp, other_tokens["refresh_token"])["refresh_token"]


def test_grace_replay_returns_the_same_successor(frozen_clock, client, rp, tokens):
    first = rotate(client, rp, tokens["refresh_token"])
    frozen_clock.advance(GRACE - 1)
    again = rotate(client, rp, tokens["refresh_token"])
    assert again["refresh_token"] == first["refresh_token"]
    assert again["access_token"] != first["access_token"]
    # Not treated as theft: the family lives on.
    assert client.get("/userinfo", headers=bearer(first["access_token"])).status_code == 200
    assert rotate(client, rp, first["refresh_token"])["refresh_token"]


def test_grace_ends_once_the_successor_is_used(client, rp, tokens):
    first = rotate(client, rp, tokens["refresh_token"])
    second = rotate(client, rp, first["refresh_token"])
    assert_error(refresh(client, rp, tokens["refresh_token"]), "invalid_grant")
    assert_error(refresh(client, rp, second["refresh_token"]), "invalid_grant")


def test_refresh_token_is_bound_to_its_client(client, tokens, rp, make_client):
    other = make_client(scope=rp.scope)
    assert_error(refresh(client, other, tokens["refresh_token"]), "invalid_grant")


@pytest.mark.parametrize("value", ["", "tbr_unknown", "not-ours", "tbr_" + "x" * 200])
def test_unknown_refresh_token(client, rp, value):
    assert_error(refresh(client, rp, value), "invalid_grant" if value else "invalid_request")


# --- scope ---------------------------------------------------------------------------------------

def test_scope_narrowing_applies_to_the_access_token_only(client, rp, person):
    tokens = Flow(client, rp, scope="openid profile email").tokens()
    narrow = rotate(client, rp, tokens["refresh_token"], scope="openid email")
    assert narrow["scope"] == "openid email"
    info = client.get("/userinfo", headers=bearer(narrow["access_token"])).get_json()
    assert "email" in info and "name" not in info
    # The successor still carries everything the person granted.
    full = rotate(client, rp, narrow["refresh_token"])
    assert set(full["scope"].split()) == {"openid", "profile", "email"}


@pytest.mark.parametrize("scope", ["openid profile email phone", "offline_access", "admin"])
def test_scope_widening_is_refused(client, rp, person, scope):
    tokens = Flow(client, rp, scope="openid profile email").tokens()
    assert_error(refresh(client, rp, tokens["refresh_token"], scope=scope), "invalid_scope")
    # A refused request spends nothing.
    assert rotate(client, rp, tokens["refresh_token"])["refresh_token"]


# --- lifetimes -----------------------------------------------------------------------------------

@pytest.mark.parametrize("settings_overrides", [{"refresh_idle_ttl": 100}], indirect=True)
@pytest.mark.parametrize(("idle", "error"), [(99, None), (100, "invalid_grant")])
def test_idle_expiry(frozen_clock, client, rp, tokens, idle, error):
    frozen_clock.advance(idle)
    response = refresh(client, rp, tokens["refresh_token"])
    if error:
        assert_error(response, error)
    else:
        assert response.status_code == 200, response.get_json()


@pytest.mark.parametrize("settings_overrides",
                         [{"refresh_idle_ttl": 100, "refresh_absolute_ttl": 250}], indirect=True)
def test_absolute_family_expiry(frozen_clock, client, rp, tokens):
    current = tokens["refresh_token"]
    for _ in range(3):  # used every 80 s: never idle, but the family ages
        frozen_clock.advance(80)
        current = rotate(client, rp, current)["refresh_token"]
    frozen_clock.advance(10)  # 250 s since the login
    assert_error(refresh(client, rp, current), "invalid_grant")


# --- ID token on refresh -------------------------------------------------------------------------

def test_id_token_on_refresh(frozen_clock, client, rp, tokens):
    first = id_claims(client, tokens["id_token"])
    frozen_clock.advance(60)
    again = id_claims(client, rotate(client, rp, tokens["refresh_token"])["id_token"])
    for name in ("iss", "sub", "aud", "auth_time", "sid", "acr", "amr"):
        assert again[name] == first[name], name
    assert "nonce" in first and "nonce" not in again
    assert again["iat"] == first["iat"] + 60


# --- logout at the IdP ---------------------------------------------------------------------------

def logout(http) -> None:
    page = http.get("/logout")
    assert page.status_code == 200
    response = http.post("/logout/confirm",
                         data={"csrf_token": csrf_token(page.get_data(as_text=True))})
    assert response.status_code == 200


@pytest.mark.parametrize(("scope", "survives"), [
    ("openid profile", False),
    ("openid profile offline_access", True),
])
def test_logout_at_the_idp(client, rp, person, scope, survives):
    tokens = Flow(client, rp, scope=scope).tokens()
    logout(client)
    assert client.get("/userinfo", headers=bearer(tokens["access_token"])).status_code == 401
    response = refresh(client, rp, tokens["refresh_token"])
    if survives:
        assert response.status_code == 200, response.get_json()
    else:
        assert_error(response, "invalid_grant")


# --- restart (Keycloak CVE-2026-9802) ------------------------------------------------------------

@pytest.mark.parametrize("settings_overrides", [{"refresh_reuse_grace": 0}], indirect=True)
def test_rotation_survives_a_restart(app, client, rp, tokens):
    successor = rotate(client, rp, tokens["refresh_token"])
    restarted = create_app(app.extensions["tongban.settings"])
    try:
        other = restarted.test_client()
        assert_error(refresh(other, rp, tokens["refresh_token"]), "invalid_grant")
        assert_error(refresh(other, rp, successor["refresh_token"]), "invalid_grant")
    finally:
        with restarted.app_context():
            db.engine.dispose()


def test_disabled_person_cannot_refresh(app, client, rp, person, tokens):
    with app.app_context():
        db.session.execute(update(Person).where(Person.id == person.id).values(status="disabled"))
        db.session.commit()
    assert_error(refresh(client, rp, tokens["refresh_token"]), "invalid_grant")
