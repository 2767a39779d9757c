"""Brute force: per-account and per-source counters in the database, growing delays from the
fifth failure, the hard lock and the officer's unlock, the same counters on the second-factor
path, unknown accounts treated exactly like known ones, and parallel guesses counted before
they are checked."""

from __future__ import annotations

import threading

import pytest
from click.testing import CliRunner

from idp.authn import throttle

from ..conftest import PASSWORD
from ..factors import audit_events, code_at, enrol_totp
from ..helpers import csrf_token, login

LOCKED = "This account is locked after too many failed attempts."


WRONG = "wrong password!"


def attempt(http, account, password=WRONG, ip="203.0.113.7"):
    english = {"Accept-Language": "en"}
    page = http.get("/login", environ_base={"REMOTE_ADDR": ip}, headers=english)
    return http.post("/login", data={"csrf_token": csrf_token(page.get_data(as_text=True)),
                                     "account": account, "password": password},
                     environ_base={"REMOTE_ADDR": ip}, headers=english)


def error_of(response) -> str:
    html = response.get_data(as_text=True)
    return html.split('id="login-error">', 1)[1].split("</p>", 1)[0] if "login-error" in html \
        else ""


def test_delays_grow_from_the_fifth_failure(client, make_person, frozen_clock):
    person = make_person()
    for _ in range(4):
        assert attempt(client, person.username).status_code == 400
        assert attempt(client, person.username).status_code in (400, 429)
        frozen_clock.advance(3600)
    # Failures 1-8 above were free or waited out; now the waits are 2^(n-5) s.
    for n in range(9, 13):
        frozen_clock.advance(throttle.delay_after(n - 1, _settings(client)))
        assert attempt(client, person.username).status_code == 400
        blocked = attempt(client, person.username, password=PASSWORD)
        assert blocked.status_code == 429, "not even checked while blocked"
        assert "Please wait" in error_of(blocked)
    assert throttle.delay_after(12, _settings(client)) == 128


def _settings(http):
    return http.application.extensions["tongban.settings"]


def test_fifth_failure_starts_the_wait_and_the_right_password_waits_too(client, make_person,
                                                                        frozen_clock):
    person = make_person()
    for _ in range(4):
        assert attempt(client, person.username).status_code == 400
    assert attempt(client, person.username).status_code == 400  # the 5th is still checked
    response = attempt(client, person.username, password=PASSWORD)
    assert response.status_code == 429
    frozen_clock.advance(1)
    assert attempt(client, person.username, password=PASSWORD).status_code == 303
    # A completed login resets the account's count.
    client.post("/logout/confirm", data={"csrf_token": csrf_token(client.get("/login")
                                                                  .get_data(as_text=True))})
    for _ in range(4):
        assert attempt(client, person.username, ip="203.0.113.8").status_code == 400


@pytest.mark.parametrize("known", [True, False])
def test_unknown_and_known_accounts_behave_the_same(client, make_person, frozen_clock, known):
    name = make_person().username if known else "nobody-here"
    statuses, errors = [], []
    for _ in range(7):
        response = attempt(client, name)
        statuses.append(response.status_code)
        errors.append(error_of(response))
    assert statuses == [400, 400, 400, 400, 400, 429, 429]
    assert errors[0] == "The account or password is incorrect."
    assert errors[5].startswith("Too many attempts. Please wait 1 seconds")


@pytest.fixture
def settings_overrides(request):
    return getattr(request, "param", {})


@pytest.mark.parametrize("settings_overrides", [
    {"throttle_hard_lock": 12, "throttle_max_delay": 2}], indirect=True)
def test_hard_lock_and_officer_unlock(client, app, make_person, frozen_clock, settings_overrides):
    person = make_person()
    for n in range(1, 13):
        assert attempt(client, person.username).status_code == 400, n
        frozen_clock.advance(2)
    locked = attempt(client, person.username, password=PASSWORD)
    assert locked.status_code == 429 and error_of(locked).startswith(LOCKED)
    frozen_clock.advance(30 * 24 * 3600)
    assert error_of(attempt(client, person.username, password=PASSWORD)).startswith(LOCKED)
    assert audit_events(app, "account.locked")[0].person_id == person.id
    # An unknown account name locks the same way (same status, same words).
    for _ in range(12):
        attempt(client, "nobody-here", ip="198.51.100.9")
        frozen_clock.advance(2)
    unknown = attempt(client, "nobody-here", ip="198.51.100.9")
    assert unknown.status_code == 429 and error_of(unknown) == error_of(locked)

    result = CliRunner().invoke(app.cli, ["users", "unlock", person.username,
                                          "--officer", "officer7"], obj=_script_info(app))
    assert result.exit_code == 0, result.output
    assert "unlocked" in result.output
    assert audit_events(app, "account.unlocked")[0].detail == {"by": "officer7"}
    assert attempt(client, person.username, password=PASSWORD).status_code == 303


def _script_info(app):
    from flask.cli import ScriptInfo

    return ScriptInfo(create_app=lambda: app)


# A small allowance per source address, so that five failures show the per-source counter.
SMALL_SOURCE_ALLOWANCE = pytest.mark.parametrize(
    "settings_overrides", [{"throttle_source_free_failures": 4}], indirect=True)


@SMALL_SOURCE_ALLOWANCE
def test_per_source_counter_spans_accounts_and_spares_other_sources(client, make_person):
    people = [make_person() for _ in range(6)]
    for person in people[:5]:
        assert attempt(client, person.username, ip="192.0.2.1").status_code == 400
    assert attempt(client, people[5].username, password=PASSWORD,
                   ip="192.0.2.1").status_code == 429
    assert attempt(client, people[5].username, password=PASSWORD,
                   ip="192.0.2.2").status_code == 303


