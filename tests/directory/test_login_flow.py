"""The department login and linking flows, against in-memory directories (idp.directory.fake)."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from idp.extensions import db
from idp.models import AuditEvent, DirectoryAccount, DirectoryLinkReview, Person, SsoSession

from ..helpers import login, signed_in
from .fakes import (
    ID_NUMBER,
    PASSWORD,
    department_login,
    install,
    link_account,
    staff,
    verify_number,
    write_config,
)

BAD = "The department account or password is incorrect."
DOWN = "Your department's directory is unavailable right now."


@pytest.fixture
def settings_overrides(tmp_path):
    return {"directories": str(write_config(tmp_path))}


@pytest.fixture
def fakes(app):
    return install(app, {
        "finance": [staff("finance", "zhang.wei", groups=("cn=approvers,ou=groups,dc=finance",)),
                    staff("finance", "li.na", state="locked"),
                    staff("finance", "wang.fang", state="disabled"),
                    staff("finance", "shared")],
        "tax": [staff("tax", "chen.jing", id_number=ID_NUMBER,
                      groups=("CN=Inspectors,OU=Groups,DC=tax",)),
                staff("tax", "shared", id_number="110101198001010011")],
        "police": [staff("police", "officer1")],
    })


def audit_reasons(app, event="login.failed") -> list[str]:
    with app.app_context():
        rows = db.session.scalars(select(AuditEvent).where(AuditEvent.event == event)
                                  .order_by(AuditEvent.id)).all()
        return [r.detail.get("reason") for r in rows]


def session_person(app, http) -> int | None:
    cookie = http.get_cookie("tongban_session")
    if cookie is None:
        return None
    from idp.authn.sessions import _hash

    with app.app_context():
        row = db.session.scalar(select(SsoSession).where(
            SsoSession.secret_hash == _hash(cookie.value), SsoSession.ended_at.is_(None)))
        return row.person_id if row else None


# --- the page ------------------------------------------------------------------------------------

def test_login_page_offers_department_login(client, fakes):
    page = client.get("/login?next=/x").get_data(as_text=True)
    assert 'href="/login/department?next=/x"' in page
    form = client.get("/login/department").get_data(as_text=True)
    for name in ("市财政局", "市税务局", "公安局"):
        assert name in form


def test_no_directories_no_route(make_person, migrated, keys_dir, tmp_path):
    from idp import create_app

    from ..conftest import _settings

    plain = create_app(_settings(migrated, keys_dir, tmp_path))
    http = plain.test_client()
    assert http.get("/login/department").status_code == 404
    assert "/login/department" not in http.get("/login").get_data(as_text=True)


# --- verified identity number --------------------------------------------------------------------

def test_entry_with_a_verified_number_logs_in_as_that_person(app, client, fakes, make_person):
    person = make_person()
    verify_number(app, person.id)
    response = department_login(client, "chen.jing", department="tax", next_path="/account")
    assert response.status_code == 303 and response.headers["Location"] == "/account"
    assert session_person(app, client) == person.id
    with app.app_context():
        account = db.session.scalar(select(DirectoryAccount))
        assert (account.directory, account.person_id, account.linked_via) == (
            "tax", person.id, "verified_number")
        assert account.roles == ["tax_inspector"]
        assert account.id_number_index and ID_NUMBER not in str(account.__dict__)
    assert audit_reasons(app, "login.succeeded") == [None]


def test_number_verified_by_nobody_goes_to_review(app, client, fakes, make_person):
    unverified = make_person()
    verify_number(app, unverified.id, level=0)   # self-asserted only
    response = department_login(client, "chen.jing", department="tax")
    assert response.status_code == 403
    assert "security officer" in response.get_data(as_text=True)
    assert session_person(app, client) is None
    with app.app_context():
        review = db.session.scalar(select(DirectoryLinkReview))
        assert (review.reason, review.status, review.candidate_person_id) == (
            "number_unverified", "open", None)
        assert db.session.scalar(select(DirectoryAccount)).person_id is None
    assert audit_reasons(app) == ["review_pending"]


def test_person_already_linked_in_that_directory_goes_to_review(app, client, fakes,
                                                               make_person):
    person = make_person()
    verify_number(app, person.id)
    assert department_login(client, "chen.jing", department="tax").status_code == 303
    # a second entry of the same directory carries the same number
    fakes["tax"].put(staff("tax", "chen.jing2", id_number=ID_NUMBER), PASSWORD)
    other = department_login(client.application.test_client(), "chen.jing2", department="tax")
    assert other.status_code == 403
    with app.app_context():
        review = db.session.scalar(select(DirectoryLinkReview))
        assert (review.reason, review.candidate_person_id) == ("person_already_linked",
                                                               person.id)


# --- bad credentials and outages -----------------------------------------------------------------

@pytest.mark.parametrize(("account", "password", "reason"), [
    ("zhang.wei", "wrong-password", "bad_password"),
    ("nobody", PASSWORD, "unknown_account"),
    ("li.na", PASSWORD, "account_locked"),
    ("wang.fang", PASSWORD, "account_disabled"),
    ("zhang.wei", "", "empty_password"),
    ("zhang.wei", "   ", "empty_password"),
])
def test_every_refusal_looks_the_same(app, client, fakes, account, password, reason):
    response = department_login(client, account, password, department="finance")
    assert response.status_code == 400
    assert BAD in response.get_data(as_text=True)
    assert session_person(app, client) is None
    assert audit_reasons(app) == [reason]
    if reason == "empty_password":
        assert fakes["finance"].binds == 0


def test_directory_down_says_so_and_is_audited(app, client, fakes):
    fakes["finance"].available = False
    response = department_login(client, "zhang.wei", department="finance")
    assert response.status_code == 503
    page = response.get_data(as_text=True)
    assert DOWN in page and BAD not in page
    assert audit_reasons(app) == ["directory_unavailable"]
    from idp.models import DirectoryHealth

    with app.app_context():
        assert "switched off" in db.session.get(DirectoryHealth, "finance").last_error


def test_one_directory_down_does_not_stop_the_others(app, client, fakes, make_person):
    fakes["finance"].available = False
    person = make_person()
    verify_number(app, person.id)
    assert department_login(client, "chen.jing", department="tax").status_code == 303


def test_no_local_password_fallback(app, client, fakes, make_person):
    person = signed_in(client, make_person)
    assert link_account(client, "zhang.wei", department="finance").status_code == 200
    fresh = app.test_client()
    # the person's own Tongban password is not a department password
    from ..conftest import PASSWORD as TONGBAN_PASSWORD

    refused = department_login(fresh, "zhang.wei", TONGBAN_PASSWORD, department="finance")
    assert refused.status_code == 400
    fakes["finance"].available = False
    down = department_login(fresh, "zhang.wei", PASSWORD, department="finance")
    assert down.status_code == 503
    assert session_person(app, fresh) is None
    assert person.id


def test_repeated_failures_are_throttled_like_every_login(app, client, fakes, frozen_clock):
    """Directory logins share the login throttle (idp/authn/throttle.py): the account (its
    directory is part of its name) and the source address are counted before the directory is
    asked, so the wait holds for every source."""
    settings = app.extensions["tongban.settings"]
    for _ in range(settings.throttle_free_failures + 1):
        assert department_login(client, "zhang.wei", "wrong", "finance").status_code == 400
    binds = fakes["finance"].binds
    blocked = department_login(client, "zhang.wei", PASSWORD, "finance")
    assert blocked.status_code == 429
    assert "Too many failed attempts" in blocked.get_data(as_text=True)
    assert fakes["finance"].binds == binds          # the directory was not even asked
    assert audit_reasons(app)[-1] == "throttled"
    other = department_login(app.test_client(), "zhang.wei", PASSWORD, "finance",
                             REMOTE_ADDR="192.0.2.7")
    assert other.status_code == 429                  # the account waits, whoever asks
    frozen_clock.advance(settings.throttle_max_delay + 1)
    assert department_login(client, "zhang.wei", PASSWORD, "finance").status_code == 403


def test_an_unavailable_directory_costs_nothing(app, client, fakes):
    settings = app.extensions["tongban.settings"]
    fakes["finance"].available = False
    for _ in range(settings.throttle_free_failures + 3):
        assert department_login(client, "zhang.wei", PASSWORD, "finance").status_code == 503
    fakes["finance"].available = True
    assert department_login(client, "zhang.wei", PASSWORD, "finance").status_code == 403


# --- naming the department -----------------------------------------------------------------------

@pytest.mark.parametrize(("typed", "chosen"), [
    ("FIN\\zhang.wei", ""), ("finance\\zhang.wei", ""), ("zhang.wei@finance.gov.example", ""),
    ("zhang.wei@fin", ""), ("zhang.wei", "finance"), ("fin\\zhang.wei", "finance"),
])
def test_department_in_the_login_or_chosen(app, client, fakes, typed, chosen):
    response = department_login(client, typed, department=chosen)
    # authenticated: the only thing missing is the link
    assert response.status_code == 403 and "not linked" in response.get_data(as_text=True)


@pytest.mark.parametrize(("typed", "chosen"), [
    ("zhang.wei", ""), ("nowhere\\zhang.wei", ""), ("fin\\zhang.wei", "tax"),
    ("\\zhang.wei", ""), ("fin\\", ""),
])
def test_unresolvable_department(app, client, fakes, typed, chosen):
    response = department_login(client, typed, department=chosen)
    assert response.status_code == 400
    assert "Choose your department" in response.get_data(as_text=True)
    assert fakes["finance"].binds == fakes["tax"].binds == 0


def test_same_login_in_two_directories_never_collides(app, fakes, make_person):
    a, b = make_person(), make_person()
    verify_number(app, b.id, "110101198001010011")
    http_a = app.test_client()
    login(http_a, a.username)
    assert link_account(http_a, "shared", department="finance").status_code == 200
    http_b = app.test_client()
    assert department_login(http_b, "shared", department="tax").status_code == 303
    with app.app_context():
        rows = db.session.scalars(select(DirectoryAccount).order_by(DirectoryAccount.id)).all()
        assert [(r.directory, r.login, r.person_id) for r in rows] == [
            ("finance", "shared", a.id), ("tax", "shared", b.id)]


# --- linking by proving both ---------------------------------------------------------------------

def test_link_once_by_proving_both(app, client, fakes, make_person):
    first = department_login(client, "zhang.wei", department="finance")
    assert first.status_code == 403
    assert "/login/department/link" in first.get_data(as_text=True)
    assert client.get("/login/department/link").headers["Location"].startswith("/login?next=")
    person = signed_in(client, make_person)
    linked = link_account(client, "zhang.wei", department="finance")
    assert "is linked" in linked.get_data(as_text=True)
    fresh = app.test_client()
    assert department_login(fresh, "zhang.wei", department="finance").status_code == 303
    assert session_person(app, fresh) == person.id
    with app.app_context():
        assert db.session.scalar(select(DirectoryAccount)).linked_via == "proved_both"


def test_linking_needs_a_recent_login(app, client, fakes, make_person, frozen_clock):
    signed_in(client, make_person)
    frozen_clock.advance(16 * 60)
    assert client.get("/login/department/link").headers["Location"].startswith("/login?next=")


def test_linking_needs_the_department_password(app, client, fakes, make_person):
    signed_in(client, make_person)
    refused = link_account(client, "zhang.wei", "wrong", department="finance")
    assert refused.status_code == 400 and BAD in refused.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(DirectoryAccount)) is None


def test_account_linked_elsewhere_goes_to_review(app, fakes, make_person):
    a, b = make_person(), make_person()
    http_a, http_b = app.test_client(), app.test_client()
    login(http_a, a.username)
    assert "is linked" in link_account(http_a, "zhang.wei", department="finance").get_data(
        as_text=True)
    login(http_b, b.username)
    response = link_account(http_b, "zhang.wei", department="finance")
    assert "security officer will check" in response.get_data(as_text=True)
    with app.app_context():
        review = db.session.scalar(select(DirectoryLinkReview))
        assert (review.reason, review.candidate_person_id, review.requested_by_person_id) == (
            "linked_elsewhere", a.id, b.id)
        # never re-pointed automatically
        assert db.session.scalar(select(DirectoryAccount)).person_id == a.id


def test_number_of_someone_else_goes_to_review(app, fakes, make_person):
    holder, other = make_person(), make_person()
    verify_number(app, holder.id)
    http = app.test_client()
    login(http, other.username)
    response = link_account(http, "chen.jing", department="tax")
    assert "security officer will check" in response.get_data(as_text=True)
    with app.app_context():
        review = db.session.scalar(select(DirectoryLinkReview))
        assert (review.reason, review.candidate_person_id) == ("number_mismatch", holder.id)
        assert db.session.scalar(select(DirectoryAccount)).person_id is None


def test_officer_resolves_a_review(app, fakes, make_person):
    from idp.clock import utcnow
    from idp.models import PersonRole

    officer, person = make_person(), make_person()
    with app.app_context():
        db.session.add(PersonRole(person_id=officer.id, role="security_officer",
                                  granted_at=utcnow()))
        db.session.commit()
    http = app.test_client()
    assert department_login(http, "chen.jing", department="tax").status_code == 403
    runner = app.test_cli_runner()
    listed = runner.invoke(args=["directory", "reviews"])
    assert "number_unverified" in listed.output and "tax\\chen.jing" in listed.output
    with app.app_context():
        review_id = db.session.scalar(select(DirectoryLinkReview.id))
    nobody = runner.invoke(args=["directory", "resolve", str(review_id), "--officer",
                                 person.username, "--link", person.sub])
    assert nobody.exit_code != 0 and "not a security officer" in nobody.output
    done = runner.invoke(args=["directory", "resolve", str(review_id), "--officer",
                               officer.username, "--link", person.sub, "--note", "checked"])
    assert done.exit_code == 0, done.output
    assert department_login(http, "chen.jing", department="tax").status_code == 303
    assert session_person(app, http) == person.id
    assert audit_reasons(app, "directory.review_resolved") == [None]


# --- staff-only directories ----------------------------------------------------------------------

def test_staff_only_directory_gets_its_own_person(app, client, fakes, make_person):
    assert department_login(client, "officer1", department="police").status_code == 303
    with app.app_context():
        account = db.session.scalar(select(DirectoryAccount))
        person = db.session.get(Person, account.person_id)
        assert person.password_hash is None and person.username is None
        assert account.linked_via == "staff"
    signed_in(client, make_person)
    response = link_account(client, "officer1", department="police")
    assert "staff accounts" in response.get_data(as_text=True)


def test_long_directory_names_fit(app, client, fakes):
    fakes["police"].put(staff("police", "officer2", display_name="名" * 150), PASSWORD)
    assert department_login(client, "officer2", department="police").status_code == 303
    with app.app_context():
        account = db.session.scalar(select(DirectoryAccount).where(
            DirectoryAccount.login == "officer2"))
        assert len(db.session.get(Person, account.person_id).display_name) == 100
