"""The person's WeChat and Alipay mini-program links: see them, and unlink any of them."""

from __future__ import annotations

from flask import Blueprint, current_app, redirect, render_template, url_for

from ..authn import sessions
from ..channels import binding
from ..clock import utcnow
from ..extensions import db

bp = Blueprint("account_platforms", __name__)


@bp.get("/account/linked-apps")
def linked_apps():
    sso = sessions.current()
    db.session.commit()
    if sso is None:
        return redirect(url_for("authn.login", next=url_for("account_platforms.linked_apps")))
    apps = current_app.extensions["tongban.platform_apps"]
    links = [(link, apps.get(link.platform, link.appid))
             for link in binding.links_of(sso.person_id)]
    return render_template("account/linked_apps.html", links=links)


@bp.post("/account/linked-apps/<int:link_id>/unlink")
def unlink(link_id: int):
    sso = sessions.current()
    if sso is None:
        db.session.commit()
        return redirect(url_for("authn.login", next=url_for("account_platforms.linked_apps")))
    binding.unlink(sso.person_id, link_id, utcnow())
    db.session.commit()
    return redirect(url_for("account_platforms.linked_apps"), code=303)
