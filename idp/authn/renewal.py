"""Choosing a new password when an officer required one: the password login succeeded, but no
session starts until the person has set a new password in this browser, within ten minutes."""

from __future__ import annotations

import time

from flask import Blueprint, redirect, render_template, request, session, url_for
from flask_wtf import FlaskForm
from wtforms import PasswordField
from wtforms.validators import DataRequired, Length

from ..clock import utcnow
from ..extensions import db
from ..models import Person
from . import account_status
from .sessions import Authentication

bp = Blueprint("renewal", __name__)
KEY = "password_renewal"
WINDOW = 600


class RenewForm(FlaskForm):
    password = PasswordField(validators=[DataRequired(), Length(max=1024)])
    confirm = PasswordField(validators=[DataRequired(), Length(max=1024)])


def begin(authn: Authentication, next_path: str, requested: str | None = None):
    session[KEY] = {"person_id": authn.person.id, "acr": authn.acr, "amr": list(authn.amr),
                    "next": next_path, "requested": requested,
                    "until": int(time.time()) + WINDOW}
    return redirect(url_for("renewal.renew"), code=303)


def _pending() -> dict | None:
    pending = session.get(KEY)
    if not isinstance(pending, dict) or pending.get("until", 0) < time.time():
        session.pop(KEY, None)
        return None
    return pending


@bp.route("/password/renew", methods=["GET", "POST"])
def renew():
    from .views import safe_next

    pending = _pending()
    if pending is None:
        return redirect(url_for("authn.login"))
    person = db.session.get(Person, pending["person_id"])
    if person is None or not person.is_active or not person.password_reset_required:
        session.pop(KEY, None)
        return redirect(url_for("authn.login"))
    form = RenewForm()
    problem = None
    if form.validate_on_submit():
        if form.password.data != form.confirm.data:
            problem = "mismatch"
        else:
            try:
                account_status.set_new_password(person, form.password.data, utcnow())
            except account_status.PasswordRefused as exc:
                problem = exc.reason
            else:
                session.pop(KEY, None)
                db.session.commit()
                # The new password replaces the first factor only: a second factor is still
                # asked for wherever the login would have asked for it.
                from .second_factor_views import after_first_factor

                return after_first_factor(
                    Authentication(person=person, acr=pending["acr"], amr=tuple(pending["amr"])),
                    safe_next(pending["next"]), pending.get("requested"))
    elif request.method == "POST":
        problem = "incomplete"
    db.session.rollback()
    return render_template("authn/renew_password.html", form=form, problem=problem), (
        400 if problem else 200)
