"""Shared fixtures: an app on a migrated database (SQLite by default, PostgreSQL when
TONGBAN_TEST_DATABASE_URL is set), signing keys generated once per run, and helpers to create
people and clients."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from idp import create_app
from idp.settings import Settings

ISSUER = "http://127.0.0.1:5000"
PASSWORD = "correct horse battery staple"


def _worker() -> str:
    return os.environ.get("PYTEST_XDIST_WORKER", "main")


@pytest.fixture(scope="session")
def keys_dir(tmp_path_factory) -> Path:
    """One set of signing keys for the whole run (RSA generation is slow); tests that rotate
    keys copy it."""
    from idp.oidc.keys import KeyStore

    path = tmp_path_factory.mktemp("keys")
    KeyStore(path).ensure()
    return path


@pytest.fixture(scope="session")
def database_url(tmp_path_factory):
    base = os.environ.get("TONGBAN_TEST_DATABASE_URL")
    if not base:
        yield f"sqlite:///{tmp_path_factory.mktemp('db') / 'tongban.db'}"
        return
    # A database of its own for this process (xdist workers and parallel checkouts never share).
    url = make_url(base)
    name = f"{url.database}_tongban_{os.getpid()}_{_worker()}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    yield url.set(database=name).render_as_string(hide_password=False)
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(scope="session")
def migrated(database_url, keys_dir, tmp_path_factory) -> str:
    """The schema comes from the Alembic migrations, never from create_all."""
    from flask_migrate import upgrade

    app = create_app(_settings(database_url, keys_dir, tmp_path_factory.mktemp("inst")))
    with app.app_context():
        upgrade()
        from idp.extensions import db

        db.engine.dispose()
    return database_url


def _settings(database_url: str, default_keys_dir: Path, instance: Path, **overrides) -> Settings:
    values = dict(env="test", issuer=ISSUER, secret_key="test-secret-" + "x" * 32,
                  data_key="dGVzdC1kYXRhLWtleS0wMTIzNDU2Nzg5YWJjZGVmMDE=",
                  database_url=database_url, instance_dir=instance, keys_dir=default_keys_dir,
                  generate_keys=False, refresh_reuse_grace=5)
    values.update(overrides)
    # As Settings.from_env: outside production the IdP may call loopback URLs (test portals).
    values.setdefault("fetch_allow_loopback", values["env"] != "production")
    return Settings(**values).completed()


@pytest.fixture
def settings_overrides(request) -> dict:
    """Settings fields to change: override this fixture in a module, or parametrise it
    indirectly (`@pytest.mark.parametrize("settings_overrides", [{...}], indirect=True)`)."""
    return getattr(request, "param", {})


@pytest.fixture
def app(migrated, keys_dir, tmp_path, settings_overrides):
    """The app, with no context pushed: each request gets its own app context (and so its own
    database session and `g`), exactly as in production. Use `with app.app_context():` to reach
    the database from a test."""
    app = create_app(_settings(migrated, keys_dir, tmp_path, **settings_overrides))
    app.config["TESTING"] = True
    yield app
    with app.app_context():
        _empty_all_tables(app)


def _empty_all_tables(app) -> None:
    from idp.extensions import db

    db.session.remove()
    with db.engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            # The audit tables are append-only by trigger; a superuser's test cleanup bypasses it.
            conn.execute(text("SET LOCAL session_replication_role = replica"))
        for table in reversed(db.metadata.sorted_tables):
            conn.execute(table.delete())
    db.engine.dispose()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def frozen_clock(app):
    """Replace the app's clock; advance it with `frozen_clock.advance(seconds)`."""
    from idp.clock import Clock, FrozenClock

    clock = FrozenClock(Clock().now())
    app.extensions["tongban.clock"] = clock
    return clock


@pytest.fixture
def make_person(app):
    from idp.authn.registration import register
    from idp.clock import utcnow
    from idp.extensions import db

    counter = iter(range(1, 10_000))

    def make(username: str | None = None, password: str = PASSWORD, **fields):
        n = next(counter)
        with app.app_context():
            person = register(username=username or f"citizen{n}", password=password,
                              email=fields.pop("email", f"citizen{n}@example.cn"),
                              phone=fields.pop("phone", ""),
                              display_name=fields.pop("display_name", f"市民{n}"), now=utcnow())
            for key, value in fields.items():
                setattr(person, key, value)
            db.session.commit()
            return _detached(person)

    return make


@pytest.fixture
def make_client(app):
    from idp.clock import utcnow
    from idp.developer.clients import ClientSpec, create
    from idp.extensions import db

    def make(client_type: str = "web", *, redirect_uris=("https://rp.example/cb",),
             secret: str | None = None, **fields):
        with app.app_context():
            return _make(client_type, redirect_uris, secret, fields)

    def _make(client_type, redirect_uris, secret, fields):
        status = fields.pop("status", "active")
        grant_types = fields.pop("grant_types", None)
        extra = {k: fields.pop(k) for k in list(fields)
                 if k in ("require_nonce", "subject_type", "sector_identifier")}
        spec = ClientSpec(name=fields.pop("name", "Test portal"), client_type=client_type,
                          redirect_uris=list(redirect_uris) if client_type != "service" else [],
                          client_secret=secret, **fields)
        client, plain = create(spec, now=utcnow(), allow_http_loopback=True)
        client.status = status
        if grant_types is not None:
            client.grant_types = grant_types
        for key, value in extra.items():
            setattr(client, key, value)
        db.session.commit()
        client = _detached(client)
        client.plain_secret = plain
        return client

    return make


def _detached(obj):
    """A loaded copy of `obj` usable after its app context has ended (read-only use)."""
    from idp.extensions import db

    db.session.refresh(obj)
    db.session.expunge(obj)
    return obj


@pytest.fixture(scope="session")
def chromium_path() -> str:
    path = shutil.which("chromium") or "/usr/bin/chromium"
    if not Path(path).exists():
        pytest.fail("Debian chromium is required for browser tests (make test installs it)")
    return path
