"""The developer portal through its pages: organisations and invitations, registering and
changing clients, the system admin's approval queue, initial access tokens, test accounts,
secret rotation, the integration page and its test login."""

import re

import pytest
from sqlalchemy import select

from ..conftest import PASSWORD
from ..helpers import csrf_token, follow_local, login, signed_in
from ..registration_fixtures import client_row, grant_role


def post(http, path, data=None, page=None):
    page = page or http.get("/developer/")
    token = csrf_token(page.get_data(as_text=True))
    return http.post(path, data={"csrf_token": token, **(data or {})})


def found(pattern, response) -> str:
    match = re.search(pattern, response.get_data(as_text=True))
    assert match, f"{pattern!r} not on the page"
    return match.group(1)


@pytest.fixture
def developer(client, make_person):
    return signed_in(client, make_person, username="developer")


@pytest.fixture
def org_id(client, developer):
    response = post(client, "/developer/organisations", {"name": "市社保局", "kind": "department"})
    assert response.status_code == 303
    return int(response.headers["Location"].rsplit("/", 1)[1])


WEB_FORM = {"name": "社保查询", "client_type": "web", "environment": "production",
            "redirect_uris": "https://rp.example/cb", "scope_openid": "1", "scope_profile": "1",
            "auth_method": "client_secret_basic", "subject_type": "public",
            "contact": "ops@rp.example"}


def register_client(http, org_id, **changes):
    return post(http, f"/developer/o/{org_id}/clients/new", {**WEB_FORM, **changes})


def test_pages_need_a_signed_in_person(client):
    response = client.get("/developer/")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_portal_pages_render_in_chinese_and_english(client, org_id):
    for lang in ("zh_CN", "en"):
        page = client.get(f"/developer/o/{org_id}?lang={lang}")
        assert page.status_code == 200
        text = page.get_data(as_text=True)
        assert ("注册客户端" in text) if lang == "zh_CN" else ("Register a client" in text)


def test_only_members_see_an_organisation_and_its_clients(app, client, org_id, make_person):
    created = register_client(client, org_id)
    client_id = found(r'id="client-id">([^<]+)<', created)
    stranger = app.test_client()
    signed_in(stranger, make_person)
    for path in (f"/developer/o/{org_id}", f"/developer/c/{client_id}",
                 f"/developer/c/{client_id}/integration", f"/developer/c/{client_id}/edit"):
        assert stranger.get(path).status_code == 400, path


def test_invitation_links_work_once(app, client, org_id, make_person):
    page = post(client, f"/developer/o/{org_id}/invitations", {"note": "张工"})
    link = found(r'id="invitation-link">([^<]+)<', page)
    colleague = app.test_client()
    signed_in(colleague, make_person)
    joined = post(colleague, link)
    assert joined.status_code == 303
    assert colleague.get(f"/developer/o/{org_id}").status_code == 200
    third = app.test_client()
    signed_in(third, make_person)
    assert third.get(link).status_code == 404


def test_test_accounts_cannot_join_or_administer(app, client, org_id):
    created = post(client, f"/developer/o/{org_id}/test-accounts",
                   {"username": "tester1", "password": PASSWORD, "display_name": "测试"})
    assert created.status_code == 200
    link = found(r'id="invitation-link">([^<]+)<',
                 post(client, f"/developer/o/{org_id}/invitations"))
    tester = app.test_client()
    login(tester, "tester1")
    assert post(tester, link).status_code == 400
    with app.app_context():
        from idp.authz import has_role
        from idp.extensions import db
        from idp.models import Person, PersonRole

        person = db.session.scalar(select(Person).where(Person.username == "tester1"))
        db.session.add(PersonRole(person_id=person.id, role="system_admin",
                                  granted_at=person.created_at))
        db.session.commit()
        assert not has_role(person, "system_admin")
    assert tester.get("/developer/admin/requests").status_code == 403


def test_register_shows_problems_in_words(client, org_id):
    client.get("/developer/?lang=en")
    response = register_client(client, org_id, redirect_uris="https://rp.example/cb#top\n"
                               "JaVaScRiPt:alert(1)", logo_uri="http://rp.example/logo.png",
                               sensitive_id_number="1")
    assert response.status_code == 400
    text = response.get_data(as_text=True)
    for message in ("cannot contain a # fragment", "This kind of address is not allowed",
                    "Use an https:// address", 'id="sensitive_purpose-error"'):
        assert message in text


