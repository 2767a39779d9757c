"""三员分立: each role reaches only its pages and APIs; administrators need AAL2; nobody grants
themselves a role; every console action is audited."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from idp.clock import utcnow
from idp.extensions import db
from idp.models import AuditEvent, LogoutDelivery, PersonRole

from ..helpers import csrf_token
from ..sessions_helpers import AAL1, give_role, officer, open_session, use_session

SEC, SYS, AUD = "security_officer", "system_admin", "auditor"

PAGES = [
    ("/admin/", {SEC, SYS, AUD}),
    ("/admin/overview", {SEC}),
    ("/admin/sessions", {SEC}),
    ("/admin/accounts", {SEC}),
    ("/admin/accounts/{person}", {SEC}),
    ("/admin/deliveries", {SEC, SYS}),
    ("/admin/clients", {SYS}),
    ("/admin/keys", {SYS}),
    ("/admin/audit", {AUD}),
    ("/admin/audit/export?format=csv", {AUD}),
    ("/admin/api/sessions", {SEC}),
    ("/admin/api/overview", {SEC}),
    ("/admin/api/deliveries", {SEC, SYS}),
    ("/admin/api/clients", {SYS}),
    ("/admin/api/audit", {AUD}),
]
ACTIONS = [
    ("/admin/sessions/{sid}/end", {SEC}),
    ("/admin/api/sessions/{sid}/end", {SEC}),
    ("/admin/persons/{person}/sessions/end", {SEC}),
    ("/admin/clients/{client}/sessions/end", {SEC}),
    ("/admin/accounts/{person}/lock", {SEC}),
    ("/admin/accounts/{person}/unlock", {SEC}),
    ("/admin/accounts/{person}/require-password-reset", {SEC}),
    ("/admin/deliveries/{delivery}/retry", {SEC, SYS}),
    ("/admin/clients/{client}/disable", {SYS}),
    ("/admin/clients/{client}/enable", {SYS}),
]
WHO = [SEC, SYS, AUD, "hall_officer", None]


@pytest.fixture
def targets(app, make_person, make_client):
    citizen = make_person()
    rp = make_client()
    sid, _cookie = open_session(app, citizen)
    with app.app_context():
        delivery = LogoutDelivery(client_id=rp.id, person_id=citizen.id, sid=sid, sub="x",
                                  reason="logout", uri="http://127.0.0.1:9/", state="failed",
                                  attempts=1, created_at=utcnow(), next_attempt_at=utcnow())
        db.session.add(delivery)
        db.session.commit()
        return {"person": citizen.id, "sid": sid, "client": rp.client_id,
                "delivery": delivery.id}


def as_(app, client, make_person, role):
    if role is None:
        person = make_person()
        use_session(client, app, open_session(app, person)[1])
        return person
    return officer(app, client, make_person, role)


def test_every_console_route_is_in_the_matrix(app):
    listed = {p.split("?")[0] for p, _ in PAGES} | {p for p, _ in ACTIONS}
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith("/admin"):
            normalised = rule.rule.replace("<int:person_id>", "{person}").replace(
                "<sid>", "{sid}").replace("<client_id>", "{client}").replace(
                "<int:delivery_id>", "{delivery}")
            assert normalised in listed, rule.rule
            assert getattr(app.view_functions[rule.endpoint], "required_roles", None), rule


@pytest.mark.parametrize("role", WHO)
def test_each_role_reaches_only_its_pages(app, client, make_person, targets, role):
    as_(app, client, make_person, role)
    for path, allowed in PAGES:
        response = client.get(path.format(**targets))
        response.get_data()  # a streamed export runs to its end
        response.close()
        if role in allowed:
            assert response.status_code == 200, (role, path)
        else:
            assert response.status_code == 403, (role, path)
            if "/api/" in path:
                assert response.get_json() == {"error": "role_required"}
            else:
                assert 'data-refusal="role_required"' in response.get_data(as_text=True)


@pytest.mark.parametrize("role", WHO)
def test_each_role_may_do_only_its_actions(app, client, make_person, targets, role):
    me = as_(app, client, make_person, role)
    token = csrf_token(client.get("/login").get_data(as_text=True))
    for path, allowed in ACTIONS:
        response = client.post(path.format(**targets), data={"csrf_token": token},
                               headers={"X-CSRFToken": token})
        if role in allowed:
            assert response.status_code in (200, 303), (role, path, response.status_code)
        else:
            assert response.status_code == 403, (role, path)
    with app.app_context():
        actions = db.session.scalars(select(AuditEvent.event).where(
            AuditEvent.actor_id == me.id, AuditEvent.event != "admin.refused")).all()
        refused = db.session.scalars(select(AuditEvent.detail).where(
            AuditEvent.actor_id == me.id, AuditEvent.event == "admin.refused")).all()
    expected_refusals = sum(role not in allowed for _, allowed in ACTIONS)
    assert len(refused) == expected_refusals
    if role == SEC:
        assert {"session.ended", "sessions.ended", "account.locked", "account.unlocked",
                "account.password_reset_required", "logout.requeued"} <= set(actions)
    if role == SYS:
        assert {"client.disabled", "client.enabled", "logout.requeued"} <= set(actions)


def test_actions_need_csrf(app, client, make_person, targets):
    officer(app, client, make_person, SEC)
    response = client.post(f"/admin/sessions/{targets['sid']}/end")
    assert response.status_code == 400


@pytest.mark.parametrize("path", ["/admin/sessions", "/admin/api/sessions"])
def test_aal1_is_not_enough(app, client, make_person, path):
    officer(app, client, make_person, SEC, acr=AAL1)
    response = client.get(path)
    assert response.status_code == 403
    if "/api/" in path:
        assert response.get_json() == {"error": "aal2_required"}
    else:
        assert 'data-refusal="aal2_required"' in response.get_data(as_text=True)


def test_unknown_acr_is_not_enough(app, client, make_person):
    officer(app, client, make_person, AUD, acr="urn:example:strong")
    assert client.get("/admin/audit").status_code == 403


def test_old_authentication_must_be_renewed(app, client, make_person, frozen_clock):
    officer(app, client, make_person, AUD)
    frozen_clock.advance(13 * 3600)
    with app.app_context():
        # Keep the session itself alive: only the authentication is old.
        from idp.models import SsoSession

        for row in db.session.scalars(select(SsoSession)):
            row.last_seen_at = utcnow()
            row.expires_at = utcnow().replace(year=utcnow().year + 1)
        db.session.commit()
    response = client.get("/admin/audit")
    assert response.status_code == 403
    assert 'data-refusal="login_again"' in response.get_data(as_text=True)


def test_idle_console_session_must_be_renewed(app, client, make_person, frozen_clock):
    officer(app, client, make_person, AUD)
    frozen_clock.advance(14 * 60)
    assert client.get("/admin/audit").status_code == 200
    frozen_clock.advance(14 * 60)  # active 14 minutes ago: still fine
    assert client.get("/admin/audit").status_code == 200
    frozen_clock.advance(16 * 60)
    response = client.get("/admin/audit")
    assert response.status_code == 403
    assert 'data-refusal="login_again"' in response.get_data(as_text=True)


def test_not_signed_in(client):
    assert client.get("/admin/audit").status_code == 302
    assert client.get("/admin/api/audit").status_code == 401


def test_page_views_are_audited(app, client, make_person):
    me = officer(app, client, make_person, AUD)
    client.get("/admin/audit", query_string={"event": "login.failed"})
    with app.app_context():
        viewed = db.session.scalar(select(AuditEvent).where(AuditEvent.event == "admin.viewed",
                                                           AuditEvent.actor_id == me.id))
    assert viewed.detail == {"page": "admin.audit_page", "query": {"event": "login.failed"}}


# --- granting roles -------------------------------------------------------------------------

def grant(app, *args):
    return app.test_cli_runner().invoke(args=["roles", "grant", *args])


def test_grant_and_revoke_are_audited(app, make_person):
    boss, alice = make_person(), make_person()
    result = grant(app, alice.username, AUD, "--by", boss.username)
    assert result.exit_code == 0, result.output
    with app.app_context():
        row = db.session.scalar(select(PersonRole).where(PersonRole.person_id == alice.id))
        assert (row.role, row.granted_by) == (AUD, boss.id)
        event = db.session.scalar(select(AuditEvent).where(AuditEvent.event == "role.granted"))
        assert (event.person_id, event.actor_id, event.detail["role"]) == (alice.id, boss.id, AUD)
    result = app.test_cli_runner().invoke(args=["roles", "revoke", alice.username, AUD,
                                                "--by", boss.username])
    assert result.exit_code == 0, result.output
    with app.app_context():
        assert db.session.scalar(select(PersonRole)) is None
        assert db.session.scalar(select(AuditEvent).where(AuditEvent.event == "role.revoked"))


def test_nobody_grants_themselves_a_role(app, make_person):
    alice = make_person()
    give_role(app, alice, SYS)
    result = grant(app, alice.username, AUD, "--by", alice.username)
    assert result.exit_code == 1
    assert "nobody grants a role to themselves" in result.output


@pytest.mark.parametrize("held,wanted", [(SYS, AUD), (AUD, SEC), (SEC, SYS)])
def test_the_three_roles_are_separate_people(app, make_person, held, wanted):
    boss, alice = make_person(), make_person()
    give_role(app, alice, held)
    result = grant(app, alice.username, wanted, "--by", boss.username)
    assert result.exit_code == 1 and "separate people" in result.output


def test_no_console_page_grants_roles(app):
    for rule in app.url_map.iter_rules():
        assert "role" not in rule.rule.lower(), rule.rule
