"""The citizen's verification pages. ``/verify?level=N&next=PATH`` asks for exactly the step the
person is missing to reach level N (and, with ``client=ID``, that client's separate disclosure
question), then returns to ``next``. These pages know nothing of OAuth: whoever sends a person
here passes plain parameters, and gets them back at ``next``."""

from __future__ import annotations

from flask import (
    Blueprint,
    abort,
    current_app,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from .. import audit
from ..authn import sessions
from ..authn.views import safe_next
from ..clock import utcnow
from ..errors import ServiceUnavailable
from ..extensions import db
from ..models import Client, DisclosureConsent
from ..settings import current as _settings
from . import disclosure, levels, names, numbers, service
from .checks import FacePending

bp = Blueprint("verification", __name__)

DOC_TYPE_LABELS = {
    numbers.RESIDENT_ID: _l("Resident ID card"),
    numbers.HK_MO_TW_PERMIT: _l("Hong Kong, Macao or Taiwan residence permit"),
    numbers.FOREIGN_PERMANENT: _l("Foreign permanent-residence card"),
}



def _flow() -> dict:
    """The plain parameters every step carries along."""
    values = request.values
    try:
        level = min(max(int(values.get("level", "1")), 1), 4)
    except ValueError:
        level = 1
    client_id = (values.get("client") or "")[:64] or None
    return {"level": level, "next": safe_next(values.get("next")), "client": client_id}


def _asking_client(flow: dict) -> Client | None:
    """The client named by the `client` parameter, only while `next` resumes a request of that
    very client in this browser: a link from elsewhere cannot put the disclosure question."""
    if not flow["client"]:
        return None
    client = db.session.scalar(select(Client).where(Client.client_id == flow["client"]))
    if client is None or _requester(flow) != client.name:
        return None
    return client


def next_step(current: int, required: int) -> str | None:
    """The one step between `current` and `required` to ask for now."""
    if current >= required:
        return None
    if current < 1:
        return "identity"
    return {2: "possession", 3: "face", 4: "hall"}[required]


def _signed_in_person():
    sso = sessions.current()
    if sso is None:
        return None, redirect(url_for("authn.login", next=request.full_path))
    return sso.person, None


def _requester(flow: dict) -> str | None:
    """The name of whoever sent the person here, if the `next` path says (the same lookup the
    login page uses; registered by the protocol layer, so nothing here knows of it)."""
    lookup = current_app.extensions.get("tongban.login_context")
    context = lookup(flow["next"]) if lookup else None
    return (context or {}).get("client_name")


def _render(step: str, flow: dict, person, *, error=None, status: int = 200, form=None,
            code: str | None = None):
    document = levels.document_of(person.id)
    return render_template(
        "verification/verify.html", step=step, flow=flow, person=person, error=error,
        form=form or {}, document=document, level=document.level if document else 0,
        doc_types=DOC_TYPE_LABELS, client=_asking_client(flow), requester=_requester(flow),
        code=code,
        provincial=levels.PROVINCIAL), status


@bp.get("/verify")
def start():
    person, login = _signed_in_person()
    if login:
        return login
    flow = _flow()
    step = next_step(levels.level_of(person.id), flow["level"])
    if request.args.get("renew") == "1":
        # A verified person whose name or document changed (re-verification from scratch).
        step = "identity"
    client = _asking_client(flow)
    if step is None and client is not None and disclosure.undecided(person.id, client):
        step = "disclosure"
    db.session.commit()
    if step is None:
        return redirect(flow["next"])
    return _render(step, flow, person)


def _continue(flow: dict):
    return redirect(url_for("verification.start", level=flow["level"], next=flow["next"],
                            client=flow["client"]), code=303)


def _attempt(step: str, flow: dict, person, action):
    """Run `action`; on success continue the flow, otherwise show the step with the message."""
    form = {k: v for k, v in request.form.items()
            if k in ("doc_type", "name", "kind")}  # never echo numbers back into the page
    try:
        action()
    except (numbers.NumberProblem, names.NameProblem) as problem:
        db.session.rollback()
        return _render(step, flow, person, error=problem.message, status=400, form=form,
                       code=problem.code)
    except service.VerificationFailed as failed:
        db.session.commit()
        return _render(step, flow, person, error=failed.public, status=400, form=form,
                       code=failed.code)
    except ServiceUnavailable as outage:
        db.session.commit()
        return _render(step, flow, person, error=outage.public, status=503, form=form,
                       code="try_later")
    db.session.commit()
    return _continue(flow)


@bp.post("/verify/identity")
def identity():
    person, login = _signed_in_person()
    if login:
        return login
    flow = _flow()
    return _attempt("identity", flow, person, lambda: service.verify_identity(
        person.id, doc_type=request.form.get("doc_type", ""),
        number=request.form.get("number", "")[:64], name=request.form.get("name", "")[:200],
        now=utcnow(), settings=_settings()))


@bp.post("/verify/possession")
def possession():
    person, login = _signed_in_person()
    if login:
        return login
    flow = _flow()
    return _attempt("possession", flow, person, lambda: service.verify_possession(
        person.id, kind=request.form.get("kind", ""), mobile=request.form.get("mobile", "")[:32],
        card_number=request.form.get("card_number", "")[:32], now=utcnow(),
        settings=_settings()))


@bp.post("/verify/face")
def face_start():
    person, login = _signed_in_person()
    if login:
        return login
    flow = _flow()
    # Where the provider sends the browser back: built from the issuer, never the Host header.
    return_url = _settings().issuer + url_for("verification.face_return")
    opened: dict = {}

    def begin():
        opened["id"], opened["url"], opened["index"] = service.start_face(
            person.id, return_url=return_url, now=utcnow(), settings=_settings())

    response = _attempt("face", flow, person, begin)
    if "url" not in opened:
        return response
    # The capture belongs to this browser and this person; the cookie is signed.
    session["face_check"] = {"certify_id": opened["id"], "person_id": person.id,
                             "number_index": opened["index"], **flow}
    return redirect(opened["url"], code=303)


@bp.get("/verify/face/return")
def face_return():
    person, login = _signed_in_person()
    if login:
        return login
    pending = session.get("face_check") or {}
    flow = {"level": pending.get("level", 3), "next": safe_next(pending.get("next")),
            "client": pending.get("client")}
    certify_id = request.args.get("certify_id", "")
    if not pending or pending.get("person_id") != person.id \
            or pending.get("certify_id") != certify_id:
        audit.record("realname.face_return_rejected", person_id=person.id)
        db.session.commit()
        return _render("face", flow, person, status=400, code="face_not_started", error=_l(
            "This face check was not started here. Please start it again."))
    try:
        response = _attempt("face", flow, person, lambda: service.finish_face(
            person.id, certify_id, number_index=pending.get("number_index", ""), now=utcnow(),
            settings=_settings()))
    except FacePending:
        db.session.rollback()
        return _render("face", flow, person, status=400, code="face_pending", error=_l(
            "The face check was not finished. Please start it again."))
    session.pop("face_check", None)
    return response


@bp.post("/verify/disclosure")
def disclosure_decision():
    person, login = _signed_in_person()
    if login:
        return login
    flow = _flow()
    client = _asking_client(flow)
    if client is None or not client.may_receive_full_identity:
        abort(400)
    decision = "granted" if request.form.get("decision") == "allow" else "declined"
    disclosure.decide(person.id, client, decision, utcnow())
    db.session.commit()
    return _continue(flow)


@bp.post("/account/disclosures/<int:consent_id>/withdraw")
def withdraw(consent_id: int):
    person, login = _signed_in_person()
    if login:
        return login
    consent = db.session.get(DisclosureConsent, consent_id)
    if consent is None or consent.person_id != person.id:
        abort(404)
    client = db.session.get(Client, consent.client_id)
    disclosure.decide(person.id, client, "withdrawn", utcnow())
    db.session.commit()
    return redirect(url_for("account.home"), code=303)


def account_summary(person_id: int) -> dict:
    """What the account page shows about verification (masked values only)."""
    document = levels.document_of(person_id)
    return {"document": document, "level": document.level if document else 0,
            "masked_name": names.mask(document.legal_name) if document else None,
            "provincial": levels.PROVINCIAL, "doc_types": DOC_TYPE_LABELS,
            "disclosures": disclosure.consents_of(person_id)}
