"""Fixtures for the audit trail: direct database access that bypasses the application (the
tamperer's view), and a PostgreSQL app for the server-only guarantees, which always run."""

from __future__ import annotations

import os

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from idp import create_app

from ..conftest import _empty_all_tables, _settings, _worker

PG_BASE = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def tamper(app, sql: str, **params) -> None:
    """Change the database behind the application's back, as a superuser would."""
    from idp.extensions import db

    with app.app_context(), db.engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("SET LOCAL session_replication_role = replica"))
        conn.execute(text(sql), params)


def verify(app, *args: str):
    return app.test_cli_runner().invoke(args=["audit", "verify", *args])


@pytest.fixture(scope="session")
def pg_url(migrated, keys_dir, tmp_path_factory):
    """A migrated PostgreSQL database: the suite's own when it runs on PostgreSQL, else one
    made for these tests and dropped after them."""
    if migrated.startswith("postgresql"):
        yield migrated
        return
    base = make_url(os.environ.get("TONGBAN_TEST_DATABASE_URL") or PG_BASE)
    if base.get_backend_name() != "postgresql":
        base = make_url(PG_BASE)
    name = f"test_tongban_audit_{os.getpid()}_{_worker()}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = base.set(database=name).render_as_string(hide_password=False)
    from flask_migrate import upgrade

    app = create_app(_settings(url, keys_dir, tmp_path_factory.mktemp("pg")))
    with app.app_context():
        upgrade()
        from idp.extensions import db

        db.engine.dispose()
    yield url
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture
def pg_app(pg_url, keys_dir, tmp_path):
    app = create_app(_settings(pg_url, keys_dir, tmp_path))
    app.config["TESTING"] = True
    yield app
    with app.app_context():
        _empty_all_tables(app)
