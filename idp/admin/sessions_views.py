"""Security officer: find sessions, end one, all of a person's, all of a client's."""

from __future__ import annotations

from flask import abort, current_app, g, redirect, render_template, request, url_for
from sqlalchemy import select

from .. import audit
from ..authn import session_admin, sessions
from ..clock import utcnow
from ..extensions import db
from ..models import Client, Person, SsoSession
from . import lookup
from .access import require_role
from .blueprint import SECURITY, bp
from .session_search import SessionFilter, search

REASON = "ended_by_officer"


def filter_from(args) -> SessionFilter:
    client = lookup.client_for(args.get("client"))
    return SessionFilter(
        person_id=lookup.person_id_for(args.get("person")),
        client_pk=client.id if client else (lookup.NOBODY if args.get("client") else None),
        ip=(args.get("ip") or "").strip() or None,
        channel=(args.get("channel") or "").strip() or None,
        since=lookup.when(args.get("since")), until=lookup.when(args.get("until")),
        state=args.get("state") if args.get("state") in ("live", "ended", "all") else "live")


def describe(row: SsoSession) -> dict:
    return {"sid": row.sid, "person_id": row.person_id, "username": row.person.username,
            "channel": row.channel, "ip": row.ip, "acr": row.acr,
            "created_at": row.created_at.isoformat() + "Z",
            "last_seen_at": row.last_seen_at.isoformat() + "Z",
            "ended_at": row.ended_at.isoformat() + "Z" if row.ended_at else None,
            "end_reason": row.end_reason,
            "clients": sorted(j.client.client_id for j in row.clients)}


@bp.get("/sessions")
@require_role(SECURITY)
def sessions_page():
    settings = current_app.extensions["tongban.settings"]
    rows, next_cursor = search(filter_from(request.args), utcnow(), settings,
                               cursor=request.args.get("cursor"))
    page = render_template("admin/sessions.html", rows=rows, next_cursor=next_cursor,
                           args=request.args)
    db.session.commit()
    return page


@bp.post("/sessions/<sid>/end")
@require_role(SECURITY)
def end_session(sid: str):
    row = db.session.scalar(select(SsoSession).where(SsoSession.sid == sid))
    if row is None:
        abort(404)
    sessions.end(row, utcnow(), REASON, actor_id=g.officer.id)
    db.session.commit()
    return redirect(url_for("admin.sessions_page", person=row.person_id, state="all"), code=303)


@bp.post("/persons/<int:person_id>/sessions/end")
@require_role(SECURITY)
def end_person_sessions(person_id: int):
    if db.session.get(Person, person_id) is None:
        abort(404)
    count = session_admin.end_for_person(person_id, utcnow(), REASON, actor_id=g.officer.id)
    audit.record("sessions.ended", person_id=person_id, actor_id=g.officer.id, scope="person",
                 count=count)
    db.session.commit()
    return redirect(url_for("admin.sessions_page", person=person_id, state="all"), code=303)


@bp.post("/clients/<client_id>/sessions/end")
@require_role(SECURITY)
def end_client_sessions(client_id: str):
    client = db.session.scalar(select(Client).where(Client.client_id == client_id))
    if client is None:
        abort(404)
    count = session_admin.end_for_client(client.id, utcnow(), REASON, actor_id=g.officer.id)
    audit.record("sessions.ended", client_id=client.client_id, actor_id=g.officer.id,
                 scope="client", count=count)
    db.session.commit()
    return redirect(url_for("admin.sessions_page", client=client.client_id, state="all"),
                    code=303)
