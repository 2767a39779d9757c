"""What tokens say about department staff (scope `department`), and `flask directory sync` /
`status`, against in-memory directories."""

from __future__ import annotations

import json

import pytest
from joserfc import jwt
from joserfc.jwk import KeySet
from sqlalchemy import select

from idp.extensions import db
from idp.models import AccessToken, DirectoryAccount, DirectoryHealth, SsoSession

from ..helpers import Flow, bearer, follow_local, login, query
from .fakes import (
    ENGLISH,
    ID_NUMBER,
    department_login,
    install,
    link_account,
    staff,
    verify_number,
    write_config,
)

CHEN = "tax-chen.jing"
INSPECTORS = "CN=Inspectors,OU=Groups,DC=tax"


@pytest.fixture
def settings_overrides(tmp_path):
    return {"directories": str(write_config(tmp_path))}


@pytest.fixture
def fakes(app):
    return install(app, {
        "finance": [staff("finance", "zhang.wei",
                          groups=("cn=approvers,ou=groups,dc=finance",
                                  "cn=unmapped,ou=groups,dc=finance"))],
        "tax": [staff("tax", "chen.jing", id_number=ID_NUMBER, groups=(INSPECTORS,))],
    })


@pytest.fixture
def staff_member(app, client, fakes, make_person):
    """A citizen whose verified number the tax directory holds, logged in through it."""
    person = make_person()
    verify_number(app, person.id)
    assert department_login(client, "chen.jing", department="tax").status_code == 303
    return person


def userinfo(http, tokens) -> dict:
    response = http.get("/userinfo", headers=bearer(tokens["access_token"]))
    return response.get_json() | {"_status": response.status_code}


# --- claims --------------------------------------------------------------------------------------

def test_department_scope_releases_department_and_roles(client, staff_member, make_client):
    rp = make_client(scope="openid profile department", first_party=True)
    tokens = Flow(client, rp, scope="openid profile department").tokens()
    info = userinfo(client, tokens)
    assert info["department"] == "tax" and info["roles"] == ["tax_inspector"]
    assert "employee_number" not in info            # this client is not allowed it
    without = userinfo(client, Flow(client, rp, scope="openid profile").tokens())
    assert "department" not in without and "roles" not in without


def test_roles_in_the_id_token_when_asked_for(client, staff_member, make_client):
    rp = make_client(scope="openid department", first_party=True)
    claims = json.dumps({"id_token": {"roles": None, "department": None}})
    tokens = Flow(client, rp, scope="openid department").tokens(claims=claims)
    keys = KeySet.import_key_set(client.get("/jwks").get_json())
    id_token = jwt.decode(tokens["id_token"], keys, algorithms=["RS256"]).claims
    assert id_token["roles"] == ["tax_inspector"] and id_token["department"] == "tax"


def test_employee_number_only_for_allowed_clients(app, fakes, make_person, make_client):
    person = make_person()
    http = app.test_client()
    login(http, person.username)
    assert "is linked" in link_account(http, "zhang.wei", department="finance").get_data(
        as_text=True)
    allowed = make_client(scope="openid department", first_party=True,
                          release_employee_number=True)
    info = userinfo(http, Flow(http, allowed, scope="openid department").tokens())
    assert info["employee_number"] == "E-zhang.wei"
    assert info["roles"] == ["finance_approver"] and info["department"] == "finance"


def test_department_scope_is_consented(client, staff_member, make_client):
    rp = make_client(scope="openid department")
    page = follow_local(client, Flow(client, rp, scope="openid department").authorize(),
                        consent=False)
    assert page.status_code == 200 and page.request.path.startswith("/consent/")
    page = client.get(page.request.path, headers=ENGLISH)
    assert "Your department and staff roles" in page.get_data(as_text=True)


def test_person_without_directory_account_gets_no_department_claims(client, make_person,
                                                                    make_client, fakes):
    from ..helpers import signed_in

    signed_in(client, make_person)
    rp = make_client(scope="openid department", first_party=True)
    info = userinfo(client, Flow(client, rp, scope="openid department").tokens())
    assert info["_status"] == 200 and "department" not in info and "roles" not in info


# --- sync ----------------------------------------------------------------------------------------

def sync(app, *args):
    return app.test_cli_runner().invoke(args=["directory", "sync", *args])


def test_sync_updates_attributes_and_roles(app, client, fakes, staff_member, make_client):
    fakes["tax"].change(CHEN, display_name="陈静（调岗）", groups=())
    result = sync(app)
    assert result.exit_code == 0, result.output
    assert "tax: ok" in result.output and "roles_changed=1" in result.output
    with app.app_context():
        account = db.session.scalar(select(DirectoryAccount))
        assert account.display_name == "陈静（调岗）" and account.roles == []
        assert db.session.get(DirectoryHealth, "tax").sync_cursor
    # incremental: nothing changed since, nothing updated
    assert "updated=0" in sync(app).output.split("tax:")[1]


