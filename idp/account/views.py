"""The person's own page at the IdP: who is signed in, and the way out."""

from __future__ import annotations

from flask import Blueprint, redirect, render_template, url_for

from ..authn import sessions
from ..extensions import db
from ..verification.views import account_summary

bp = Blueprint("account", __name__)


@bp.get("/")
def home():
    sso = sessions.current()
    db.session.commit()
    if sso is None:
        return redirect(url_for("authn.login", next=url_for("account.home")))
    return render_template("account/home.html", person=sso.person, session=sso,
                           realname=account_summary(sso.person_id))
