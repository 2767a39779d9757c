"""Races on single-use credentials (RFC 6749 §4.1.2 and §10.5, RFC 9700 §4.14.2; CVE-2026-1035):
twenty requests released at once against a real threaded HTTP server, each in its own thread,
connection and database session.

Always on PostgreSQL (a database of its own, built by the Alembic migrations), whatever
TONGBAN_TEST_DATABASE_URL says, because row locks under READ COMMITTED are where a
check-then-set goes wrong; the code race runs on the embedded SQLite (WAL) default too.
"""

from __future__ import annotations

import os
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from sqlalchemy import create_engine, select, text
from werkzeug.serving import make_server

from idp import create_app
from idp.extensions import db
from idp.models import AccessToken, RefreshToken
from idp.oidc import issuance

from ..conftest import _empty_all_tables, _settings
from ..helpers import Flow, signed_in

pytestmark = pytest.mark.postgres

POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:5432"
PARALLEL = 20


def _migrate(url: str, keys_dir, instance) -> None:
    from flask_migrate import upgrade

    app = create_app(_settings(url, keys_dir, instance))
    with app.app_context():
        upgrade()
        db.engine.dispose()


@pytest.fixture(scope="module")
def postgresql_url(keys_dir, tmp_path_factory):
    # Unique per process: other checkouts may run this suite on the same server right now.
    name = f"tongban_concurrency_{os.environ.get('PYTEST_XDIST_WORKER', 'main')}_{os.getpid()}"
    admin = create_engine(f"{POSTGRES}/postgres", isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = f"{POSTGRES}/{name}"
    _migrate(url, keys_dir, tmp_path_factory.mktemp("pg-instance"))
    yield url
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(scope="module")
def sqlite_url(keys_dir, tmp_path_factory):
    path = tmp_path_factory.mktemp("sqlite") / "tongban.db"
    url = f"sqlite:///{path}"
    _migrate(url, keys_dir, path.parent)
    return url


@pytest.fixture
def app(request, keys_dir, tmp_path, settings_overrides):
    """Replaces the suite's `app` (so make_person, make_client and client use it): PostgreSQL
    unless parametrised indirectly with "sqlite"."""
    url = request.getfixturevalue(f"{getattr(request, 'param', 'postgresql')}_url")
    app = create_app(_settings(url, keys_dir, tmp_path, **settings_overrides))
    app.config["TESTING"] = True
    yield app
    with app.app_context():
        _empty_all_tables(app)


@pytest.fixture
def live(app):
    """The app behind werkzeug's threaded server on a free loopback port: one thread, one
    app context and one database session per request, as under gunicorn."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(timeout=10)


def race(url: str, data: dict, client) -> list[requests.Response]:
    """POST `data` to `url` from PARALLEL threads at once (client_secret_basic)."""
    barrier = threading.Barrier(PARALLEL)

    def one(_):
        with requests.Session() as http:
            barrier.wait(timeout=30)
            return http.post(url, data=data, auth=(client.client_id, client.plain_secret),
                             timeout=60)

    with ThreadPoolExecutor(PARALLEL) as pool:
        return list(pool.map(one, range(PARALLEL)))


def outcome(responses) -> tuple[list[dict], list[tuple[int, str]]]:
    """The successful bodies, and (status, error) of the rest."""
    won = [r.json() for r in responses if r.status_code == 200]
    lost = [(r.status_code, r.json().get("error")) for r in responses if r.status_code != 200]
    return won, lost


def userinfo_status(base: str, access_token: str) -> int:
    return requests.get(base + "/userinfo", timeout=10,
                        headers={"Authorization": f"Bearer {access_token}"}).status_code


def family_of(app, refresh_token: str) -> list[RefreshToken]:
    with app.app_context():
        row = db.session.scalar(select(RefreshToken).where(
            RefreshToken.token_hash == issuance.token_hash(refresh_token)))
        rows = db.session.scalars(select(RefreshToken).where(
            RefreshToken.family_id == row.family_id).order_by(RefreshToken.id)).all()
        db.session.expunge_all()
        return rows


@pytest.mark.parametrize("app", ["postgresql", "sqlite"], indirect=True)
def test_code_redeemed_once_under_concurrency(app, live, client, make_person, make_client):
    rp = make_client()
    signed_in(client, make_person)
    flow = Flow(client, rp)
    code = flow.code()

    won, lost = outcome(race(live + "/token", {
        "grant_type": "authorization_code", "code": code, "redirect_uri": flow.redirect_uri,
        "code_verifier": flow.verifier}, rp))

    assert len(won) == 1
    assert lost == [(400, "invalid_grant")] * (PARALLEL - 1)
    # A replayed code revokes what it bought (RFC 6749 §4.1.2), the winner's tokens included.
    assert userinfo_status(live, won[0]["access_token"]) == 401
    with app.app_context():
        issued = db.session.scalars(select(AccessToken).where(
            AccessToken.client_id == rp.id)).all()
        assert len(issued) == 1 and issued[0].revoked_at is not None
    assert all(row.revoked_at is not None for row in family_of(app, won[0]["refresh_token"]))


@pytest.mark.parametrize("settings_overrides", [{"refresh_reuse_grace": 0}])
def test_refresh_token_used_once_under_concurrency(app, live, client, make_person,
                                                   make_client):
    """CVE-2026-1035: N parallel refreshes must not yield N token sets."""
    rp = make_client()
    signed_in(client, make_person)
    tokens = Flow(client, rp).tokens()

    won, lost = outcome(race(live + "/token", {
        "grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]}, rp))

    assert len(won) == 1
    assert lost == [(400, "invalid_grant")] * (PARALLEL - 1)
    # The reuse revoked the whole family: the winner's successor is dead as well.
    family = family_of(app, tokens["refresh_token"])
    assert len(family) == 2
    assert all(row.revoked_at is not None for row in family)
    response = requests.post(live + "/token", timeout=10, auth=(rp.client_id, rp.plain_secret),
                             data={"grant_type": "refresh_token",
                                   "refresh_token": won[0]["refresh_token"]})
    assert (response.status_code, response.json()["error"]) == (400, "invalid_grant")
    assert userinfo_status(live, won[0]["access_token"]) == 401


def test_refresh_within_grace_never_forks(app, live, client, make_person, make_client):
    """With the default grace every concurrent use gets the one deterministic successor."""
    assert app.extensions["tongban.settings"].refresh_reuse_grace == 5
    rp = make_client()
    signed_in(client, make_person)
    tokens = Flow(client, rp).tokens()

    won, lost = outcome(race(live + "/token", {
        "grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]}, rp))

    assert lost == []
    assert len(won) == PARALLEL
    successors = {body["refresh_token"] for body in won}
    assert len(successors) == 1
    assert successors != {tokens["refresh_token"]}
    family = family_of(app, tokens["refresh_token"])
    assert len(family) == 2  # the presented token and exactly one successor row
    parent, successor = family
    assert successor.parent_id == parent.id
    assert successor.token_hash == issuance.token_hash(successors.pop())
    assert parent.rotated_at is not None
    assert all(row.revoked_at is None for row in family)
    # The successor is a normal, live refresh token.
    response = requests.post(live + "/token", timeout=10, auth=(rp.client_id, rp.plain_secret),
                             data={"grant_type": "refresh_token",
                                   "refresh_token": won[0]["refresh_token"]})
    assert response.status_code == 200, response.json()


@pytest.mark.parametrize("app", ["postgresql", "sqlite"], indirect=True)
def test_parallel_logins_of_one_account_never_deadlock(app, live, make_person):
    """Every login counts its attempt on the account's and the address's brute-force counters
    before checking the password (idp/authn/throttle.py); parallel logins must take those row
    locks in one order, or PostgreSQL aborts one of them with a deadlock (a 500 for a person
    who typed the right password)."""
    import re

    person = make_person()
    barrier = threading.Barrier(8)

    def one(_):
        with requests.Session() as http:
            page = http.get(live + "/login", timeout=30).text
            token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
            barrier.wait(timeout=30)
            return http.post(live + "/login", timeout=60, allow_redirects=False, data={
                "csrf_token": token, "account": person.username,
                "password": "correct horse battery staple"}).status_code

    with ThreadPoolExecutor(8) as pool:
        statuses = list(pool.map(one, range(8)))
    # Counted in advance, some may be asked to wait (429) while the others are checked; none
    # fails, and the first ones get in.
    assert set(statuses) <= {303, 429}, statuses
    assert statuses.count(303) >= 4, statuses
