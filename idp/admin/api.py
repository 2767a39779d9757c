"""The console's JSON API (same session, same roles, same CSRF rule as the pages), for officers'
scripts and dashboards."""

from __future__ import annotations

from flask import abort, current_app, g, jsonify, request
from sqlalchemy import select

from ..authn import sessions
from ..clock import utcnow
from ..extensions import db
from ..models import Client, SsoSession
from . import accounts_views, audit_views, sessions_views, system_views
from .access import require_role
from .blueprint import AUDITOR, SECURITY, SYSTEM, bp
from .session_search import search as search_sessions


def _json(body, status: int = 200):
    db.session.commit()
    response = jsonify(body)
    response.status_code = status
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/api/sessions")
@require_role(SECURITY)
def api_sessions():
    settings = current_app.extensions["tongban.settings"]
    rows, cursor = search_sessions(sessions_views.filter_from(request.args), utcnow(), settings,
                                   cursor=request.args.get("cursor"))
    return _json({"sessions": [sessions_views.describe(r) for r in rows], "next": cursor})


@bp.post("/api/sessions/<sid>/end")
@require_role(SECURITY)
def api_end_session(sid: str):
    row = db.session.scalar(select(SsoSession).where(SsoSession.sid == sid)) or abort(404)
    sessions.end(row, utcnow(), sessions_views.REASON, actor_id=g.officer.id)
    return _json({"sid": sid, "ended": True})


@bp.get("/api/overview")
@require_role(SECURITY)
def api_overview():
    data = accounts_views.overview_data()
    return _json({
        "series": {key: points for key, _title, points in data["series"]},
        "channels": data["channels"],
        "alerts": [{"kind": a.kind, "subject": a.subject, "failures": a.failures}
                   for a in data["alerts"]]})


@bp.get("/api/deliveries")
@require_role(SECURITY, SYSTEM)
def api_deliveries():
    rows = system_views.delivery_rows(request.args.get("state"), request.args.get("client"))
    return _json({"counts": system_views.delivery_counts(), "deliveries": [{
        "id": r.id, "client_id": r.client.client_id, "sid": r.sid, "reason": r.reason,
        "state": r.state, "attempts": r.attempts, "last_status": r.last_status,
        "last_error": r.last_error, "created_at": r.created_at.isoformat() + "Z",
        "next_attempt_at": r.next_attempt_at.isoformat() + "Z"} for r in rows]})


@bp.get("/api/clients")
@require_role(SYSTEM)
def api_clients():
    from ..developer.clients import describe

    return _json({"clients": [describe(c) for c in db.session.scalars(
        select(Client).order_by(Client.id))]})


@bp.get("/api/audit")
@require_role(AUDITOR)
def api_audit():
    from ..audit_trail import export, search

    page = search.search(audit_views.filter_from(request.args),
                         cursor=request.args.get("cursor"))
    return _json({"records": [export.as_dict(r) for r in page.rows], "next": page.next_cursor})
