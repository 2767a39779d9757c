"""The departments' LDAP/AD directories behind one small interface (DESIGN.md §3).

:func:`init_app` wires the bridge: the configured directories, the department login pages (only
when a directory is configured: a disabled feature has no route), the `department` claims and
the `flask directory` commands. Nothing outside this package imports ldap3.
"""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    from . import accounts, cli, views
    from .config import load
    from .registry import Directories

    settings = app.extensions["tongban.settings"]
    configs = (load(settings.directories, production=settings.is_production)
               if settings.directories else ())
    app.extensions["tongban.directories"] = Directories(configs)
    app.extensions.setdefault("tongban.claim_sources", []).append(accounts.claims_for)
    if configs:
        app.register_blueprint(views.bp)
    app.cli.add_command(cli.directory_cli)

    @app.context_processor
    def department_login():
        return {"department_login": bool(app.extensions["tongban.directories"])}


def directories():
    from flask import current_app

    return current_app.extensions["tongban.directories"]
