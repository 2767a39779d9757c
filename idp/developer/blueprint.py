"""The developer portal's blueprint and what every page of it needs: the signed-in person."""

from __future__ import annotations

from functools import wraps

from flask import Blueprint, current_app, g, redirect, request, url_for

from ..authn import sessions

bp = Blueprint("developer", __name__, url_prefix="/developer")


def settings():
    return current_app.extensions["tongban.settings"]


def allow_http_loopback() -> bool:
    # Outside production the demo's portals run on 127.0.0.1 over http.
    return not settings().is_production


def signed_in(view):
    """Pages for signed-in people only; `g.person` is who they are."""

    @wraps(view)
    def wrapper(*args, **kwargs):
        sso = sessions.current()
        if sso is None:
            return redirect(url_for("authn.login", next=request.full_path.rstrip("?")))
        g.person = sso.person
        return view(*args, **kwargs)

    return wrapper
