"""The page a mini-program opens in its web-view with a binding ticket: log in to Tongban (in
this browser, after opening the ticket), confirm, and the platform identity is linked."""

from __future__ import annotations

from flask import Blueprint, current_app, redirect, render_template, request, url_for
from sqlalchemy import select

from ..authn import sessions
from ..clock import utcnow
from ..extensions import db
from ..models import Client
from ..oidc.views import browser_key
from . import binding

bp = Blueprint("channels_bind", __name__)


def _opened():
    """(ticket row, person's fresh session or None, ticket, client_id), or None."""
    ticket = request.values.get("ticket", "")
    client_id = request.values.get("client_id", "")
    row = binding.open_ticket(ticket, client_id, browser_key(), utcnow())
    if row is None:
        return None
    sso = sessions.current()
    # Only a login made in this browser after the ticket was opened proves that whoever holds
    # the mini-program also holds the account: an older session here could be anyone's.
    fresh = sso is not None and sso.auth_time >= row.claimed_at
    return row, (sso if fresh else None), ticket, client_id


def _invalid():
    db.session.commit()
    return render_template("channels/bind.html", state="invalid"), 400


def _names(row) -> dict:
    app = current_app.extensions["tongban.platform_apps"].get(row.platform, row.appid)
    client = db.session.scalar(select(Client).where(Client.client_id == row.client_id))
    return {"platform": row.platform, "app_name": app.name if app else row.appid,
            "client_name": client.name if client else row.client_id}


@bp.get("/bind")
def bind():
    opened = _opened()
    if opened is None:
        return _invalid()
    row, sso, ticket, client_id = opened
    db.session.commit()
    here = url_for("channels_bind.bind", ticket=ticket, client_id=client_id)
    if sso is None:
        return redirect(url_for("authn.login", next=here))
    return render_template("channels/bind.html", state="confirm", person=sso.person,
                           ticket=ticket, client_id=client_id, **_names(row))


@bp.post("/bind")
def bind_decide():
    opened = _opened()
    if opened is None or opened[1] is None:
        return _invalid()
    row, sso, _ticket, _client_id = opened
    names = _names(row)
    if request.form.get("decision") != "link":
        binding.decline(row, sso.person, utcnow())
        db.session.commit()
        return render_template("channels/bind.html", state="declined", **names)
    try:
        binding.complete(row, sso.person, utcnow())
    except binding.AlreadyLinked:
        db.session.rollback()
        return render_template("channels/bind.html", state="taken", **names), 409
    db.session.commit()
    return render_template("channels/bind.html", state="linked", person=sso.person, **names)
