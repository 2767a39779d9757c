"""The self-service registration page: account creation logs the person in; every refusal is
shown per field, and a taken identifier gets the same generic "unavailable" message."""

import re

import pytest
from sqlalchemy import func, select

from idp.extensions import db
from idp.models import AuditEvent, Person

from ..helpers import csrf_token

GOOD = "a quiet walk along the river"


def field_errors(response) -> dict[str, str]:
    body = response.get_data(as_text=True)
    return dict(re.findall(r'<p class="message error" id="([a-z_]+)-error">([^<]*)</p>', body))


def register(http, *, lang="en", **fields):
    page = http.get("/register", query_string={"lang": lang})
    data = {"username": "new-citizen", "display_name": "王五", "email": "", "phone": "",
            "password": GOOD, "confirm": fields.get("password", GOOD)}
    data.update(fields)
    data["csrf_token"] = csrf_token(page.get_data(as_text=True))
    return http.post("/register", data=data)


def people(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(Person))


def test_registration_logs_in(app, client):
    response = register(client, username="Wang.Wu", email="Wang.Wu@Example.CN",
                        phone="+86 139 0013 9000")
    assert response.status_code == 303
    assert response.headers["Location"] == "/"
    cookies = response.headers.getlist("Set-Cookie")
    assert any(c.startswith("tongban_session=") for c in cookies)
    account = client.get("/")
    assert account.status_code == 200
    assert "王五" in account.get_data(as_text=True)
    with app.app_context():
        person = db.session.scalar(select(Person))
        assert (person.username, person.email, person.phone) == (
            "wang.wu", "wang.wu@example.cn", "13900139000")
        assert person.password_hash.startswith("$argon2id$")
        events = db.session.scalars(select(AuditEvent.event)).all()
    assert {"person.registered", "session.started"} <= set(events)


def test_registration_keeps_a_local_next(client):
    page = client.get("/register", query_string={"next": "/authorize/continue/abc"})
    response = client.post("/register", query_string={"next": "/authorize/continue/abc"}, data={
        "csrf_token": csrf_token(page.get_data(as_text=True)), "username": "next-citizen",
        "password": GOOD, "confirm": GOOD})
    assert response.status_code == 303
    assert response.headers["Location"] == "/authorize/continue/abc"


def test_taken_username_is_generically_unavailable(app, client, make_person):
    make_person(username="taken-name")
    before = people(app)
    response = register(client, username="Taken-Name")
    assert response.status_code == 400
    errors = field_errors(response)
    assert list(errors) == ["username"]
    assert "already" not in errors["username"].lower()
    assert "exist" not in errors["username"].lower()
    assert people(app) == before


@pytest.mark.parametrize("field, value, taken", [
    ("email", "TAKEN@example.cn", {"email": "taken@example.cn"}),
    ("phone", "+8613700137000", {"phone": "13700137000"}),
])
def test_taken_contact_is_withheld_not_announced(app, client, make_person, field, value, taken):
    """Saying "this email is taken" would tell anyone whose it is: the account is created
    without it (audited as person.contact_withheld) and the page looks like any success."""
    owner = make_person(**taken)
    response = register(client, **{field: value})
    assert response.status_code == 303
    with app.app_context():
        created = db.session.scalar(select(Person).where(Person.username == "new-citizen"))
        assert getattr(created, field) is None
        assert getattr(db.session.get(Person, owner.id), field) == next(iter(taken.values()))


@pytest.mark.parametrize("fields, field", [
    ({"phone": "12345"}, "phone"),
    ({"phone": "+1 415 555 0100"}, "phone"),
    ({"phone": "1380013800"}, "phone"),
    ({"email": "no-at-sign.example.cn"}, "email"),
    ({"email": "two@@example.cn"}, "email"),
    ({"email": "nodot@example"}, "email"),
    ({"username": "1starts-with-digit"}, "username"),
    ({"username": "ab"}, "username"),
    ({"username": "has space"}, "username"),
])
def test_bad_identifiers(app, client, fields, field):
    response = register(client, **fields)
    assert response.status_code == 400
    assert list(field_errors(response)) == [field]
    assert people(app) == 0


@pytest.mark.parametrize("password, message", [
    ("short", "Use at least 8 characters."),
    ("x" * 129, "Use at most 128 characters."),
    ("password1", "This password is too common. Choose one that is hard to guess."),
    ("qwerty123", "This password is too common. Choose one that is hard to guess."),
    ("new-citizen", "Your password must not be your username, mobile number or email."),
])
def test_password_policy_messages(app, client, password, message):
    response = register(client, password=password, confirm=password)
    assert response.status_code == 400
    assert field_errors(response) == {"password": message}
    assert people(app) == 0


def test_passwords_must_match(app, client):
    response = register(client, confirm=GOOD + "?")
    assert response.status_code == 400
    assert list(field_errors(response)) == ["confirm"]
    assert people(app) == 0


def test_missing_fields(app, client):
    response = register(client, username="", password="", confirm="")
    assert response.status_code == 400
    assert list(field_errors(response)) == ["form"]
    assert people(app) == 0


def test_registration_requires_csrf(app, client):
    client.get("/register")
    for extra in ({}, {"csrf_token": "forged"}):
        response = client.post("/register", data={"username": "csrf-citizen", "password": GOOD,
                                                  "confirm": GOOD, **extra})
        assert response.status_code == 400
    assert people(app) == 0
