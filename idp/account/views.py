"""The person's own pages at the IdP: profile, sessions (end one, end all others), the apps that
hold their data (withdraw), and their sign-in history. Thin: the decisions live in
authn.session_admin, oidc.authorised_apps and the audit trail."""

from __future__ import annotations

from functools import wraps

from flask import Blueprint, abort, current_app, g, redirect, render_template, request, url_for
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from ..audit_trail import search
from ..authn import session_admin, sessions
from ..clock import utcnow
from ..extensions import db
from ..models import Client, SsoSession
from ..oidc import authorised_apps
from ..verification.views import account_summary
from . import devices
from .sections import Section, register
from .sections import of as sections_of

bp = Blueprint("account", __name__)

#: what the sign-in history shows
HISTORY_EVENTS = ("login.succeeded", "login.failed", "session.started", "session.ended",
                  "password.changed", "account.locked", "account.unlocked", "account.disabled",
                  "account.password_reset_required", "consent.granted", "consent.withdrawn")


@bp.record_once
def _builtin_sections(state) -> None:
    for section in (Section("profile", _l("My account"), "account.home", 10),
                    Section("sessions", _l("Where I'm signed in"), "account.sessions_page", 20),
                    Section("apps", _l("Apps that use my data"), "account.apps_page", 30),
                    Section("history", _l("Sign-in history"), "account.history_page", 40)):
        register(state.app, section)


def signed_in(view):
    @wraps(view)
    def wrapper(*args, **kwargs):
        sso = sessions.current()
        if sso is None:
            db.session.commit()
            return redirect(url_for("authn.login", next=request.path))
        g.person, g.sso = sso.person, sso
        return view(*args, **kwargs)
    return wrapper


def render(template: str, **context):
    return render_template(template, person=g.person, session=g.sso, current_section=(
        request.endpoint), sections=sections_of(current_app), **context)


@bp.get("/")
@signed_in
def home():
    realname = account_summary(g.person.id)
    db.session.commit()
    return render("account/home.html", realname=realname)


@bp.get("/account/sessions")
@signed_in
def sessions_page():
    settings = current_app.extensions["tongban.settings"]
    live = session_admin.live_sessions_of(g.person.id, utcnow(), settings)
    rows = [{"session": s, "device": devices.describe(s.user_agent), "place": devices.place(s.ip),
             "portals": sorted(j.client.name for j in s.clients), "current": s.sid == g.sso.sid}
            for s in live]
    db.session.commit()
    return render("account/sessions.html", rows=rows, others=len(rows) - 1)


@bp.post("/account/sessions/<sid>/end")
@signed_in
def end_session(sid: str):
    target = db.session.scalar(select(SsoSession).where(SsoSession.sid == sid))
    if target is None or target.person_id != g.person.id:
        abort(404)
    if target.sid == g.sso.sid:
        sessions.logout("ended_by_person")
        db.session.commit()
        return redirect(url_for("authn.login", next=url_for("account.home")), code=303)
    sessions.end(target, utcnow(), "ended_by_person")
    db.session.commit()
    return redirect(url_for("account.sessions_page", ended=1), code=303)


@bp.post("/account/sessions/end-others")
@signed_in
def end_other_sessions():
    session_admin.end_for_person(g.person.id, utcnow(), "ended_by_person", keep_sid=g.sso.sid)
    db.session.commit()
    return redirect(url_for("account.sessions_page", ended=1), code=303)


@bp.get("/account/apps")
@signed_in
def apps_page():
    apps = authorised_apps.apps_of(g.person, utcnow())
    db.session.commit()
    return render("account/apps.html", apps=apps)


@bp.post("/account/apps/<client_id>/withdraw")
@signed_in
def withdraw(client_id: str):
    client = db.session.scalar(select(Client).where(Client.client_id == client_id))
    if client is None:
        abort(404)
    authorised_apps.withdraw(g.person, client, utcnow())
    db.session.commit()
    return redirect(url_for("account.apps_page", withdrawn=client.client_id), code=303)


@bp.get("/account/history")
@signed_in
def history_page():
    page = search.search(search.AuditFilter(person_id=g.person.id, events=HISTORY_EVENTS),
                         cursor=request.args.get("cursor"), limit=30)
    sids = {r.sid for r in page.rows if r.sid}
    agents = dict(db.session.execute(select(SsoSession.sid, SsoSession.user_agent)
                                     .where(SsoSession.sid.in_(sids))).all()) if sids else {}
    entries = [{"row": r, "device": devices.describe(agents[r.sid]) if r.sid in agents else None,
                "place": devices.place(r.ip)} for r in page.rows]
    db.session.commit()
    return render("account/history.html", entries=entries, next_cursor=page.next_cursor)