def test_production_client_waits_for_a_system_admin(app, client, org_id, make_person):
    from idp.models import AuditEvent

    created = register_client(client, org_id)
    assert created.status_code == 200
    secret = found(r'id="client-secret">([^<]+)<', created)
    client_id = found(r'id="client-id">([^<]+)<', created)
    assert secret.startswith("tbs_")
    # Shown once: the client's page never shows it again.
    assert secret not in client.get(f"/developer/c/{client_id}").get_data(as_text=True)
    assert client_row(app, client_id).status == "pending"

    # The developer is no admin; an admin may not decide their own request either.
    assert client.get("/developer/admin/requests").status_code == 403
    admin = app.test_client()
    admin_person = signed_in(admin, make_person, username="sysadmin")
    assert admin.get("/developer/admin/requests").status_code == 403
    grant_role(app, admin_person)
    queue = admin.get("/developer/admin/requests")
    assert client_id in queue.get_data(as_text=True)
    request_path = found(r'href="(/developer/admin/requests/\d+)"', queue)
    detail = admin.get(request_path)
    assert "https://rp.example/cb" in detail.get_data(as_text=True)
    no_reason = post(admin, request_path, {"decision": "reject", "reason": " "}, page=detail)
    assert no_reason.status_code == 400
    approved = post(admin, request_path, {"decision": "approve"}, page=detail)
    assert approved.status_code == 303
    assert client_row(app, client_id).status == "active"
    again = post(admin, request_path, {"decision": "approve"}, page=detail)
    assert again.status_code == 400
    with app.app_context():
        from idp.extensions import db

        events = [e.event for e in db.session.scalars(select(AuditEvent).where(
            AuditEvent.client_id == client_id))]
    assert {"client.created", "client_request.submitted", "client_request.approved"} <= set(
        events)


def test_nobody_approves_their_own_request(app, client, org_id, developer):
    created = register_client(client, org_id)
    client_id = found(r'id="client-id">([^<]+)<', created)
    grant_role(app, developer)
    queue = client.get("/developer/admin/requests")
    path = found(r'href="(/developer/admin/requests/\d+)"', queue)
    refused = post(client, path, {"decision": "approve"})
    assert refused.status_code == 400
    assert client_row(app, client_id).status == "pending"


def _approved_client(app, client, org_id, make_person, **changes):
    created = register_client(client, org_id, **changes)
    client_id = found(r'id="client-id">([^<]+)<', created)
    secret = found(r'id="client-secret">([^<]+)<', created)
    admin = app.test_client()
    grant_role(app, signed_in(admin, make_person, username=f"admin{client_id[-4:].lower()}"
                              .replace("-", "x").replace("_", "x")))
    path = found(r'href="(/developer/admin/requests/\d+)"', admin.get("/developer/admin/requests"))
    assert post(admin, path, {"decision": "approve"}).status_code == 303
    return client_id, secret, admin


def test_widening_changes_wait_narrowing_ones_apply(app, client, org_id, make_person):
    client_id, _secret, admin = _approved_client(app, client, org_id, make_person,
                                                 scope_email="1")
    edit = f"/developer/c/{client_id}/edit"
    narrower = post(client, edit, {**WEB_FORM, "name": "社保查询（新）", "scope_email": ""})
    assert "Your changes are in force" in narrower.get_data(as_text=True) or \
        "您的修改已生效" in narrower.get_data(as_text=True)
    assert client_row(app, client_id).scope == "openid profile"
    wider = post(client, edit, {**WEB_FORM, "redirect_uris": "https://rp.example/cb\n"
                                "https://rp.example/cb2", "scope_phone": "1"})
    assert wider.status_code == 200
    row = client_row(app, client_id)
    assert row.redirect_uris == ["https://rp.example/cb"] and "phone" not in row.scope
    path = found(r'href="(/developer/admin/requests/\d+)"', admin.get("/developer/admin/requests"))
    detail = admin.get(path).get_data(as_text=True)
    assert "https://rp.example/cb2" in detail and 'class="widened"' in detail
    rejected = post(admin, path, {"decision": "reject", "reason": "cb2 不属于该单位"})
    assert rejected.status_code == 303
    assert client_row(app, client_id).redirect_uris == ["https://rp.example/cb"]
    assert "cb2 不属于该单位" in client.get(f"/developer/c/{client_id}").get_data(as_text=True)


def test_sandbox_clients_work_at_once_and_ask_to_go_live(app, client, org_id, make_person):
    created = register_client(client, org_id, environment="sandbox")
    client_id = found(r'id="client-id">([^<]+)<', created)
    assert client_row(app, client_id).status == "active"
    assert client_row(app, client_id).environment == "sandbox"
    promoted = post(client, f"/developer/c/{client_id}/promote",
                    page=client.get(f"/developer/c/{client_id}"))
    assert promoted.status_code == 200
    assert client_row(app, client_id).environment == "sandbox"
    admin = app.test_client()
    grant_role(app, signed_in(admin, make_person, username="sysadmin"))
    path = found(r'href="(/developer/admin/requests/\d+)"', admin.get("/developer/admin/requests"))
    assert post(admin, path, {"decision": "approve"}).status_code == 303
    assert client_row(app, client_id).environment == "production"


