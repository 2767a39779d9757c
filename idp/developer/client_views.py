"""Developer portal pages for one client: register, see, change (with approval where it widens
access), rotate the secret, promote from sandbox to production, remove."""

from __future__ import annotations

from flask import abort, g, redirect, render_template, request, url_for
from sqlalchemy import select

from ..clock import utcnow
from ..extensions import db
from ..models import Client, ClientRequest, Organisation
from . import approvals, credentials, organisations
from .blueprint import allow_http_loopback, bp, settings, signed_in
from .clients import ClientRejected, ClientSpec, create, problems_of, spec_of
from .forms import (
    AUTH_LABELS,
    FIELD_LABELS,
    SCOPE_LABELS,
    SENSITIVE_LABELS,
    TYPE_LABELS,
    by_field,
    form_values,
    spec_from_form,
)
from .remote_checks import remote_problems


def client_for(client_id: str) -> tuple[Client, Organisation]:
    """The client, if the signed-in person develops for its organisation."""
    client = db.session.scalar(select(Client).where(Client.client_id == client_id))
    if client is None or client.organisation_id is None:
        abort(404)
    organisations.require_member(g.person, client.organisation_id)
    return client, db.session.get(Organisation, client.organisation_id)


def _form_page(org, values, problems, *, client=None, status=200):
    return render_template(
        "developer/client_form.html", org=org, client=client, values=values,
        problems=by_field(problems), type_labels=TYPE_LABELS, scope_labels=SCOPE_LABELS,
        sensitive_labels=SENSITIVE_LABELS, auth_labels=AUTH_LABELS,
        field_labels=FIELD_LABELS), status


def _all_problems(spec: ClientSpec, form_problems) -> list:
    problems = list(form_problems) + problems_of(spec, allow_http_loopback=allow_http_loopback())
    if not problems:
        problems = remote_problems(spec, settings())
    return problems


@bp.route("/o/<int:org_id>/clients/new", methods=["GET", "POST"])
@signed_in
def new_client(org_id: int):
    org = db.session.get(Organisation, org_id) or abort(404)
    organisations.require_member(g.person, org.id)
    if request.method == "GET":
        db.session.commit()
        values = form_values(ClientSpec(name="", environment="sandbox"))
        return _form_page(org, values, [])
    spec, form_problems = spec_from_form(request.form)
    problems = _all_problems(spec, form_problems)
    if problems:
        db.session.rollback()
        return _form_page(org, {**form_values(spec), "jwks": request.form.get("jwks", "")},
                          problems, status=400)
    now = utcnow()
    status = "active" if spec.environment == "sandbox" else "pending"
    client, secret = create(spec, now=now, allow_http_loopback=allow_http_loopback(),
                            status=status, organisation_id=org.id, via="portal",
                            person_id=g.person.id)
    if status == "pending":
        approvals.submit_registration(client, via="portal", person_id=g.person.id, now=now)
    db.session.commit()
    # The secret is shown on this response only; the page is never cached.
    return _client_page(client, org, secret=secret, created=True)


def _client_page(client, org, *, status=200, **shown):
    pending = approvals.pending_request(client)
    history = db.session.scalars(select(ClientRequest).where(
        ClientRequest.client_id == client.id).order_by(ClientRequest.created_at.desc())
        .limit(10)).all()
    body = render_template("developer/client.html", client=client, org=org, pending=pending,
                           history=history, changes=approvals.diff(pending.baseline,
                                                                    pending.proposed)
                           if pending else [], field_labels=FIELD_LABELS,
                           type_labels=TYPE_LABELS, overlaps=credentials.OVERLAPS, **shown)
    db.session.commit()
    return body, status


@bp.get("/c/<client_id>")
@signed_in
def client_page(client_id: str):
    client, org = client_for(client_id)
    return _client_page(client, org)


@bp.route("/c/<client_id>/edit", methods=["GET", "POST"])
@signed_in
def edit_client(client_id: str):
    client, org = client_for(client_id)
    current = spec_of(client)
    if client.status == "disabled":
        abort(404)
    if request.method == "GET":
        db.session.commit()
        return _form_page(org, form_values(current), [], client=client)
    spec, form_problems = spec_from_form(request.form, base=current)
    problems = _all_problems(spec, form_problems)
    if problems:
        db.session.rollback()
        return _form_page(org, {**form_values(spec), "jwks": request.form.get("jwks", "")},
                          problems, client=client, status=400)
    outcome = approvals.propose(client, spec, via="portal", person_id=g.person.id, now=utcnow(),
                                allow_http_loopback=allow_http_loopback())
    _forget_cached_keys(current, spec)
    db.session.commit()
    return _client_page(client, org, outcome=outcome.state)


def _forget_cached_keys(old: ClientSpec, new: ClientSpec) -> None:
    from flask import current_app

    if old.jwks_uri and old.jwks_uri != new.jwks_uri:
        current_app.extensions["tongban.jwks_cache"].forget(old.jwks_uri)


@bp.post("/c/<client_id>/secret")
@signed_in
def rotate_secret(client_id: str):
    client, org = client_for(client_id)
    if client.status == "disabled":
        abort(404)
    try:
        overlap = int(request.form.get("overlap", "0"))
    except ValueError:
        overlap = 0
    if overlap not in credentials.OVERLAPS:
        overlap = 0
    secret = credentials.rotate_secret(client, overlap=overlap, person_id=g.person.id,
                                       now=utcnow())
    db.session.commit()
    return _client_page(client, org, secret=secret, rotated=True)


@bp.post("/c/<client_id>/secret/end-overlap")
@signed_in
def end_overlap(client_id: str):
    client, _org = client_for(client_id)
    credentials.end_overlap(client, person_id=g.person.id, now=utcnow())
    db.session.commit()
    return redirect(url_for("developer.client_page", client_id=client.client_id), code=303)


@bp.post("/c/<client_id>/promote")
@signed_in
def promote(client_id: str):
    """Ask for a sandbox client to serve everyone (a system admin approves)."""
    client, org = client_for(client_id)
    spec = spec_of(client)
    if client.environment != "sandbox" or client.status != "active":
        abort(400)
    spec.environment = "production"
    try:
        outcome = approvals.propose(client, spec, via="portal", person_id=g.person.id,
                                    now=utcnow(), allow_http_loopback=allow_http_loopback())
    except ClientRejected as exc:
        db.session.rollback()
        return _client_page(client, org, status=400, promote_problems=by_field(exc.problems))
    db.session.commit()
    return _client_page(client, org, outcome=outcome.state)


@bp.post("/c/<client_id>/withdraw")
@signed_in
def withdraw(client_id: str):
    client, _org = client_for(client_id)
    pending = approvals.pending_request(client)
    if pending is not None and pending.kind == "change":
        pending.status = "withdrawn"
        pending.decided_at = utcnow()
        db.session.commit()
    return redirect(url_for("developer.client_page", client_id=client.client_id), code=303)


@bp.post("/c/<client_id>/delete")
@signed_in
def delete(client_id: str):
    from ..oidc.registration import delete_registration

    client, org = client_for(client_id)
    if request.form.get("confirm") != client.client_id:
        return _client_page(client, org, status=400, delete_unconfirmed=True)
    delete_registration(client, now=utcnow(), via="portal", person_id=g.person.id)
    db.session.commit()
    return redirect(url_for("developer.organisation", org_id=org.id), code=303)
