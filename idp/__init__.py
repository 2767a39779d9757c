"""Tongban: a federated identity and single-sign-on provider for online government services.

:func:`create_app` builds the Flask application from a :class:`~idp.settings.Settings`.
"""

from __future__ import annotations

import logging
import os
import secrets
from pathlib import Path

from flask import Flask, g, request, session
from sqlalchemy import event

from .settings import ConfigError, Settings

__all__ = ["ConfigError", "Settings", "create_app"]

log = logging.getLogger(__name__)
LOCALES = ("zh_CN", "en")


def _persistent_dev_secret(instance_dir: Path) -> str:
    """Outside production, keep a generated secret in instance/ so cookies and pairwise
    subjects survive a restart of the demo."""
    path = Path(instance_dir) / "secret_key"
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        path.parent.mkdir(parents=True, exist_ok=True)
        value = secrets.token_urlsafe(48)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(value)
        return value


def _configure_sqlite(app: Flask) -> None:
    from .extensions import db

    engine = db.engine
    if engine.dialect.name != "sqlite":
        return

    @event.listens_for(engine, "connect")
    def on_connect(dbapi_connection, _record):
        # We issue BEGIN ourselves (below); pysqlite's implicit transactions would not be
        # IMMEDIATE.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA busy_timeout=10000")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def on_begin(connection):
        # IMMEDIATE takes the write lock up front: a read-then-write transaction can never fail
        # with SQLITE_BUSY_SNAPSHOT halfway, it waits (busy_timeout) instead. Transactions are
        # kept short, so this serialises little.
        connection.exec_driver_sql("BEGIN IMMEDIATE")


def _select_locale() -> str:
    chosen = request.args.get("lang")
    if chosen in LOCALES:
        session["lang"] = chosen
        return chosen
    if session.get("lang") in LOCALES:
        return session["lang"]
    for asked in (g.get("ui_locales") or "").split():
        asked = asked.replace("-", "_")
        for locale in LOCALES:
            if asked == locale or asked.split("_")[0] == locale.split("_")[0]:
                return locale
    best = request.accept_languages.best_match(["zh-CN", "zh", "en"])
    return "en" if best == "en" else "zh_CN"


def _lang_url(code: str) -> str:
    """This page in another language (the choice is remembered in the browser cookie)."""
    from urllib.parse import urlencode

    args = request.args.to_dict(flat=False)
    args["lang"] = [code]
    return request.path + "?" + urlencode(args, doseq=True)


def create_app(settings: Settings | None = None, **overrides) -> Flask:
    """Build the IdP. Raises :class:`ConfigError` (with a message for the operator) when the
    settings are unsafe or incomplete."""
    from . import channels, cli, developer, directory, oidc
    from .account.factors import bp as factors_bp
    from .account.views import bp as account_bp
    from .admin.views import bp as admin_bp
    from .audit_trail import chain as audit_chain
    from .authn import sessions
    from .authn.renewal import bp as renewal_bp
    from .authn.second_factor_views import bp as verify_bp
    from .authn.views import bp as authn_bp
    from .clock import Clock
    from .errors import register_error_handlers
    from .extensions import babel, csrf, db, migrate
    from .oidc.interactions import login_context
    from .security import register_security_headers
    from .verification import hall
    from .verification import views as verification_views

    if settings is None:
        settings = Settings.from_env(**overrides)
    if not settings.is_production and not os.environ.get("TONGBAN_SECRET_KEY") \
            and not overrides.get("secret_key") and settings.env == "development":
        import dataclasses

        settings = dataclasses.replace(settings,
                                       secret_key=_persistent_dev_secret(settings.instance_dir))
    settings.validate()

    app = Flask(__name__, instance_path=str(settings.instance_dir))
    app.config.update(
        SECRET_KEY=settings.secret_key,
        SQLALCHEMY_DATABASE_URI=settings.database_url,
        # A server connection can go stale (database restart, idle timeout); a SQLite file
        # cannot, so SQLite skips the extra round trip per checkout.
        SQLALCHEMY_ENGINE_OPTIONS={
            "pool_pre_ping": not settings.database_url.startswith("sqlite")},
        # Flask's signed cookie holds only CSRF state, the language choice and the browser
        # binding of pending interactions; the SSO session is server-side.
        SESSION_COOKIE_NAME=("__Host-tongban_browser" if settings.secure_cookies
                             else "tongban_browser"),
        SESSION_COOKIE_SECURE=settings.secure_cookies,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        WTF_CSRF_TIME_LIMIT=None,
        WTF_CSRF_SSL_STRICT=False,
        BABEL_DEFAULT_LOCALE="zh_CN",
        BABEL_TRANSLATION_DIRECTORIES=str(Path(__file__).parent / "translations"),
        MAX_CONTENT_LENGTH=1024 * 1024,
    )
    if settings.database_url.startswith("sqlite:///"):
        Path(settings.database_url.removeprefix("sqlite:///")).parent.mkdir(parents=True,
                                                                           exist_ok=True)
    app.extensions["tongban.settings"] = settings
    app.extensions["tongban.clock"] = Clock()
    app.extensions["tongban.login_context"] = login_context
    app.extensions["tongban.audit_key"] = _audit_key(settings)

    db.init_app(app)
    migrate.init_app(app, db, directory=str(Path(__file__).parent.parent / "migrations"))
    csrf.init_app(app)
    babel.init_app(app, locale_selector=_select_locale)
    with app.app_context():
        _configure_sqlite(app)
    audit_chain.install(db.session)

    oidc.init_app(app)
    channels.init_app(app)
    _ensure_signing_keys(app, settings)

    app.register_blueprint(authn_bp)
    app.register_blueprint(verify_bp)
    app.register_blueprint(account_bp)
    developer.init_app(app)
    app.register_blueprint(factors_bp)
    app.register_blueprint(renewal_bp)
    app.register_blueprint(admin_bp)
    app.register_blueprint(verification_views.bp)
    app.register_blueprint(hall.bp)
    directory.init_app(app)
    register_error_handlers(app)
    register_security_headers(app)
    app.after_request(sessions.apply_cookie)
    cli.register(app)

    @app.context_processor
    def page_globals():
        from flask_babel import get_locale

        return {"site_name": settings.site_name, "locale": str(get_locale() or "zh_CN"),
                "lang_url": _lang_url}

    return app


def _audit_key(settings: Settings) -> bytes:
    from .oidc.provider import derive

    return derive(settings.audit_key or settings.secret_key, "audit-chain")


def _ensure_signing_keys(app: Flask, settings: Settings) -> None:
    keys = app.extensions["tongban.provider"].keys
    if settings.generate_keys:
        keys.ensure()
    missing = keys.missing_algs()
    if missing:
        raise ConfigError(
            f"Tongban cannot start: no active signing key for {', '.join(missing)} in "
            f"{settings.keys_dir}. Create them once with `flask --app wsgi keys init` "
            "(and share the keys directory with every node).")
