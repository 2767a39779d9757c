"""The pages after the password: the second-factor page (also the step-up page: it asks only
for what is missing) and passkey login. Thin: the decisions are in second_factor.py,
passkeys.py and throttle.py."""

from __future__ import annotations

import secrets

from flask import (
    Blueprint,
    jsonify,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _

from .. import audit
from ..clock import utcnow
from ..extensions import db
from ..security import client_ip
from ..settings import current as _settings
from . import assurance, passkeys, sessions, throttle
from . import second_factor as sf
from .sessions import Authentication
from .views import safe_next

bp = Blueprint("verify", __name__)



def browser_key() -> str:
    """The random value in this browser's signed cookie that binds ceremonies to it."""
    if "browser" not in session:
        session["browser"] = secrets.token_urlsafe(16)
    return session["browser"]


def _requested_acr() -> str | None:
    value = request.values.get("acr")
    return value if value in assurance.LEVELS else None


def _cancel_path() -> str | None:
    raw = request.values.get("cancel")
    return safe_next(raw) if raw else None


def finish_login(authn: Authentication) -> None:
    """Open the session for a login that proved all it needed, and reset its counters."""
    sessions.login(authn)
    sf.clear_pending(session)
    throttle.completed(authn.person.id, authn.amr, now=utcnow())


def after_first_factor(authn: Authentication, next_path: str, requested: str | None):
    """The password was right. Either the login is complete, or the second factor is asked for
    now (a pending login), or the person can't reach the level their role demands."""
    person = authn.person
    need = sf.required_level(person.id, requested)
    if assurance.meets(authn.acr, need):
        finish_login(authn)
        db.session.commit()
        return redirect(next_path, code=303)
    factors = sf.factors_of(person.id)
    if factors.any:
        sf.start_pending(session, authn, utcnow())
        db.session.commit()
        return redirect(url_for("verify.second_factor", next=next_path, acr=need,
                                cancel=_cancel_path()), code=303)
    if sf.holds_role(person.id):
        audit.record("login.refused", person_id=person.id, reason="second_factor_missing")
        db.session.commit()
        return render_template("authn/second_factor_missing.html", staff=True), 403
    # Nothing to step up with: log in at the level proven; whoever needs more will say so.
    finish_login(authn)
    db.session.commit()
    return redirect(next_path, code=303)


def _complete(first: sf.FirstFactor, added: tuple[str, ...]) -> None:
    if first.session is not None:
        sessions.stepped_up(added)
        throttle.completed(first.person.id, first.session.amr, now=utcnow())
    else:
        finish_login(sf.completed_authentication(first, added))


@bp.route("/login/verify", methods=["GET", "POST"])
def second_factor():
    next_path = safe_next(request.values.get("next"))
    requested = _requested_acr()
    cancel = _cancel_path()
    now = utcnow()
    first = sf.first_factor(session, sessions.current(), now)
    if first is None:
        db.session.commit()
        return redirect(url_for("authn.login", next=next_path, acr=requested, cancel=cancel))
    unreachable = False
    if assurance.is_second_factor_proven(first.amr) and first.session is not None:
        if assurance.meets(first.session.acr, requested):
            db.session.commit()
            return redirect(next_path)
        # Asked for more than any factor here can prove (e.g. aal3): only going back is left.
        unreachable = True
    error, status = None, 200
    if request.method == "POST" and not unreachable:
        kind = request.form.get("method")
        if kind in ("totp", "recovery"):
            try:
                added, left = sf.check_code(first, kind, request.form.get("code", ""), now=now,
                                            settings=_settings(), ip=client_ip())
            except sf.CodeRejected:
                error, status = _("That code is not right, or it was already used."), 400
            except (throttle.Throttled, throttle.AccountLocked) as exc:
                error, status = _throttle_message(exc), exc.status
            else:
                _complete(first, added)
                db.session.commit()
                if left is not None:
                    return render_template("authn/recovery_code_used.html", remaining=left,
                                           next=next_path)
                return redirect(next_path, code=303)
        else:
            error, status = _("Please choose a way to confirm it is you."), 400
    factors = sf.factors_of(first.person.id)
    db.session.commit()
    return render_template(
        "authn/second_factor.html", factors=sf.Factors() if unreachable else factors,
        error=error, next=next_path, unreachable=unreachable,
        acr=requested, cancel=cancel, stepping_up=first.session is not None,
        passkeys_available=_settings().passkeys_available and bool(factors.passkeys)), status


def _throttle_message(exc) -> str:
    if isinstance(exc, throttle.Throttled):
        return _("Too many attempts. Please wait %(seconds)s seconds and try again.",
                 seconds=exc.retry_after)
    return _(exc.public)


# --- passkeys: options and assertions (JSON, called by static/passkeys.js) ----------------------

def _json_error(message: str, status: int = 400):
    return jsonify({"error": message}), status


@bp.post("/login/passkey/options")
def passkey_options():
    settings = _settings()
    if not settings.passkeys_available:
        return _json_error(_("Passkeys are not available here."), 404)
    now = utcnow()
    person_id = None
    if (request.get_json(silent=True) or {}).get("mode") == "second_factor":
        first = sf.first_factor(session, sessions.current(), now)
        if first is None:
            return _json_error(_("Please sign in again."), 401)
        person_id = first.person.id
    options = passkeys.authentication_options(settings=settings, browser_key=browser_key(),
                                              now=now, person_id=person_id)
    db.session.commit()
    return jsonify(options)


@bp.post("/login/passkey")
def passkey_login():
    """A passkey assertion: alone (discoverable, user-verified: AAL2) or as the second factor
    of a pending login or a step-up."""
    settings = _settings()
    if not settings.passkeys_available:
        return _json_error(_("Passkeys are not available here."), 404)
    body = request.get_json(silent=True) or {}
    credential = body.get("credential")
    next_path = safe_next(body.get("next"))
    if not isinstance(credential, dict):
        return _json_error(_("The passkey could not be verified. Please try again."))
    now = utcnow()
    first = None
    if body.get("mode") == "second_factor":
        first = sf.first_factor(session, sessions.current(), now)
        if first is None:
            return _json_error(_("Please sign in again."), 401)
        keys = throttle.second_factor_keys(first.person.id, client_ip())
        bypass = False
    else:
        keys = throttle.source_only_keys(client_ip())
        bypass = True  # the passkey lockout policy: see throttle.py
    try:
        attempt = throttle.begin(keys, now=now, settings=settings,
                                 person_id=first.person.id if first else None,
                                 bypass_account_lock=bypass)
    except (throttle.Throttled, throttle.AccountLocked) as exc:
        return _json_error(_throttle_message(exc), exc.status)
    try:
        stored, verified_user = passkeys.authenticate(
            credential, settings=settings, browser_key=browser_key(), now=now,
            person_id=first.person.id if first else None)
    except passkeys.PasskeyError as exc:
        # The challenge stays consumed: a failed answer can't be retried with it.
        attempt.failed()
        known = passkeys.credential_for(credential)
        if known is not None:
            throttle.record_failure(throttle.second_factor_key(known.person_id), now=now,
                                    settings=settings, person_id=known.person_id)
        audit.record("login.failed", person_id=known.person_id if known else None,
                     method="passkey", reason=(exc.detail or "")[:80])
        db.session.commit()
        return _json_error(_(exc.public))
    attempt.passed()
    added = assurance.passkey_amr(backup_eligible=stored.backup_eligible,
                                  user_verified=verified_user)
    audit.record("login.succeeded", person_id=stored.person_id, method="passkey",
                 credential=stored.id)
    if first is not None:
        _complete(first, added)
    else:
        from ..models import Person

        person = db.session.get(Person, stored.person_id)
        if person is None or not person.is_active:
            db.session.rollback()
            return _json_error(_("The passkey could not be verified. Please try again."))
        finish_login(Authentication(person=person, acr=assurance.acr_for(added), amr=added))
    db.session.commit()
    return jsonify({"redirect": next_path})
