"""Channels beyond the web portal (DESIGN §4): mini-program token exchange and platform-identity
linking, QR-code login on a PC, and the device flow's person-facing pages. The protocol parts
(grants, the device authorization endpoint) are wired in idp/oidc; :func:`init_app` wires the
rest."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    from ..account import linked_platforms
    from . import bind_views, device_views, platform_apps, qr_views

    settings = app.extensions["tongban.settings"]
    app.extensions["tongban.platform_apps"] = platform_apps.load(settings.platform_apps_file)
    app.register_blueprint(bind_views.bp)
    app.register_blueprint(qr_views.bp)
    app.register_blueprint(device_views.bp)
    app.register_blueprint(linked_platforms.bp)
