"""Server-side SSO sessions: the cookie's attributes, a new value at every login (no session
fixation), idle and absolute limits, ended sessions, and only a hash in the database."""

import hashlib

import pytest
from sqlalchemy import select

from idp.extensions import db
from idp.models import SsoSession

from ..helpers import login, signed_in

COOKIE = "tongban_session"
IDLE, ABSOLUTE = 600, 3600


@pytest.fixture
def settings_overrides(request):
    """Indirectly parametrisable: `@pytest.mark.parametrize("settings_overrides", [...],
    indirect=True)`."""
    return getattr(request, "param", {})


def set_cookie_header(response, name=COOKIE) -> str:
    headers = [h for h in response.headers.getlist("Set-Cookie") if h.startswith(name + "=")]
    assert len(headers) == 1, response.headers.getlist("Set-Cookie")
    return headers[0]


def attributes(header: str) -> dict[str, str]:
    parts = [p.strip() for p in header.split(";")]
    return {p.split("=", 1)[0].lower(): (p.split("=", 1)[1] if "=" in p else "")
            for p in parts[1:]}


def cookie_value(http, name=COOKIE) -> str | None:
    cookie = http.get_cookie(name)
    return cookie.value if cookie else None


def is_signed_in(http) -> bool:
    response = http.get("/")
    assert response.status_code in (200, 302)
    return response.status_code == 200


def test_cookie_attributes(client, make_person):
    person = make_person()
    header = set_cookie_header(login(client, person.username))
    attrs = attributes(header)
    assert "httponly" in attrs
    assert attrs["samesite"] == "Lax"
    assert attrs["path"] == "/"
    assert "domain" not in attrs          # host-only
    assert "secure" not in attrs          # http issuer (tests and the local demo only)
    assert int(attrs["max-age"]) == 24 * 3600


def test_new_cookie_value_at_every_login(app, client, make_person, frozen_clock):
    person = signed_in(client, make_person)
    first = cookie_value(client)
    frozen_clock.advance(5)
    login(client, person.username)
    second = cookie_value(client)
    assert first and second and first != second

    stale = app.test_client()
    stale.set_cookie(COOKIE, first)
    assert not is_signed_in(stale)
    assert is_signed_in(client)


def test_a_planted_cookie_value_is_never_adopted(app, client, make_person):
    """Session fixation: whatever value the browser held before login is replaced."""
    person = make_person()
    client.set_cookie(COOKIE, "attacker-chosen-value")
    login(client, person.username)
    assert cookie_value(client) != "attacker-chosen-value"
    attacker = app.test_client()
    attacker.set_cookie(COOKIE, "attacker-chosen-value")
    assert not is_signed_in(attacker)


def test_login_as_someone_else_ends_the_previous_session(app, client, make_person):
    first = signed_in(client, make_person)
    old_cookie = cookie_value(client)
    second = make_person()
    login(client, second.username)
    with app.app_context():
        sessions = db.session.scalars(select(SsoSession).order_by(SsoSession.id)).all()
        assert [(s.person_id, s.end_reason) for s in sessions] == [
            (first.id, "replaced"), (second.id, None)]
    stale = app.test_client()
    stale.set_cookie(COOKIE, old_cookie)
    assert not is_signed_in(stale)


@pytest.mark.parametrize("settings_overrides", [
    {"session_idle_ttl": IDLE, "session_absolute_ttl": ABSOLUTE}], indirect=True)
def test_idle_timeout(client, make_person, frozen_clock):
    signed_in(client, make_person)
    frozen_clock.advance(IDLE - 1)
    assert is_signed_in(client)          # ...which counts as activity
    frozen_clock.advance(IDLE - 1)
    assert is_signed_in(client)
    frozen_clock.advance(IDLE)
    assert not is_signed_in(client)
    frozen_clock.advance(-IDLE)          # an ended session stays ended
    assert not is_signed_in(client)


@pytest.mark.parametrize("settings_overrides", [
    {"session_idle_ttl": IDLE, "session_absolute_ttl": ABSOLUTE}], indirect=True)
def test_absolute_timeout(client, make_person, frozen_clock):
    signed_in(client, make_person)
    for _ in range(7):                   # active every 500 s: never idle...
        frozen_clock.advance(500)
        assert is_signed_in(client)
    frozen_clock.advance(ABSOLUTE - 7 * 500 - 1)
    assert is_signed_in(client)
    frozen_clock.advance(1)              # ...but never past the absolute limit
    assert not is_signed_in(client)


@pytest.mark.parametrize("settings_overrides", [
    {"session_idle_ttl": IDLE, "session_absolute_ttl": ABSOLUTE}], indirect=True)
def test_expired_session_is_recorded_as_ended(app, client, make_person, frozen_clock):
    signed_in(client, make_person)
    frozen_clock.advance(IDLE)
    assert not is_signed_in(client)
    with app.app_context():
        session = db.session.scalar(select(SsoSession))
        assert session.ended_at is not None
        assert session.end_reason == "expired"


def test_ended_session_cannot_be_used(app, client, make_person):
    signed_in(client, make_person)
    value = cookie_value(client)
    with app.app_context():
        from idp.authn import sessions
        from idp.clock import utcnow

        sessions.end(db.session.scalar(select(SsoSession)), utcnow(), "officer")
        db.session.commit()
    assert not is_signed_in(client)
    replay = app.test_client()
    replay.set_cookie(COOKIE, value)
    assert not is_signed_in(replay)


def test_disabled_person_loses_the_session(app, client, make_person):
    person = signed_in(client, make_person)
    with app.app_context():
        from idp.models import Person

        db.session.get(Person, person.id).status = "disabled"
        db.session.commit()
    assert not is_signed_in(client)


def test_database_holds_only_the_cookie_hash(app, client, make_person):
    signed_in(client, make_person)
    value = cookie_value(client)
    with app.app_context():
        session = db.session.scalar(select(SsoSession))
        assert session.secret_hash == hashlib.sha256(value.encode()).hexdigest()
        row = db.session.execute(select(SsoSession.__table__)).one()
    assert value not in repr(tuple(row))
    assert session.sid not in value and value not in session.sid


@pytest.mark.parametrize("value", ["", "x" * 101, "not-a-session", "' OR 1=1 --"])
def test_unknown_cookie_values(app, value):
    http = app.test_client()
    http.set_cookie(COOKIE, value)
    assert not is_signed_in(http)


# --- https issuers ------------------------------------------------------------------------------

HTTPS = {"issuer": "https://idp.example"}


@pytest.fixture
def https_client(app):
    http = app.test_client()
    http.environ_base.update({"wsgi.url_scheme": "https", "HTTP_HOST": "idp.example"})
    return http


@pytest.mark.parametrize("settings_overrides", [HTTPS], indirect=True)
def test_host_prefixed_secure_cookie_on_https(https_client, make_person):
    person = make_person()
    page = https_client.get("/login")
    # The browser cookie (CSRF state, language) is host-prefixed and secure too.
    browser = set_cookie_header(page, "__Host-tongban_browser")
    assert "secure" in attributes(browser) and "httponly" in attributes(browser)
    response = login(https_client, person.username)
    assert response.status_code == 303
    header = set_cookie_header(response, "__Host-tongban_session")
    attrs = attributes(header)
    assert "secure" in attrs and "httponly" in attrs
    assert attrs["path"] == "/" and "domain" not in attrs
    assert attrs["samesite"] == "Lax"
    assert not any(h.startswith(COOKIE + "=") for h in response.headers.getlist("Set-Cookie"))
    assert https_client.get("/").status_code == 200
