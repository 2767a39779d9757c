"""Security officer: find an account, see it masked, lock, unlock, require a new password; and
the overview of sign-ins, failures, lockouts and alerts."""

from __future__ import annotations

from flask import abort, current_app, g, redirect, render_template, request, url_for
from sqlalchemy import func, select

from .. import audit
from ..audit_trail import search as audit_search
from ..authn import account_status
from ..clock import utcnow
from ..extensions import db
from ..models import Person, SsoSession
from . import charts, lookup
from . import overview as overview_mod
from .access import require_role
from .blueprint import SECURITY, bp
from .roles import roles_of

SECURITY_EVENTS = ("login.succeeded", "login.failed", "account.locked", "account.unlocked",
                   "account.password_reset_required", "password.changed", "session.ended")


def overview_data() -> dict:
    now = utcnow()
    settings = current_app.extensions["tongban.settings"]
    series = [(key, title, overview_mod.hourly(events, now))
              for key, title, events in overview_mod.SERIES]
    return {"series": series, "channels": overview_mod.per_channel(now),
            "alerts": overview_mod.alerts(now, settings), "window": settings.alert_window}


@bp.get("/overview")
@require_role(SECURITY)
def overview():
    data = overview_data()
    drawn = [(key, title, points, charts.bar_chart(str(title), points,
                                                   css="bar" if i % 2 == 0 else "bar alt"))
             for i, (key, title, points) in enumerate(data["series"])]
    page = render_template("admin/overview.html", charts=drawn, channels=data["channels"],
                           alerts=data["alerts"], window=data["window"])
    db.session.commit()
    return page


@bp.get("/accounts")
@require_role(SECURITY)
def accounts():
    q = request.args.get("q", "")
    person_id = lookup.person_id_for(q)
    if person_id not in (None, lookup.NOBODY):
        db.session.commit()
        return redirect(url_for("admin.account", person_id=person_id))
    page = render_template("admin/accounts.html", q=q, not_found=person_id == lookup.NOBODY)
    db.session.commit()
    return page


@bp.get("/accounts/<int:person_id>")
@require_role(SECURITY)
def account(person_id: int):
    person = db.session.get(Person, person_id) or abort(404)
    audit.record("account.viewed", person_id=person.id, actor_id=g.officer.id)
    live = db.session.scalar(select(func.count()).select_from(SsoSession).where(
        SsoSession.person_id == person.id, SsoSession.ended_at.is_(None)))
    recent = audit_search.search(audit_search.AuditFilter(person_id=person.id,
                                                          events=SECURITY_EVENTS), limit=20)
    page = render_template("admin/account.html", p=lookup.masked_person(person),
                           roles=sorted(roles_of(person.id)), live_sessions=live,
                           recent=recent.rows)
    db.session.commit()
    return page


def _act(person_id: int, action) -> object:
    person = db.session.get(Person, person_id) or abort(404)
    if person.id == g.officer.id:
        abort(403)  # an officer never acts on their own account
    action(person)
    db.session.commit()
    return redirect(url_for("admin.account", person_id=person.id), code=303)


@bp.post("/accounts/<int:person_id>/lock")
@require_role(SECURITY)
def lock(person_id: int):
    note = (request.form.get("note") or "")[:200]
    return _act(person_id, lambda p: account_status.lock(p, utcnow(), actor_id=g.officer.id,
                                                         note=note))


@bp.post("/accounts/<int:person_id>/unlock")
@require_role(SECURITY)
def unlock(person_id: int):
    return _act(person_id, lambda p: account_status.unlock(p, utcnow(), actor_id=g.officer.id))


@bp.post("/accounts/<int:person_id>/require-password-reset")
@require_role(SECURITY)
def require_password_reset(person_id: int):
    return _act(person_id, lambda p: account_status.require_password_reset(
        p, utcnow(), actor_id=g.officer.id))
