"""The person's sign-in methods: authenticator app, passkeys, recovery codes.

Every change (add, remove, new codes) needs a recent first-factor login and, once the person has
a second factor, a session that proved it (second_factor.may_change_factors); otherwise the
person is sent to sign in again and comes straight back. Renaming a passkey needs neither.
"""

from __future__ import annotations

from flask import (
    Blueprint,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _

from ..authn import assurance, passkeys, recovery_codes, sessions, totp
from ..authn import second_factor as sf
from ..authn.second_factor_views import browser_key
from ..authn.views import safe_next
from ..clock import utcnow
from ..extensions import db
from ..settings import current as _settings

bp = Blueprint("factors", __name__, url_prefix="/account/security")



def _next() -> str | None:
    raw = request.values.get("next")
    return safe_next(raw) if raw else None


def _here() -> str:
    return url_for("factors.security", next=_next())


def _reauth_url(session) -> str:
    enrolled = session is not None and sf.factors_of(session.person_id).enrolled
    return url_for("authn.login", next=_here(), acr=assurance.AAL2 if enrolled else None)


def _guard():
    """(session, None) when the person may change factors now, else (session, response)."""
    sso = sessions.current()
    if sso is None:
        db.session.commit()
        return None, redirect(url_for("authn.login", next=_here()))
    if not sf.may_change_factors(sso, utcnow(), _settings()):
        db.session.commit()
        if request.is_json:
            return sso, (jsonify({"error": _("Please sign in again to change this."),
                                  "redirect": _reauth_url(sso)}), 401)
        return sso, redirect(_reauth_url(sso), code=303)
    return sso, None


@bp.get("")
def security():
    sso = sessions.current()
    if sso is None:
        db.session.commit()
        return redirect(url_for("authn.login", next=_here()))
    factors = sf.factors_of(sso.person_id)
    db.session.commit()
    return render_template("account/security.html", person=sso.person, session=sso,
                           factors=factors, next=_next(),
                           passkeys_available=_settings().passkeys_available)


# --- authenticator app ---------------------------------------------------------------------------

@bp.route("/totp", methods=["GET", "POST"])
def totp_setup():
    sso, stop = _guard()
    if stop:
        return stop
    person, now, settings = sso.person, utcnow(), _settings()
    if totp.factor_of(person.id) is not None:
        db.session.commit()
        return redirect(_here())
    error = None
    if request.method == "POST":
        if totp.confirm_enrolment(person, request.form.get("code", ""), now=now,
                                  settings=settings):
            codes = None
            if recovery_codes.remaining(person.id) == 0:
                codes = recovery_codes.generate(person.id, now=now, settings=settings)
            db.session.commit()
            flash(_("Your authenticator app is set up."))
            if codes:
                return render_template("account/recovery_codes.html", codes=codes,
                                       next=_next())
            return redirect(_here(), code=303)
        error = _("That code is not right. Check the time on your phone and try the newest code.")
    secret = totp.pending_secret(person, settings) or totp.start_enrolment(
        person, now=now, settings=settings)
    uri = totp.provisioning_uri(secret, person.username or person.sub, settings)
    db.session.commit()
    grouped = " ".join(secret[i:i + 4] for i in range(0, len(secret), 4))
    return render_template("account/totp_setup.html", qr=totp.qr_data_uri(uri), secret=grouped,
                           error=error, next=_next()), (400 if error else 200)


@bp.post("/totp/remove")
def totp_remove():
    sso, stop = _guard()
    if stop:
        return stop
    if totp.remove(sso.person_id, now=utcnow()):
        flash(_("The authenticator app was removed."))
    db.session.commit()
    return redirect(_here(), code=303)


# --- recovery codes ------------------------------------------------------------------------------

@bp.post("/recovery-codes")
def recovery_codes_new():
    sso, stop = _guard()
    if stop:
        return stop
    codes = recovery_codes.generate(sso.person_id, now=utcnow(), settings=_settings())
    db.session.commit()
    return render_template("account/recovery_codes.html", codes=codes, next=_next())


# --- passkeys ------------------------------------------------------------------------------------

@bp.post("/passkeys/options")
def passkey_options():
    if not _settings().passkeys_available:
        return jsonify({"error": _("Passkeys are not available here.")}), 404
    sso, stop = _guard()
    if stop:
        return stop
    options = passkeys.registration_options(sso.person, settings=_settings(),
                                            browser_key=browser_key(), now=utcnow())
    db.session.commit()
    return jsonify(options)


@bp.post("/passkeys")
def passkey_add():
    if not _settings().passkeys_available:
        return jsonify({"error": _("Passkeys are not available here.")}), 404
    sso, stop = _guard()
    if stop:
        return stop
    body = request.get_json(silent=True) or {}
    credential = body.get("credential")
    if not isinstance(credential, dict):
        return jsonify({"error": _("The passkey could not be verified. Please try again.")}), 400
    try:
        passkeys.register(sso.person, credential, body.get("name"), settings=_settings(),
                          browser_key=browser_key(), now=utcnow())
    except passkeys.PasskeyError as exc:
        db.session.commit()  # the challenge stays used
        return jsonify({"error": _(exc.public)}), 400
    db.session.commit()
    flash(_("Your passkey was added."))
    return jsonify({"redirect": _here()})


@bp.post("/passkeys/<int:credential>/rename")
def passkey_rename(credential: int):
    sso = sessions.current()
    if sso is None:
        return redirect(url_for("authn.login", next=_here()))
    passkeys.rename(sso.person_id, credential, request.form.get("name", ""))
    db.session.commit()
    return redirect(_here(), code=303)


@bp.post("/passkeys/<int:credential>/remove")
def passkey_remove(credential: int):
    sso, stop = _guard()
    if stop:
        return stop
    if passkeys.remove(sso.person_id, credential):
        flash(_("The passkey was removed."))
    db.session.commit()
    return redirect(_here(), code=303)
