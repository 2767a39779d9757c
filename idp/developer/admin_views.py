"""The system admin's queue of client requests: each pending registration or widening change
with exactly what it changes, approved or rejected with a reason (audited in approvals.py).
Every page checks ``require_role(session, 'system_admin')`` (idp/authz.py: the role, at AAL2)."""

from __future__ import annotations

from flask import abort, g, redirect, render_template, request, url_for
from sqlalchemy import select

from ..authn import sessions
from ..authz import require_role
from ..clock import utcnow
from ..extensions import db
from ..models import Client, ClientRequest, Organisation, Person
from . import approvals
from .blueprint import allow_http_loopback, bp, signed_in
from .clients import ClientRejected
from .forms import FIELD_LABELS, TYPE_LABELS, by_field


@bp.get("/admin/requests")
@signed_in
def admin_requests():
    require_role(sessions.current(), "system_admin", now=utcnow())
    rows = db.session.execute(
        select(ClientRequest, Client, Organisation)
        .join(Client, Client.id == ClientRequest.client_id)
        .outerjoin(Organisation, Organisation.id == Client.organisation_id)
        .where(ClientRequest.status == "pending").order_by(ClientRequest.created_at)).all()
    decided = db.session.execute(
        select(ClientRequest, Client).join(Client, Client.id == ClientRequest.client_id)
        .where(ClientRequest.status.in_(("approved", "rejected")))
        .order_by(ClientRequest.decided_at.desc()).limit(20)).all()
    db.session.commit()
    return render_template("developer/admin_requests.html", rows=rows, decided=decided,
                           type_labels=TYPE_LABELS)


def _request_page(row: ClientRequest, status: int = 200, **shown):
    client = db.session.get(Client, row.client_id)
    org = db.session.get(Organisation, client.organisation_id) if client.organisation_id else None
    requester = db.session.get(Person, row.requested_by) if row.requested_by else None
    widened = set(approvals.widening(*map(_spec, (row.baseline, row.proposed)))) \
        if row.baseline else set()
    body = render_template(
        "developer/admin_request.html", row=row, client=client, org=org, requester=requester,
        changes=approvals.diff(row.baseline, row.proposed), widened=widened,
        proposed=row.proposed, field_labels=FIELD_LABELS, type_labels=TYPE_LABELS, **shown)
    db.session.commit()
    return body, status


def _spec(data: dict):
    from .clients import ClientSpec

    return ClientSpec.from_metadata(data)


@bp.get("/admin/requests/<int:request_id>")
@signed_in
def admin_request(request_id: int):
    require_role(sessions.current(), "system_admin", now=utcnow())
    row = db.session.get(ClientRequest, request_id) or abort(404)
    return _request_page(row)


@bp.post("/admin/requests/<int:request_id>")
@signed_in
def decide_request(request_id: int):
    require_role(sessions.current(), "system_admin", now=utcnow())
    row = db.session.get(ClientRequest, request_id) or abort(404)
    decision = request.form.get("decision")
    try:
        if decision == "approve":
            approvals.approve(row, admin_id=g.person.id, now=utcnow(),
                              allow_http_loopback=allow_http_loopback())
        elif decision == "reject":
            approvals.reject(row, admin_id=g.person.id, reason=request.form.get("reason", ""),
                             now=utcnow())
        else:
            abort(400)
    except approvals.ApprovalRefused as exc:
        db.session.rollback()
        return _request_page(row, status=400, error=exc.public)
    except ClientRejected as exc:
        db.session.rollback()
        return _request_page(row, status=400, problems=by_field(exc.problems))
    db.session.commit()
    return redirect(url_for("developer.admin_requests"), code=303)