def test_secret_rotation_from_the_portal(app, client, org_id, make_person):
    from ..helpers import basic

    client_id, old, _admin = _approved_client(app, client, org_id, make_person)
    page = client.get(f"/developer/c/{client_id}")
    rotated = post(client, f"/developer/c/{client_id}/secret", {"overlap": "3600"}, page=page)
    new = found(r'id="client-secret">([^<]+)<', rotated)
    assert new != old
    for secret in (old, new):
        response = client.post("/token", data={"grant_type": "authorization_code",
                                                "code": "x", "redirect_uri": "https://rp.example/cb"},
                               headers=basic(client_id, secret))
        assert response.get_json()["error"] == "invalid_grant"     # authenticated
    page = client.get(f"/developer/c/{client_id}")
    post(client, f"/developer/c/{client_id}/secret/end-overlap", page=page)
    response = client.post("/token", data={"grant_type": "authorization_code", "code": "x",
                                           "redirect_uri": "https://rp.example/cb"},
                           headers=basic(client_id, old))
    assert response.get_json()["error"] == "invalid_client"


def test_initial_access_tokens_from_the_portal(client, org_id):
    page = post(client, f"/developer/o/{org_id}/tokens",
                {"label": "CI", "environment": "sandbox", "max_uses": "2", "days": "3"})
    token = found(r'id="new-token">([^<]+)<', page)
    response = client.post("/connect/register", json={"client_name": "x",
                                                      "redirect_uris": ["https://a.example/cb"]},
                           headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 201
    assert response.get_json()["approval_status"] == "active"
    bad = post(client, f"/developer/o/{org_id}/tokens", {"environment": "staging"})
    assert bad.status_code == 400


def test_integration_page_has_code_generated_for_the_client(app, client, org_id):
    created = register_client(client, org_id, environment="sandbox")
    client_id = found(r'id="client-id">([^<]+)<', created)
    page = client.get(f"/developer/c/{client_id}/integration")
    text = page.get_data(as_text=True)
    assert "http://127.0.0.1:5000/.well-known/openid-configuration" in text
    for kind in ("web", "spa", "native", "mini_program"):
        assert f'id="sample-{kind}"' in text
    with app.test_request_context():
        from idp.developer.integration_views import samples_for
        from idp.extensions import db
        from idp.models import Client

        row = db.session.scalar(select(Client).where(Client.client_id == client_id))
        samples = {s["kind"]: s["code"] for s in samples_for(row)}
    assert client_id in samples["web"] and "https://rp.example/cb" in samples["web"]
    for kind in ("web", "mini_program"):
        compile(samples[kind], f"{kind}.py", "exec")


def test_test_login_shows_the_decoded_tokens(app, client, org_id, developer):
    created = register_client(client, org_id, environment="sandbox")
    client_id = found(r'id="client-id">([^<]+)<', created)
    post(client, f"/developer/o/{org_id}/test-accounts",
         {"username": "tester1", "password": PASSWORD, "display_name": "测试用户"})
    page = client.get(f"/developer/c/{client_id}/integration")
    started = post(client, f"/developer/c/{client_id}/test-login", page=page)
    assert started.status_code == 303
    to_login = client.get(started.headers["Location"])
    assert to_login.headers["Location"].startswith("/login")
    next_path = to_login.headers["Location"]
    login_page = client.get(next_path)
    logged_in = client.post(next_path, data={"csrf_token": csrf_token(login_page.get_data(
        as_text=True)), "account": "tester1", "password": PASSWORD})
    done = follow_local(client, logged_in)
    assert done.status_code == 303, done.get_data(as_text=True)[:300]
    callback = done.headers["Location"]
    assert callback.startswith("http://127.0.0.1:5000/developer/test-login/callback")
    shown = client.get(callback.removeprefix("http://127.0.0.1:5000"))
    assert shown.status_code == 200, shown.get_data(as_text=True)[:500]
    text = shown.get_data(as_text=True)
    assert 'id="id-token-claims"' in text and client_id in text and "测试用户" in text
    # The code was for this page only: a replay, or a callback without the cookie, gets nothing.
    assert client.get(callback.removeprefix("http://127.0.0.1:5000")).status_code == 400
    other = app.test_client()
    assert other.get(callback.removeprefix("http://127.0.0.1:5000")).status_code == 400
    assert "http://127.0.0.1:5000/developer/test-login/callback" in client_row(
        app, client_id).redirect_uris


def test_operator_grants_the_system_admin_role(app, make_person):
    from idp.authz import has_role
    from idp.extensions import db
    from idp.models import Person

    make_person(username="opsadmin")
    result = app.test_cli_runner().invoke(args=["users", "grant-role", "opsadmin",
                                                "system_admin"])
    assert result.exit_code == 0, result.output
    with app.app_context():
        person = db.session.scalar(select(Person).where(Person.username == "opsadmin"))
        assert has_role(person, "system_admin")
    missing = app.test_cli_runner().invoke(args=["users", "grant-role", "nobody",
                                                 "system_admin"])
    assert missing.exit_code != 0
