"""HTTP adapters for the protocol endpoints. Each view turns the request into a call on the
engine and the engine's answer into a response; decisions live in the modules they name."""

from __future__ import annotations

import logging
import secrets

from authlib.oauth2.rfc6749 import AccessDeniedError, InvalidRequestError, OAuth2Error
from flask import (
    Blueprint,
    Response,
    current_app,
    jsonify,
    redirect,
    render_template,
    request,
    session,
    url_for,
)

from .. import audit
from ..authn import sessions
from ..clock import utcnow
from ..extensions import csrf, db
from . import authorize as decisions
from . import discovery, interactions, realname, responses, userinfo
from .errors import UnmetAuthenticationRequirementsError
from .logout import logout_page
from .provider import provider
from .server import StoredRequest

log = logging.getLogger(__name__)
bp = Blueprint("oidc", __name__)


def server():
    return current_app.extensions["tongban.authorization_server"]


def browser_key() -> str:
    """A random value in this browser's signed cookie that binds interactions to it."""
    if "browser" not in session:
        session["browser"] = secrets.token_urlsafe(16)
    return session["browser"]


# --- metadata ------------------------------------------------------------------------------------

@bp.get("/.well-known/openid-configuration")
@bp.get("/.well-known/oauth-authorization-server")
def openid_configuration():
    response = jsonify(discovery.metadata(provider()))
    response.headers["Access-Control-Allow-Origin"] = "*"
    response.headers["Cache-Control"] = "public, max-age=3600"
    return response


@bp.get("/jwks")
def jwks():
    response = jsonify(provider().keys.jwks())
    response.headers["Access-Control-Allow-Origin"] = "*"
    # Short: a rotation publishes the next key `key_publish_ahead` before it signs.
    response.headers["Cache-Control"] = "public, max-age=300"
    return response


# --- authorization endpoint ----------------------------------------------------------------------

@bp.route("/authorize", methods=["GET", "POST"])
@csrf.exempt
def authorize():
    if request.method == "POST":
        # A cross-site POST carries no SameSite=Lax cookie; park the request and continue with
        # a top-level GET, which does.
        _row, ticket = interactions.create(list(request.form.items(multi=True)), utcnow(),
                                           provider().settings.interaction_ttl)
        db.session.commit()
        return redirect(url_for("oidc.resume", ticket=ticket), code=303)
    return _run(server().create_oauth2_request(None), interaction=None, ticket=None)


@bp.get("/authorize/continue/<ticket>")
def resume(ticket: str):
    row = interactions.claim(ticket, browser_key(), utcnow())
    if row is None:
        return _error_page("interaction_expired", status=400)
    return _run(StoredRequest(row.params), interaction=row, ticket=ticket)


def _run(oauth_request, interaction, ticket):
    data = oauth_request.payload.data
    try:
        grant = server().get_consent_grant(request=oauth_request, end_user=None)
        sso = sessions.current()
        step = decisions.decide(grant, sso, interaction, utcnow(), provider().pairwise_key)
    except OAuth2Error as error:
        db.session.rollback()
        if error.redirect_uri:
            return responses.error_redirect(error, data)
        return _error_page(error.error, description=error.description)

    if step is not decisions.Next.ISSUE:
        if interaction is None:
            interaction, ticket = interactions.create(
                list(request.args.items(multi=True)), utcnow(), provider().settings.interaction_ttl)
            interactions.bind(interaction, browser_key())
        db.session.commit()
        need = decisions.required_acr(grant)
        resume_path = url_for("oidc.resume", ticket=ticket)
        cancel_path = url_for("oidc.cancel", ticket=ticket) if need else None
        if step is decisions.Next.LOGIN:
            return redirect(url_for("authn.login", next=resume_path, acr=need, cancel=cancel_path))
        if step is decisions.Next.STEP_UP:
            return redirect(url_for("verify.second_factor", next=resume_path, acr=need,
                                    cancel=cancel_path))
        if step is decisions.Next.VERIFY:
            needed = realname.verification_step(grant, sso.person_id, silent=False)
            return redirect(url_for("verification.start", level=needed.level,
                                    client=needed.client, next=resume_path))
        return redirect(url_for("oidc.consent", ticket=ticket))

    params = grant.issue_code(sso)
    if interaction is not None:
        interaction.completed_at = utcnow()
    db.session.commit()
    return responses.authorization_response(grant.redirect_uri, params,
                                            responses.response_mode(data))