@SMALL_SOURCE_ALLOWANCE
def test_spoofed_forwarded_for_does_not_escape_the_source_counter(client, make_person):
    # TONGBAN_TRUST_PROXY is 0: X-Forwarded-For is whatever the client says and is ignored.
    people = [make_person() for _ in range(6)]
    for n, person in enumerate(people[:5]):
        page = client.get("/login")
        client.post("/login", data={"csrf_token": csrf_token(page.get_data(as_text=True)),
                                    "account": person.username, "password": "wrong one!"},
                    headers={"X-Forwarded-For": f"10.0.0.{n}"})
    page = client.get("/login")
    response = client.post("/login", data={"csrf_token": csrf_token(page.get_data(as_text=True)),
                                           "account": people[5].username, "password": PASSWORD},
                           headers={"X-Forwarded-For": "10.9.9.9"})
    assert response.status_code == 429


def test_parallel_guesses_are_counted_before_they_are_checked(app, make_person):
    person = make_person()
    barrier = threading.Barrier(12)
    statuses: list[int] = []
    lock = threading.Lock()

    def guess(n):
        http = app.test_client()
        page = http.get("/login")
        token = csrf_token(page.get_data(as_text=True))
        barrier.wait()
        response = http.post("/login", data={"csrf_token": token, "account": person.username,
                                             "password": f"guess number {n}"},
                             environ_base={"REMOTE_ADDR": f"198.51.100.{n}"})
        with lock:
            statuses.append(response.status_code)

    threads = [threading.Thread(target=guess, args=(n,)) for n in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert len(statuses) == 12
    # At most the four free failures and the fifth were ever checked.
    assert statuses.count(400) == 5 and statuses.count(429) == 7, statuses
    assert len(audit_events(app, "login.failed")) == 5


def test_second_factor_guesses_share_the_counters(client, app, make_person, frozen_clock):
    person = make_person()
    secret = enrol_totp(app, person)
    # Reach the code page as a pending login (staff-like: ask with acr).
    page = client.get("/login", query_string={"next": "/", "acr": "urn:tongban:aal2"})
    response = client.post(page.request.full_path, data={
        "csrf_token": csrf_token(page.get_data(as_text=True)), "account": person.username,
        "password": PASSWORD})
    verify_path = response.headers["Location"]
    statuses = []
    for _ in range(6):
        page = client.get(verify_path)
        statuses.append(client.post(verify_path, data={
            "csrf_token": csrf_token(page.get_data(as_text=True)), "method": "totp",
            "code": "000000" if code_at(secret, frozen_clock.now()) != "000000" else "111111"}
        ).status_code)
    assert statuses == [400, 400, 400, 400, 400, 429]
    # The right code waits too.
    page = client.get(verify_path)
    right = client.post(verify_path, data={"csrf_token": csrf_token(page.get_data(as_text=True)),
                                           "method": "totp",
                                           "code": code_at(secret, frozen_clock.now())})
    assert right.status_code == 429
    # A password-only login does not reset the second-factor count.
    frozen_clock.advance(2)
    assert login(client, person.username).status_code == 303
    with app.app_context():
        from sqlalchemy import select

        from idp.extensions import db
        from idp.models import ThrottleCounter

        row = db.session.scalar(select(ThrottleCounter).where(
            ThrottleCounter.key == throttle.second_factor_key(person.id)))
        assert row.failures == 5


def test_counters_are_in_the_database(app, make_person, client):
    """Another app instance (another process or node) sees the same counters."""
    from idp import create_app

    person = make_person()
    for _ in range(5):
        attempt(client, person.username)
    other = create_app(app.extensions["tongban.settings"]).test_client()
    page = other.get("/login", environ_base={"REMOTE_ADDR": "203.0.113.99"})
    response = other.post("/login", data={"csrf_token": csrf_token(page.get_data(as_text=True)),
                                          "account": person.username, "password": PASSWORD},
                          environ_base={"REMOTE_ADDR": "203.0.113.99"})
    assert response.status_code == 429


@SMALL_SOURCE_ALLOWANCE
def test_trying_taken_usernames_is_throttled_per_source(client, make_person):
    make_person(username="takenname")

    def register(username, ip="192.0.2.50"):
        page = client.get("/register", environ_base={"REMOTE_ADDR": ip})
        return client.post("/register", data={
            "csrf_token": csrf_token(page.get_data(as_text=True)), "username": username,
            "password": "a long unusual passphrase 7", "confirm": "a long unusual passphrase 7"},
            environ_base={"REMOTE_ADDR": ip})

    # Mistakes that are not a taken name cost nothing...
    for _ in range(6):
        assert register("x").status_code == 400
    # ...but taken names count like failed logins.
    assert [register("takenname").status_code for _ in range(6)] == [400] * 5 + [429]
    assert register("takenname", ip="192.0.2.51").status_code == 400


def test_a_shared_address_has_a_larger_allowance(client, make_person):
    """Ten people behind one office address each mistype once: nobody there is slowed down."""
    people = [make_person() for _ in range(11)]
    for person in people[:10]:
        assert attempt(client, person.username, ip="198.51.100.7").status_code == 400
    assert attempt(client, people[10].username, password=PASSWORD,
                   ip="198.51.100.7").status_code == 303
