"""HTTP adapters for QR-code login: the PC page and its polling, and the app's scan/confirm API
(bearer access token of a first-party native client; JSON in and out)."""

from __future__ import annotations

import segno
from flask import (
    Blueprint,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from markupsafe import Markup
from sqlalchemy import select

from ..authn import sessions
from ..authn.views import login_context, safe_next
from ..clock import utcnow
from ..extensions import csrf, db
from ..models import Client, Person, SsoSession
from ..oidc import access_tokens, userinfo
from ..oidc.views import browser_key
from ..security import client_ip
from ..settings import current as _settings
from . import qr_login

bp = Blueprint("channels_qr", __name__)



# --- the PC ----------------------------------------------------------------------------------

@bp.get("/login/qr")
def start():
    next_path = safe_next(request.args.get("next"))
    context = login_context(next_path) or {}
    settings = _settings()
    new = qr_login.create(browser_key=browser_key(), next_path=next_path,
                          client_name=context.get("client_name"), ip=client_ip(),
                          user_agent=request.user_agent.string, now=utcnow(),
                          ttl=settings.qr_login_ttl, issuer=settings.issuer)
    db.session.commit()
    svg = segno.make(new.payload, error="m").svg_inline(scale=6, border=2, omitsize=True)
    return render_template(
        "channels/qr_login.html", qr_svg=Markup(svg), payload=new.payload, next=next_path,  # noqa: S704 (segno's SVG of our own URL)
        client_name=context.get("client_name"), ttl=settings.qr_login_ttl,
        state_url=url_for("channels_qr.state", poll_id=new.poll_id),
        interval_ms=int(max(settings.qr_poll_interval, 0.5) * 2000))


@bp.get("/login/qr/<poll_id>/state")
def state(poll_id: str):
    row = qr_login.for_browser(poll_id, browser_key())
    if row is None:
        return _json_error("not_found", 404)
    try:
        current = qr_login.poll(row, utcnow(), _settings().qr_poll_interval)
    except qr_login.QrError as exc:
        db.session.rollback()
        response = _json_error(exc.code, exc.status)
        response.headers["Retry-After"] = str(max(1, round(_settings().qr_poll_interval)))
        return response
    db.session.commit()
    body = {"state": current}
    if current == "confirmed":
        body["complete_url"] = url_for("channels_qr.complete", poll_id=poll_id)
    return _no_store(jsonify(body))


@bp.get("/login/qr/<poll_id>/complete")
def complete(poll_id: str):
    row = qr_login.for_browser(poll_id, browser_key())
    try:
        if row is None:
            raise qr_login.QrError("not_found")
        row = qr_login.complete(row, utcnow())
    except qr_login.QrError:
        db.session.commit()
        return render_template("channels/qr_login.html", failed=True,
                               next=row.next_path if row else url_for("authn.login")), 400
    person = db.session.get(Person, row.person_id)
    if person is None or not person.is_active:
        db.session.commit()
        return render_template("channels/qr_login.html", failed=True, next=row.next_path), 400
    sso = sessions.login(sessions.Authentication(person=person, acr=row.acr, amr=tuple(row.amr)))
    sso.channel = "qr"
    db.session.commit()
    return redirect(row.next_path, code=303)


@bp.get("/qr/<path:_secret>")
def payload_page(_secret: str):
    """Where a QR code leads a phone that is not running the government app."""
    return render_template("channels/qr_payload.html")


# --- the app ---------------------------------------------------------------------------------

def _json_error(code: str, status: int, description: str | None = None):
    body = {"error": code}
    if description:
        body["error_description"] = description
    response = jsonify(body)
    response.status_code = status
    return _no_store(response)


def _no_store(response):
    response.headers["Cache-Control"] = "no-store"
    return response


class _AppRefused(Exception):
    def __init__(self, code: str, status: int):
        self.code, self.status = code, status


def _app_session() -> tuple[SsoSession, Client]:
    """The live session behind the bearer token of a first-party native app."""
    try:
        token = userinfo.bearer_token(request.method, request.headers, request.form,
                                      request.args)
    except userinfo.BearerError as exc:
        raise _AppRefused("invalid_token", 401) from exc
    found = access_tokens.verify(token)
    if found is None or not found.claims.get("sid"):
        raise _AppRefused("invalid_token", 401)
    client = db.session.get(Client, found.row.client_id)
    # Only the government's own app may hand a PC a session: a third-party native app that
    # the person signed in to must never be able to log anyone's PC in as them.
    if client is None or client.client_type != "native" or not client.first_party:
        raise _AppRefused("app_not_allowed", 403)
    session = db.session.scalar(select(SsoSession).where(
        SsoSession.sid == found.claims["sid"]))
    if session is None or not sessions.is_live(session, utcnow(), _settings()):
        raise _AppRefused("session_ended", 401)
    return session, client


@bp.post("/qr/scan")
@csrf.exempt
def scan():
    try:
        app_session, client = _app_session()
        body = qr_login.scan(request.form.get("payload", ""), app_session, client.client_id,
                             utcnow(), _settings().issuer)
    except _AppRefused as exc:
        return _json_error(exc.code, exc.status)
    except qr_login.QrError as exc:
        return _json_error(exc.code, exc.status)
    db.session.commit()
    return _no_store(jsonify(body))


@bp.post("/qr/confirm")
@csrf.exempt
def confirm():
    decision = request.form.get("decision")
    if decision not in ("confirm", "decline"):
        return _json_error("invalid_request", 400, "decision must be confirm or decline")
    try:
        app_session, _client = _app_session()
        state_ = qr_login.decide(request.form.get("payload", ""), app_session,
                                 decision == "confirm", utcnow(), _settings().issuer)
    except _AppRefused as exc:
        return _json_error(exc.code, exc.status)
    except qr_login.QrError as exc:
        return _json_error(exc.code, exc.status)
    db.session.commit()
    return _no_store(jsonify({"state": state_}))
