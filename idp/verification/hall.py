"""The service-hall officer's page: find a person by the document in front of them, and record
an in-person verification (L4). Only people holding the hall_officer role reach it; every lookup
and every recording is audited. (The full officer console is a separate piece of work.)"""

from __future__ import annotations

from flask import Blueprint, abort, redirect, render_template, request, url_for

from ..authn import sessions
from ..authz import require_role
from ..clock import utcnow
from ..extensions import db
from . import levels, names, numbers, service
from .views import DOC_TYPE_LABELS

bp = Blueprint("hall", __name__, url_prefix="/staff/hall")


def _officer():
    sso = sessions.current()
    if sso is None:
        return None, redirect(url_for("authn.login", next=request.full_path))
    # The role, at AAL2 (idp/authz.py); a refusal is a 403 page saying what is missing.
    return require_role(sso, "hall_officer", now=utcnow()), None


def _page(officer, *, found=None, error=None, done=None, status=200):
    person = service.person_of(found) if found is not None else None
    return render_template("verification/hall.html", officer=officer, found=found,
                           person=person, error=error, done=done, doc_types=DOC_TYPE_LABELS,
                           masked_name=names.mask(found.legal_name) if found else None,
                           provincial=levels.PROVINCIAL), status


@bp.route("", methods=["GET", "POST"])
def lookup():
    officer, login = _officer()
    if login:
        return login
    if request.method == "GET":
        db.session.commit()
        return _page(officer, done=request.args.get("done"))
    try:
        found = service.find_for_officer(officer.id, doc_type=request.form.get("doc_type", ""),
                                         number=request.form.get("number", "")[:64],
                                         now=utcnow())
    except numbers.NumberProblem as problem:
        db.session.rollback()
        return _page(officer, error=problem.message, status=400)
    db.session.commit()
    if found is None:
        return _page(officer, error="not_found", status=404)
    return _page(officer, found=found)


@bp.post("/record")
def record():
    officer, login = _officer()
    if login:
        return login
    try:
        document_id = int(request.form.get("document_id", ""))
    except ValueError:
        abort(400)
    if request.form.get("confirmed") != "yes":
        db.session.rollback()
        return _page(officer, error="unconfirmed", status=400)
    try:
        service.record_in_person(officer.id, document_id,
                                 reference=request.form.get("reference", ""), now=utcnow())
    except service.VerificationFailed as failed:
        db.session.rollback()
        return _page(officer, error=failed.public, status=400)
    db.session.commit()
    return redirect(url_for("hall.lookup", done="1"), code=303)
