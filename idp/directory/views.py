"""The department login page and the page that links a department account to the signed-in
person. Thin: form in, idp.directory.login out, then a redirect to the local `next` path."""

from __future__ import annotations

from datetime import timedelta

from flask import Blueprint, g, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_wtf import FlaskForm
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired, Length

from ..authn import sessions
from ..authn.views import login_context, safe_next
from ..clock import utcnow
from ..extensions import db
from ..security import client_ip
from . import accounts, directories
from . import login as flow

bp = Blueprint("directory", __name__)

#: linking needs a Tongban login this recent (the person proves both accounts, now)
LINK_FRESH = timedelta(minutes=15)

NOT_LINKED = ("This department account is not linked to a Tongban account yet. Sign in with "
              "your own Tongban account first, then link your department account once.")
IN_REVIEW = ("A security officer has to check how this department account belongs to a "
             "Tongban account. You can sign in with it once the check is done.")
STAFF_ONLY = ("Accounts of this department are staff accounts; they cannot be linked to a "
              "personal Tongban account.")
UNRESOLVED = "Choose your department, or type DEPARTMENT\\username."
INCOMPLETE = "Please choose your department and enter your account and password."


class DepartmentForm(FlaskForm):
    department = StringField(validators=[Length(max=64)])
    account = StringField(validators=[DataRequired(), Length(max=300)])
    # Not DataRequired: a blank password takes the same path as a wrong one (and never binds).
    password = PasswordField(validators=[Length(max=1024)])


def _departments() -> list[tuple[str, str]]:
    locale = str(get_locale() or "zh_CN")
    return [(c.id, c.label(locale)) for c in directories()]


def _render(template: str, form: DepartmentForm, *, status: int = 200, **values):
    return render_template(template, form=form, departments=_departments(), **values), status


def _attempt(form: DepartmentForm, action):
    """Resolve the department and run `action(config, login)`; (result, error, status)."""
    resolved = directories().resolve(form.account.data, form.department.data or None)
    if resolved is None:
        return None, UNRESOLVED, 400
    config, login_name = resolved
    try:
        return action(config, login_name), None, 200
    except flow.DirectoryDown as exc:
        return None, exc.public, exc.status
    except (flow.DepartmentLoginFailed, flow.TooManyAttempts) as exc:
        return None, exc.public, exc.status
    except accounts.NotLinked as exc:
        message = {"needs_link": NOT_LINKED, "review_pending": IN_REVIEW,
                   "not_allowed": STAFF_ONLY}.get(
            exc.reason, flow.DepartmentLoginFailed.public)
        return None, message, 403


@bp.route("/login/department", methods=["GET", "POST"])
def login():
    next_path = safe_next(request.values.get("next"))
    context = login_context(next_path) or {}
    g.ui_locales = context.get("ui_locales")
    form = DepartmentForm()
    error, status = None, 200
    if form.validate_on_submit():
        result, error, status = _attempt(form, lambda config, name: flow.log_in(
            directories(), config.id, name, form.password.data or "", now=utcnow(),
            ip=client_ip()))
        if result is not None:
            session = sessions.login(result.authentication)
            accounts.remember_session(session, result.account, utcnow())
            db.session.commit()
            return redirect(next_path, code=303)
    elif request.method == "POST":
        error, status = INCOMPLETE, 400
    return _render("directory/login.html", form, status=status, error=error, next=next_path,
                   context=context, offer_link=error == NOT_LINKED)


@bp.route("/login/department/link", methods=["GET", "POST"])
def link():
    next_path = safe_next(request.values.get("next"))
    here = url_for("directory.link", next=next_path)
    sso = sessions.current()
    if sso is None or utcnow() - sso.auth_time > LINK_FRESH:
        db.session.commit()
        return redirect(url_for("authn.login", next=here))
    form = DepartmentForm()
    error, status, outcome = None, 200, None
    if form.validate_on_submit():
        person = sso.person
        result, error, status = _attempt(form, lambda config, name: flow.link(
            directories(), config.id, name, form.password.data or "", person, now=utcnow(),
            ip=client_ip()))
        if result is not None:
            outcome, account = result
            if outcome in ("linked", "already"):
                accounts.remember_session(sso, account, utcnow())
            db.session.commit()
    elif request.method == "POST":
        error, status = INCOMPLETE, 400
    db.session.commit()
    return _render("directory/link.html", form, status=status, error=error, next=next_path,
                   outcome=outcome, person=sso.person)


#: who may see the directories' health (DESIGN.md §5: system admins run directories,
#: security officers watch logins)
STATUS_ROLES = ("system_admin", "security_officer")


@bp.get("/directory/status")
def status():
    from ..authz import require_role
    from ..clock import utcnow
    from . import health

    sso = sessions.current()
    if sso is None:
        db.session.commit()
        return redirect(url_for("authn.login", next=url_for("directory.status")))
    require_role(sso, *STATUS_ROLES, now=utcnow())
    db.session.commit()
    return render_template("directory/status.html", rows=health.report(directories()))
