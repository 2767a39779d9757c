"""Operator commands: `flask --app wsgi clients create|list|disable` and `users create`."""

import hashlib
import json
from types import SimpleNamespace

import pytest
from sqlalchemy import select

from idp.extensions import db
from idp.models import AuditEvent, Client, Person

from .helpers import login, token_call


@pytest.fixture
def cli(app):
    runner = app.test_cli_runner()

    def invoke(*args, **kwargs):
        return runner.invoke(args=list(args), **kwargs)

    return invoke


def create_json(cli, *args) -> dict:
    result = cli("clients", "create", "--json", *args)
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def test_clients_create_json_shows_the_secret_once(app, cli):
    created = create_json(cli, "--name", "Portal A", "--redirect-uri", "https://a.example/cb",
                          "--post-logout-redirect-uri", "https://a.example/bye")
    client_id, secret = created["client_id"], created["client_secret"]
    assert client_id.startswith("tbc_") and secret.startswith("tbs_")
    assert created["redirect_uris"] == ["https://a.example/cb"]
    assert created["post_logout_redirect_uris"] == ["https://a.example/bye"]
    assert created["type"] == "web" and created["status"] == "active"
    with app.app_context():
        row = db.session.execute(select(Client.__table__)).one()
        audit = db.session.scalars(select(AuditEvent)).all()
        assert db.session.scalar(select(Client)).secret_hash == hashlib.sha256(
            secret.encode()).hexdigest()
    # Stored only as a hash, and never shown again.
    assert secret not in repr(tuple(row))
    assert all(secret not in json.dumps(e.detail) for e in audit)
    listed = cli("clients", "list", "--json")
    assert secret not in listed.output
    assert "client_secret" not in json.loads(listed.output)[0]


def test_clients_create_plain_output(cli):
    result = cli("clients", "create", "--name", "Portal B", "--redirect-uri",
                 "https://b.example/cb")
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].startswith("client_id:     tbc_")
    assert lines[1].startswith("client_secret: tbs_") and "shown once" in lines[1]


def test_public_clients_get_no_secret(cli):
    created = create_json(cli, "--name", "App", "--type", "native", "--redirect-uri",
                          "http://127.0.0.1/callback")
    assert created["client_secret"] is None
    assert created["token_endpoint_auth_method"] == "none"
    assert created["require_pkce"] is True


@pytest.mark.parametrize("uri, problem", [
    ("http://rp.example/cb", "http only for native apps on 127.0.0.1 or [::1]"),
    ("javascript:alert(1)", "scheme not allowed"),
    ("JaVaScRiPt:alert(1)", "scheme not allowed"),
    ("https://rp.example/cb#top", "fragments (#...) are not allowed"),
    ("https://*.rp.example/cb", "wildcards (*) are not allowed"),
    ("https://good.example@evil.example/cb", "credentials (user@) are not allowed"),
    (" https://rp.example/cb", "spaces or control characters are not allowed"),
    ("/cb", "not an absolute URI"),
])
def test_clients_create_rejects_bad_redirect_uris(app, cli, uri, problem):
    result = cli("clients", "create", "--name", "Bad", "--redirect-uri", uri)
    assert result.exit_code == 1
    assert "client rejected:" in result.output
    assert f"redirect_uris: {uri!r}: {problem}" in result.output
    assert "Traceback" not in result.output
    with app.app_context():
        assert db.session.scalar(select(Client)) is None


def test_clients_create_rejects_bad_post_logout_uri(cli):
    result = cli("clients", "create", "--name", "Bad", "--redirect-uri", "https://rp.example/cb",
                 "--post-logout-redirect-uri", "javascript:alert(1)")
    assert result.exit_code == 1
    assert "post_logout_redirect_uris: 'javascript:alert(1)': scheme not allowed" in result.output


def test_clients_create_refuses_a_taken_client_id(cli):
    create_json(cli, "--name", "One", "--redirect-uri", "https://rp.example/cb",
                "--client-id", "fixed-id")
    result = cli("clients", "create", "--name", "Two", "--redirect-uri", "https://rp.example/cb",
                 "--client-id", "fixed-id")
    assert result.exit_code == 1
    assert "client_id: already exists" in result.output


def test_clients_list_json(cli):
    first = create_json(cli, "--name", "Portal A", "--redirect-uri", "https://a.example/cb")
    second = create_json(cli, "--name", "Back end", "--type", "service")
    result = cli("clients", "list", "--json")
    assert result.exit_code == 0, result.output
    rows = json.loads(result.output)
    assert [r["client_id"] for r in rows] == [first["client_id"], second["client_id"]]
    assert [r["type"] for r in rows] == ["web", "service"]
    assert rows[1]["grant_types"] == ["client_credentials"]


def test_clients_disable(app, client, cli):
    created = create_json(cli, "--name", "Back end", "--type", "service")
    rp = SimpleNamespace(client_id=created["client_id"], plain_secret=created["client_secret"])
    data = {"grant_type": "client_credentials"}
    assert token_call(client, rp, data).status_code == 200

    result = cli("clients", "disable", created["client_id"])
    assert result.exit_code == 0, result.output
    assert result.output.strip() == f"disabled {created['client_id']}"
    response = token_call(client, rp, data)
    assert response.status_code == 401
    assert response.get_json()["error"] == "invalid_client"
    listed = json.loads(cli("clients", "list", "--json").output)
    assert listed[0]["status"] == "disabled"
    with app.app_context():
        assert db.session.scalar(select(AuditEvent).where(
            AuditEvent.event == "client.disabled")).client_id == created["client_id"]


def test_clients_disable_unknown(cli):
    result = cli("clients", "disable", "tbc_nobody")
    assert result.exit_code == 1
    assert "no client tbc_nobody" in result.output


def test_users_create(app, client, cli):
    result = cli("users", "create", "--username", "Zhao.Liu", "--email", "zhao@example.cn",
                 "--phone", "13600136000", "--name", "赵六", "--password", "a sturdy passphrase")
    assert result.exit_code == 0, result.output
    assert result.output.startswith("created person zhao.liu (sub ")
    assert "a sturdy passphrase" not in result.output
    with app.app_context():
        person = db.session.scalar(select(Person))
        assert (person.username, person.phone, person.display_name) == (
            "zhao.liu", "13600136000", "赵六")
        assert person.password_hash.startswith("$argon2id$")
        event = db.session.scalar(select(AuditEvent).where(
            AuditEvent.event == "person.registered"))
        assert event.detail == {"via": "cli"}
    assert login(client, "13600136000", "a sturdy passphrase").status_code == 303


def test_users_create_prompts_for_the_password(app, cli):
    result = cli("users", "create", "--username", "prompted",
                 input="another sturdy passphrase\nanother sturdy passphrase\n")
    assert result.exit_code == 0, result.output
    assert "another sturdy passphrase" not in result.output
    with app.app_context():
        assert db.session.scalar(select(Person.username)) == "prompted"


@pytest.mark.parametrize("args, problem", [
    (["--username", "weak-one", "--password", "password1"], "'password': 'too_common'"),
    (["--username", "9bad", "--password", "a sturdy passphrase"], "'username': 'invalid'"),
    (["--username", "phone-one", "--phone", "123", "--password", "a sturdy passphrase"],
     "'phone': 'invalid'"),
])
def test_users_create_refuses(app, cli, args, problem):
    result = cli("users", "create", *args)
    assert result.exit_code == 1
    assert "refused:" in result.output and problem in result.output
    with app.app_context():
        assert db.session.scalar(select(Person)) is None
