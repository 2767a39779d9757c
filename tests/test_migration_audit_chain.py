"""Upgrading to 0006_audit_trail chains the audit records that already exist, on SQLite and
PostgreSQL."""

from __future__ import annotations

import os

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from idp import create_app

from .conftest import _settings, _worker

PG_BASE = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_database(request, tmp_path):
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'old.db'}"
        return
    base = make_url(PG_BASE)
    name = f"test_tongban_maudit_{os.getpid()}_{_worker()}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    yield base.set(database=name).render_as_string(hide_password=False)
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def test_existing_records_are_chained(empty_database, keys_dir, tmp_path):
    from flask_migrate import downgrade, upgrade

    from idp.extensions import db

    app = create_app(_settings(empty_database, keys_dir, tmp_path))
    with app.app_context():
        upgrade(revision="0002_roles")
        with db.engine.begin() as conn:
            for i in range(3):
                conn.execute(text(
                    "INSERT INTO audit_event (at, event, person_id, ip, detail) VALUES "
                    "(:at, 'login.succeeded', :p, '198.51.100.1', :d)"),
                    {"at": f"2026-01-0{i + 1} 10:00:00", "p": i, "d": '{"method": "password"}'})
        upgrade()
        db.engine.dispose()
    result = app.test_cli_runner().invoke(args=["audit", "verify"])
    assert result.exit_code == 0, result.output
    assert "ok (database): 3 records 1..3" in result.output
    # New records continue the chain.
    from idp import audit

    with app.app_context():
        audit.record("test.happened")
        db.session.commit()
    result = app.test_cli_runner().invoke(args=["audit", "verify"])
    assert "4 records" in result.output and result.exit_code == 0
    with app.app_context():
        downgrade(revision="0002_roles")
        db.engine.dispose()
