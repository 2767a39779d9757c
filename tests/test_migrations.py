"""Alembic migrations on SQLite and PostgreSQL: an empty database goes to head, back to base and
to head again, and the migrated schema is exactly what the ORM models declare."""

import secrets

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import make_url

from idp import create_app
from idp.extensions import db

from .conftest import _settings

POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"


@pytest.fixture
def sqlite_url(tmp_path):
    return f"sqlite:///{tmp_path / 'fresh.db'}"


@pytest.fixture
def postgres_url():
    """A throw-away database, dropped afterwards."""
    name = f"tongban_migrations_{secrets.token_hex(4)}"
    admin = create_engine(POSTGRES, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(POSTGRES).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def tables(engine) -> set[str]:
    return set(inspect(engine).get_table_names())


def schema_differences(engine) -> list:
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        return compare_metadata(context, db.metadata)


@pytest.mark.parametrize("url_fixture", ["sqlite_url", pytest.param(
    "postgres_url", marks=pytest.mark.postgres)])
def test_empty_to_head_to_base_to_head(request, url_fixture, keys_dir, tmp_path):
    url = request.getfixturevalue(url_fixture)
    app = create_app(_settings(url, keys_dir, tmp_path))
    models = {t.name for t in db.metadata.sorted_tables}
    with app.app_context():
        try:
            assert tables(db.engine) == set()
            upgrade()
            assert tables(db.engine) == models | {"alembic_version"}
            assert schema_differences(db.engine) == []
            downgrade(revision="base")
            assert tables(db.engine) <= {"alembic_version"}
            upgrade()
            assert tables(db.engine) == models | {"alembic_version"}
            assert schema_differences(db.engine) == []
            with db.engine.connect() as conn:
                heads = conn.execute(text("SELECT version_num FROM alembic_version")).scalars()
                assert list(heads) == [_head(app)]
        finally:
            db.session.remove()
            db.engine.dispose()


def _head(app) -> str:
    from alembic.script import ScriptDirectory

    config = app.extensions["migrate"].migrate.get_config()
    return ScriptDirectory.from_config(config).get_current_head()


def test_single_head(app):
    from alembic.script import ScriptDirectory

    with app.app_context():
        config = app.extensions["migrate"].migrate.get_config()
        assert len(ScriptDirectory.from_config(config).get_heads()) == 1
