"""The password login page: identifiers, uniform failures (message, status, timing), audit
reasons, CSRF, safe `next` handling and the 303 after the POST (RFC 9700 §4.12)."""

import re
import statistics
import time

import pytest
from sqlalchemy import select

from idp.extensions import db
from idp.models import AuditEvent

from ..conftest import PASSWORD
from ..helpers import csrf_token, login

ERROR = re.compile(r'<p class="message error" role="alert" id="login-error">([^<]*)</p>')


def error_message(response) -> str:
    match = ERROR.search(response.get_data(as_text=True))
    assert match, response.get_data(as_text=True)[:500]
    return match.group(1)


def assert_signed_in(http, response, next_path="/"):
    assert response.status_code == 303, response.get_data(as_text=True)[:300]
    assert response.headers["Location"] == next_path
    assert http.get("/").status_code == 200


@pytest.mark.parametrize("typed", ["citizen-x", "Citizen-X", " citizen-x ", "ｃｉｔｉｚｅｎ-ｘ"])
def test_login_by_username(client, make_person, typed):
    make_person(username="citizen-x")
    assert_signed_in(client, login(client, typed))


@pytest.mark.parametrize("typed", ["13800138000", "+8613800138000", "+86 138 0013 8000",
                                   "0086 138-0013-8000", "138 0013 8000", "(+86)13800138000"])
def test_login_by_phone(client, make_person, typed):
    make_person(phone="+86 13800138000")
    assert_signed_in(client, login(client, typed))


@pytest.mark.parametrize("typed", ["Li.Wei@Example.CN", "li.wei@example.cn", "LI.WEI@EXAMPLE.CN"])
def test_login_by_email_is_case_insensitive(client, make_person, typed):
    make_person(email="li.wei@example.cn")
    assert_signed_in(client, login(client, typed))


def test_next_local_path_is_kept(client, make_person):
    person = make_person()
    assert_signed_in(client, login(client, person.username, next_path="/authorize/x?y=1"),
                     next_path="/authorize/x?y=1")


@pytest.mark.parametrize("next_path", [
    "//evil.example", "//evil.example/path", "https://evil.example", "http://evil.example/",
    "/\\evil.example", "\\\\evil.example", "javascript:alert(1)", "JaVaScRiPt:alert(1)",
    "data:text/html,hi", "evil.example", "/\t/evil.example", "/\r\nLocation: https://evil.example",
    "/" + "a" * 600,
])
def test_next_open_redirect_attempts_end_at_the_account_page(client, make_person, next_path):
    person = make_person()
    response = login(client, person.username, next_path=next_path)
    assert response.status_code == 303
    assert response.headers["Location"] == "/"
    account = client.get("/")
    assert account.status_code == 200
    assert person.display_name in account.get_data(as_text=True)


def test_post_redirect_is_303_never_307(client, make_person):
    person = make_person()
    response = login(client, person.username)
    assert response.status_code == 303


def test_login_requires_csrf(client, make_person):
    person = make_person()
    client.get("/login")
    for data in ({}, {"csrf_token": "forged"}):
        response = client.post("/login", data={**data, "account": person.username,
                                               "password": PASSWORD})
        assert response.status_code == 400
        assert not any("tongban_session" in c for c in response.headers.getlist("Set-Cookie"))
    assert client.get("/").status_code == 302


def test_login_with_empty_fields_is_refused(client):
    page = client.get("/login")
    response = client.post("/login", data={"csrf_token": csrf_token(page.get_data(as_text=True)),
                                           "account": "", "password": ""})
    assert response.status_code == 400


# --- one answer for every failure ----------------------------------------------------------------

@pytest.fixture
def failures(client, make_person):
    """The three ways a login fails, as (reason, account, password)."""
    make_person(username="known-person")
    make_person(username="disabled-person", status="disabled")
    return [("unknown_account", "nobody-here", PASSWORD),
            ("bad_password", "known-person", PASSWORD + "!"),
            ("account_disabled", "disabled-person", PASSWORD)]


def normalised(response, account: str) -> str:
    body = response.get_data(as_text=True)
    body = re.sub(r'value="[^"]*"', 'value=""', body.replace(account, "ACCOUNT"))
    return body


def test_failures_are_indistinguishable(client, failures):
    responses = [(login(client, account, password), account)
                 for _reason, account, password in failures]
    assert {r.status_code for r, _ in responses} == {400}
    assert len({error_message(r) for r, _ in responses}) == 1
    assert len({normalised(r, account) for r, account in responses}) == 1
    assert not any(r.headers.getlist("Set-Cookie") and any(
        "tongban_session" in c for c in r.headers.getlist("Set-Cookie")) for r, _ in responses)


# Many failures in a row: lift the brute-force delays, which tests/authn/test_throttle.py covers.
@pytest.mark.parametrize("settings_overrides",
                         [{"throttle_free_failures": 1000, "throttle_hard_lock": 2000}],
                         indirect=True)
def test_failures_take_the_same_time(client, failures, monkeypatch):
    from idp.authn import passwords

    verified = []
    real = passwords.verify_password
    monkeypatch.setattr(passwords, "verify_password",
                        lambda *args: verified.append(args[0]) or real(*args))
    page = client.get("/login")
    token = csrf_token(page.get_data(as_text=True))
    cpu: dict[str, list[float]] = {reason: [] for reason, _a, _p in failures}
    for _ in range(9):
        # Interleaved, so that drifts in machine load affect every kind alike.
        for reason, account, password in failures:
            verified.clear()
            started_cpu = time.thread_time()
            response = client.post("/login", data={"csrf_token": token, "account": account,
                                                   "password": password})
            cpu[reason].append(time.thread_time() - started_cpu)
            assert response.status_code == 400
            # Exactly one argon2 verification, whether or not there is an account.
            assert len(verified) == 1
    # The test client runs the app in this thread: its CPU time is the work done, unaffected
    # by other processes competing for the machine.
    medians = {reason: statistics.median(values) for reason, values in cpu.items()}
    assert max(medians.values()) - min(medians.values()) < 0.005, medians
    # Wall-clock medians (what an attacker measures) are compared, with retries for a busy
    # machine, in tests/authn/test_enumeration.py.


def test_failure_reasons_are_audited(app, client, failures):
    for _reason, account, password in failures:
        login(client, account, password)
    with app.app_context():
        rows = db.session.scalars(
            select(AuditEvent).where(AuditEvent.event == "login.failed").order_by(AuditEvent.id)
        ).all()
        reasons = [row.detail["reason"] for row in rows]
        person_ids = [row.person_id for row in rows]
    assert reasons == [reason for reason, _a, _p in failures]
    assert person_ids[0] is None and all(person_ids[1:])


def test_success_is_audited(app, client, make_person):
    person = make_person()
    login(client, person.username)
    with app.app_context():
        events = db.session.scalars(
            select(AuditEvent.event).where(AuditEvent.person_id == person.id)).all()
    assert "login.succeeded" in events
    assert "session.started" in events
