"""Relying-party registration: the rules every client must meet, however it is registered, and
the developer portal (organisations, clients, approvals, integration help)."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    from . import admin_views, client_views, integration_views, views  # noqa: F401  (routes)
    from .blueprint import bp

    app.register_blueprint(bp)
