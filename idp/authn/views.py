"""Login, registration and logout pages at the IdP. Thin: forms in, authentication calls out,
then a redirect to the local `next` path (whoever that belongs to)."""

from __future__ import annotations

from flask import Blueprint, current_app, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_wtf import FlaskForm
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired, Length

from ..clock import utcnow
from ..extensions import db
from ..security import client_ip
from ..settings import current as _settings
from . import assurance, password_login, registration, sessions, throttle

bp = Blueprint("authn", __name__)


def safe_next(value: str | None) -> str:
    """Only local paths: never another origin, never a scheme, never `//host`."""
    if (not value or not value.startswith("/") or value.startswith("//") or "\\" in value
            or any(ord(c) < 0x20 for c in value) or len(value) > 512):
        return url_for("account.home")
    return value



def login_context(next_path: str) -> dict | None:
    """Who is asking the person to log in (a client name, a login hint), if anyone said so;
    registered by the protocol layer so this module needs to know nothing of it."""
    provider = current_app.extensions.get("tongban.login_context")
    return provider(next_path) if provider else None


class LoginForm(FlaskForm):
    account = StringField(validators=[DataRequired(), Length(max=254)])
    password = PasswordField(validators=[DataRequired(), Length(max=1024)])


class RegisterForm(FlaskForm):
    username = StringField(validators=[DataRequired(), Length(max=64)])
    display_name = StringField(validators=[Length(max=100)])
    email = StringField(validators=[Length(max=254)])
    phone = StringField(validators=[Length(max=32)])
    password = PasswordField(validators=[DataRequired(), Length(max=1024)])
    confirm = PasswordField(validators=[DataRequired(), Length(max=1024)])


@bp.route("/login", methods=["GET", "POST"])
def login():
    next_path = safe_next(request.values.get("next"))
    context = login_context(next_path) or {}
    g.ui_locales = context.get("ui_locales")
    form = LoginForm()
    error, status = None, 200
    # The level the login must reach, as whoever sent the person here asked (a plain acr value).
    requested = request.values.get("acr") if request.values.get("acr") in assurance.LEVELS \
        else None
    if request.method == "GET" and context.get("login_hint"):
        form.account.data = context["login_hint"]
    if form.validate_on_submit():
        try:
            authn = password_login.authenticate(form.account.data, form.password.data,
                                                now=utcnow(), settings=_settings(),
                                                ip=client_ip())
        except password_login.LoginFailed as exc:
            error, status = exc.public, 400
        except throttle.Throttled as exc:
            error, status = _("Too many attempts. Please wait %(seconds)s seconds and try again.",
                              seconds=exc.retry_after), exc.status
        except throttle.AccountLocked as exc:
            error, status = exc.public, exc.status
        else:
            if authn.person.password_reset_required:
                # An officer asked for a new password: no session until one is chosen (and
                # then the second factor is still asked for, as at every login).
                from .renewal import begin

                db.session.commit()
                return begin(authn, next_path, requested)
            from .second_factor_views import after_first_factor

            # 303: the browser GETs the next page and never re-submits the password.
            return after_first_factor(authn, next_path, requested)
    elif request.method == "POST":
        error, status = _("Please enter your account and password."), 400
    return render_template("authn/login.html", form=form, error=error, next=next_path,
                           context=context, acr=requested, cancel=request.values.get("cancel"),
                           passkeys_available=_settings().passkeys_available), status


@bp.route("/register", methods=["GET", "POST"])
def register():
    next_path = safe_next(request.values.get("next"))
    form = RegisterForm()
    problems: dict[str, str] = {}
    attempt = None
    if form.validate_on_submit():
        # Trying names until one is taken is throttled per source like a login.
        try:
            attempt = throttle.begin(throttle.source_only_keys(client_ip()), now=utcnow(),
                                     settings=_settings())
        except throttle.Throttled as exc:
            return render_template("authn/register.html", form=form, problems={"form": "busy"},
                                   next=next_path, retry_after=exc.retry_after), exc.status
        if form.password.data != form.confirm.data:
            problems["confirm"] = "mismatch"
        else:
            try:
                person = registration.register(
                    username=form.username.data, password=form.password.data,
                    email=form.email.data or "", phone=form.phone.data or "",
                    display_name=form.display_name.data or "", now=utcnow())
            except registration.RegistrationRefused as exc:
                problems = exc.problems
            else:
                attempt.passed()
                sessions.login(sessions.Authentication(
                    person=person, acr=password_login.ACR_PASSWORD, amr=("pwd",)))
                db.session.commit()
                return redirect(next_path, code=303)
    elif request.method == "POST":
        problems["form"] = "incomplete"
    db.session.rollback()
    if attempt is not None and problems.get("username") != "unavailable":
        attempt.passed()  # only a taken name counts against the source
        db.session.commit()
    return render_template("authn/register.html", form=form, problems=problems,
                           next=next_path), (400 if problems else 200)