@bp.get("/authorize/cancel/<ticket>")
def cancel(ticket: str):
    """The person gave up on reaching the level the client needs: tell the client so."""
    row = interactions.claim(ticket, browser_key(), utcnow())
    if row is None:
        return _error_page("interaction_expired", status=400)
    oauth_request = StoredRequest(row.params)
    try:
        grant = server().get_consent_grant(request=oauth_request, end_user=None)
    except OAuth2Error as error:
        return _error_page(error.error, description=error.description)
    row.completed_at = utcnow()
    sso = sessions.current()
    audit.record("authorization.abandoned", person_id=sso.person_id if sso else None,
                 client_id=grant.request.client.client_id, acr=decisions.required_acr(grant))
    db.session.commit()
    error = UnmetAuthenticationRequirementsError(
        redirect_uri=grant.redirect_uri, state=oauth_request.payload.data.get("state"),
        description="The required authentication level was not reached.")
    return responses.error_redirect(error, oauth_request.payload.data)


@bp.route("/consent/<ticket>", methods=["GET", "POST"])
def consent(ticket: str):
    row = interactions.claim(ticket, browser_key(), utcnow())
    sso = sessions.current()
    if row is None or sso is None:
        return _error_page("interaction_expired", status=400)
    oauth_request = StoredRequest(row.params)
    try:
        grant = server().get_consent_grant(request=oauth_request, end_user=None)
    except OAuth2Error as error:
        return _error_page(error.error, description=error.description)
    scopes, claim_names = decisions.consent_needed_for(grant)
    if request.method == "POST":
        if request.form.get("decision") == "allow":
            decisions.record_consent(sso.person_id, grant.request.client.id, scopes, claim_names,
                                     utcnow())
            row.consent_at = utcnow()
            audit.record("consent.granted", person_id=sso.person_id,
                         client_id=grant.request.client.client_id, scopes=sorted(scopes))
            db.session.commit()
            return redirect(url_for("oidc.resume", ticket=ticket), code=303)
        row.completed_at = utcnow()
        audit.record("consent.denied", person_id=sso.person_id,
                     client_id=grant.request.client.client_id)
        db.session.commit()
        error = AccessDeniedError(redirect_uri=grant.redirect_uri,
                                  state=oauth_request.payload.data.get("state"))
        return responses.error_redirect(error, oauth_request.payload.data)
    db.session.commit()
    return render_template("oidc/consent.html", client=grant.request.client,
                           scopes=sorted(scopes), claims=sorted(claim_names),
                           person=sso.person)


def _error_page(error: str, description: str | None = None, status: int = 400):
    return render_template("oidc/error.html", error=error, description=description), status


# --- token endpoint and friends ------------------------------------------------------------------

def _reject_malformed_backchannel_request():
    # Credentials and grants belong in the body (RFC 6749 §2.3.1, §3.2); a query string may
    # end up in logs.
    if request.args:
        raise InvalidRequestError("Parameters must be sent in the request body.")
    for name in request.form:
        if len(request.form.getlist(name)) > 1:
            raise InvalidRequestError(f"Parameter '{name}' is repeated.")
    # RFC 6749 §2.3: a client MUST NOT use more than one authentication method per request.
    if request.authorization is not None and (request.form.get("client_secret")
                                              or request.form.get("client_assertion")):
        raise InvalidRequestError("Use one client authentication method only.")


def _backchannel(call) -> Response:
    try:
        _reject_malformed_backchannel_request()
    except OAuth2Error as error:
        return server().handle_error_response(None, error)
    try:
        response = call()
    except Exception:
        db.session.rollback()
        raise
    if response.status_code == 200:
        db.session.commit()
    else:
        db.session.rollback()
    return response


@bp.post("/token")
@csrf.exempt
def token():
    return _backchannel(lambda: server().create_token_response())


@bp.post("/device_authorization")
@csrf.exempt
def device_authorization():
    return _backchannel(lambda: server().create_endpoint_response("device_authorization"))


@bp.post("/introspect")
@csrf.exempt
def introspect():
    return _backchannel(lambda: server().create_endpoint_response("introspection"))


@bp.post("/revoke")
@csrf.exempt
def revoke():
    return _backchannel(lambda: server().create_endpoint_response("revocation"))


@bp.route("/userinfo", methods=["GET", "POST"])
@csrf.exempt
def userinfo_endpoint():
    try:
        token = userinfo.bearer_token(request.method, request.headers, request.form, request.args)
        body = userinfo.claims_for(token)
    except userinfo.BearerError as error:
        response = jsonify({"error": error.error, "error_description": error.description}
                           if error.error else {})
        response.status_code = error.status
        response.headers["WWW-Authenticate"] = error.header()
        return response
    response = jsonify(body)
    response.headers["Cache-Control"] = "no-store"
    return response


# --- RP-initiated logout -------------------------------------------------------------------------

@bp.route("/logout", methods=["GET", "POST"])
@csrf.exempt
def logout():
    return logout_page(server(), confirmed=False)


@bp.post("/logout/confirm")
def logout_confirm():
    return logout_page(server(), confirmed=True)
