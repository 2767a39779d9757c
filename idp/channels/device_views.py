"""The verification page of the device flow (RFC 8628 §3.3): the person, logged in on their own
phone or computer, types (or scans) the code a terminal shows and approves or denies it."""

from __future__ import annotations

from flask import Blueprint, redirect, render_template, request, session, url_for

from .. import audit
from ..authn import sessions
from ..clock import utcnow
from ..extensions import db
from . import device

bp = Blueprint("channels_device", __name__)

#: wrong codes one browser may type before it must start again later
MAX_WRONG_CODES = 5


def _wrong_code(typed: str):
    session["device_wrong"] = session.get("device_wrong", 0) + 1
    sso = sessions.current()
    audit.record("device.code_refused", person_id=sso.person_id if sso else None)
    db.session.commit()
    return render_template("channels/device.html", step="enter", user_code=typed,
                           error="wrong_code"), 400


@bp.route("/device", methods=["GET", "POST"])
def verify():
    typed = (request.values.get("user_code") or "")[:32]
    sso = sessions.current()
    if sso is None:
        db.session.commit()
        return redirect(url_for("authn.login", next=url_for("channels_device.verify",
                                                            user_code=typed or None)))
    if session.get("device_wrong", 0) >= MAX_WRONG_CODES:
        db.session.commit()
        return render_template("channels/device.html", step="enter", user_code="",
                               error="too_many"), 429
    now = utcnow()
    if request.method == "GET":
        db.session.commit()
        return render_template("channels/device.html", step="enter", user_code=typed,
                               error=None)
    row = device.pending(typed, now)
    if row is None:
        return _wrong_code(typed)
    client = device.client_of(row)
    decision = request.form.get("decision")
    if decision not in ("approve", "deny"):
        db.session.commit()
        return render_template("channels/device.html", step="confirm", client=client,
                               user_code=device.display_user_code(row.user_code),
                               scopes=row.scope.split(), person=sso.person)
    decided = device.decide(row, sso, decision == "approve", now)
    db.session.commit()
    if not decided:
        return _wrong_code(typed)
    session.pop("device_wrong", None)
    return render_template("channels/device.html", step="approved" if decision == "approve"
                           else "denied", client=client)