def test_disabled_entry_loses_its_sessions_and_tokens(app, client, fakes, staff_member,
                                                     make_client):
    rp = make_client(scope="openid department", first_party=True)
    tokens = Flow(client, rp, scope="openid department").tokens()
    fakes["tax"].change(CHEN, state="disabled")
    result = sync(app, "--directory", "tax")
    assert result.exit_code == 0 and "sessions_ended=1" in result.output
    with app.app_context():
        session = db.session.scalar(select(SsoSession))
        assert session.ended_at is not None and session.end_reason == "directory_disabled"
        assert db.session.scalar(select(AccessToken)).revoked_at is not None
        assert db.session.scalar(select(DirectoryAccount)).entry_state == "disabled"
    assert userinfo(client, tokens)["_status"] == 401
    silent = Flow(client, rp, scope="openid department").authorize(prompt="none")
    assert query(silent)["error"] == "login_required"
    refused = department_login(client, "chen.jing", department="tax")
    assert refused.status_code == 400


def test_deleted_entry_loses_its_sessions(app, client, fakes, staff_member):
    fakes["tax"].delete(CHEN)
    result = sync(app)
    assert "deleted=1" in result.output and "sessions_ended=1" in result.output
    with app.app_context():
        assert db.session.scalar(select(DirectoryAccount)).entry_state == "deleted"


def test_disabled_entry_seen_at_login_ends_its_other_sessions(app, client, fakes,
                                                             staff_member):
    fakes["tax"].change(CHEN, state="disabled")
    other_browser = app.test_client()
    assert department_login(other_browser, "chen.jing", department="tax").status_code == 400
    with app.app_context():
        assert db.session.scalar(select(SsoSession)).end_reason == "directory_disabled"


def test_one_directory_down_never_stops_the_others(app, client, fakes, staff_member):
    fakes["finance"].available = False
    fakes["tax"].change(CHEN, display_name="新名字")
    result = sync(app)
    assert result.exit_code == 1
    assert "finance: FAILED" in result.output and "tax: ok" in result.output
    with app.app_context():
        assert db.session.scalar(select(DirectoryAccount)).display_name == "新名字"
        assert db.session.get(DirectoryHealth, "finance").last_sync_error


def test_status_shows_each_directory(app, client, fakes, staff_member):
    fakes["finance"].available = False
    runner = app.test_cli_runner()
    result = runner.invoke(args=["directory", "status", "--check", "--json"])
    rows = {r["directory"]: r for r in json.loads(result.output)}
    assert rows["tax"]["healthy"] and rows["tax"]["latency_ms"] is not None
    assert rows["tax"]["server"] == "memory://tax" and rows["tax"]["accounts"] == 1
    assert not rows["finance"]["healthy"] and "switched off" in rows["finance"]["last_error"]
    text = runner.invoke(args=["directory", "status"]).output
    assert "tax (市税务局): ok" in text and "finance (市财政局): UNHEALTHY" in text


def test_no_password_or_number_in_the_audit_trail(app, client, fakes, staff_member):
    from idp.models import AuditEvent

    department_login(app.test_client(), "chen.jing", "a-wrong-password", department="tax")
    with app.app_context():
        dump = json.dumps([r.detail for r in db.session.scalars(select(AuditEvent))],
                          ensure_ascii=False)
    assert "a-wrong-password" not in dump and ID_NUMBER not in dump


def test_status_page_for_admins_only(app, client, fakes, make_person):
    from idp.clock import utcnow
    from idp.models import PersonRole

    from ..helpers import as_two_factor, signed_in

    assert client.get("/directory/status").headers["Location"].startswith("/login?next=")
    person = signed_in(client, make_person)
    assert client.get("/directory/status").status_code == 403
    with app.app_context():
        db.session.add(PersonRole(person_id=person.id, role="system_admin", granted_at=utcnow()))
        db.session.commit()
    # A role holder at AAL1 is turned away with a 403 saying what is missing...
    assert client.get("/directory/status").status_code == 403
    as_two_factor(app, person)          # ...and let in once signed in with two factors.
    fakes["tax"].available = False
    assert department_login(app.test_client(), "chen.jing", department="tax").status_code == 503
    page = client.get("/directory/status", headers=ENGLISH)
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert "市税务局 <code>tax</code>: <span class=\"message error\">not working" in text
    assert "市财政局 <code>finance</code>: not checked yet" in text
    assert "switched off" in text
