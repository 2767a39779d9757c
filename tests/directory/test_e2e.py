"""End to end against the real slapd: a staff member signs in at portal A with their department
account, reaches portal B without a password, and carries their roles in the ID token; once
their entry is disabled and `flask directory sync` runs, the session is gone and the next
login is refused."""

from __future__ import annotations

import json
import time

import pytest
from joserfc import jwt
from joserfc.jwk import KeySet
from sqlalchemy import select

from idp.extensions import db
from idp.models import SsoSession

from ..helpers import Flow, bearer, csrf_token, follow_local, login, query
from . import slapd as S
from .fakes import ENGLISH, link_account, verify_number

STAFF_DN = f"uid=f000020,{S.FINANCE_PEOPLE}"   # a member of cn=auditors


@pytest.fixture
def settings_overrides(directories_file):
    return {"directories": str(directories_file)}


def portal(make_client, name):
    return make_client(name=name, scope="openid profile department", first_party=True,
                       redirect_uris=(f"https://{name}.example/cb",))


def id_token_claims(http, tokens) -> dict:
    keys = KeySet.import_key_set(http.get("/jwks").get_json())
    return jwt.decode(tokens["id_token"], keys, algorithms=["RS256"]).claims


def department_login_via(http, response, account, department):
    """From an authorization request that needs a login: follow to the login page, take the
    department link, sign in there, and follow back to the portal."""
    page = follow_local(http, response)
    assert page.request.path == "/login", page.status_code
    html = page.get_data(as_text=True)
    start = html.index('href="/login/department?next=') + len('href="')
    link = html[start:html.index('"', start)].replace("&amp;", "&")
    form = http.get(link, headers=ENGLISH)
    done = http.post(link, headers=ENGLISH, data={
        "csrf_token": csrf_token(form.get_data(as_text=True)), "department": department,
        "account": "f000020" if department == "finance" else "chen.jing",
        "password": S.STAFF_PASSWORD})
    assert done.status_code == 303, done.get_data(as_text=True)[:2000]
    return follow_local(http, done)


def test_staff_single_sign_on_roles_and_disable(app, make_person, make_client, slapd):
    a, b = portal(make_client, "portal-a"), portal(make_client, "portal-b")
    person = make_person()
    # Once: the person links the department account by proving both.
    setup = app.test_client()
    login(setup, person.username)
    assert "is linked" in link_account(setup, "f000020", S.STAFF_PASSWORD, "finance").get_data(
        as_text=True)

    browser = app.test_client()
    flow_a = Flow(browser, a, scope="openid profile department")
    back = department_login_via(browser, flow_a.authorize(), "f000020", "finance")
    tokens_a = flow_a.token(query(back)["code"]).get_json()
    assert id_token_claims(browser, tokens_a)["sub"] == person.sub

    # Portal B: no password, roles in the ID token.
    flow_b = Flow(browser, b, scope="openid profile department")
    tokens_b = flow_b.tokens(claims=json.dumps({"id_token": {"roles": None,
                                                             "department": None}}))
    claims = id_token_claims(browser, tokens_b)
    assert claims["sub"] == person.sub and claims["sid"] == id_token_claims(browser,
                                                                            tokens_a)["sid"]
    assert claims["roles"] == ["finance_auditor"] and claims["department"] == "finance"
    info = browser.get("/userinfo", headers=bearer(tokens_b["access_token"])).get_json()
    assert info["roles"] == ["finance_auditor"]

    runner = app.test_cli_runner()
    first = runner.invoke(args=["directory", "sync", "--directory", "finance"])
    assert first.exit_code == 0 and "sessions_ended=0" in first.output, first.output
    # An administrator disables the entry (ppolicy's permanent lock).
    time.sleep(1.1)   # modifyTimestamp counts whole seconds
    slapd.modify(S.FINANCE, f"dn: {STAFF_DN}\nchangetype: modify\n"
                                      "add: pwdAccountLockedTime\n"
                                      "pwdAccountLockedTime: 000001010000Z\n")
    second = runner.invoke(args=["directory", "sync", "--directory", "finance"])
    assert second.exit_code == 0, second.output
    # both sessions the account took part in: the linking one and the single sign-on one
    assert "updated=1 disabled=1" in second.output and "sessions_ended=2" in second.output
    with app.app_context():
        assert db.session.scalar(select(SsoSession).where(
            SsoSession.person_id == person.id, SsoSession.ended_at.is_(None))) is None

    silent = flow_a.authorize(prompt="none")
    assert query(silent)["error"] == "login_required"
    assert browser.get("/userinfo", headers=bearer(tokens_b["access_token"])).status_code == 401
    again = department_login_via_page(browser, "f000020", "finance")
    assert again.status_code == 400
    assert "The department account or password is incorrect." in again.get_data(as_text=True)


def test_ad_staff_linked_by_verified_number(app, make_person, make_client):
    person = make_person()
    verify_number(app, person.id, S.CHEN_ID_NUMBER)
    rp = portal(make_client, "tax-portal")
    browser = app.test_client()
    flow = Flow(browser, rp, scope="openid department")
    back = department_login_via(browser, flow.authorize(), "chen.jing", "tax")
    tokens = flow.token(query(back)["code"]).get_json()
    info = browser.get("/userinfo", headers=bearer(tokens["access_token"])).get_json()
    assert info["sub"] == person.sub
    assert info["department"] == "tax" and info["roles"] == ["tax_inspector", "tax_staff"]


def department_login_via_page(http, account, department, password=S.STAFF_PASSWORD):
    page = http.get("/login/department", headers=ENGLISH)
    return http.post("/login/department", headers=ENGLISH, data={
        "csrf_token": csrf_token(page.get_data(as_text=True)), "department": department,
        "account": account, "password": password})


class TestOutage:
    @pytest.fixture
    def settings_overrides(self, tmp_path, slapd, slapd_replica, ldap_pki,
                           service_password_file):
        path = tmp_path / "directories.toml"
        path.write_text(S.directories_toml(slapd, ldap_pki, service_password_file,
                                           finance_urls=[slapd_replica.ldap_url],
                                           receive_timeout=1))
        return {"directories": str(path)}

    def test_outage_message_then_recovery_elsewhere(self, app, slapd_replica):
        browser = app.test_client()
        slapd_replica.pause()
        started = time.monotonic()
        down = department_login_via_page(browser, "zhang.wei", "finance")
        assert time.monotonic() - started < 5
        assert down.status_code == 503
        page = down.get_data(as_text=True)
        assert "Your department's directory is unavailable right now." in page
        assert "incorrect" not in page
        # the other directory is unaffected
        tax = department_login_via_page(browser, "chen.jing", "tax", "wrong-password")
        assert tax.status_code == 400
        slapd_replica.stop()
        assert department_login_via_page(browser, "zhang.wei", "finance").status_code == 503
