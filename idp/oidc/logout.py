"""Logout: RP-initiated (OIDC RP-Initiated Logout 1.0) and its propagation to every client that
joined the session through front-channel logout (OIDC Front-Channel Logout 1.0).

Request validation (id_token_hint signed by us, exact post_logout_redirect_uri, no redirect on
any error) is Authlib's EndSessionEndpoint; this module decides whether the browser's session
may be ended without asking, ends it, and renders the page that notifies the clients.
"""

from __future__ import annotations

import secrets
from urllib.parse import urlencode, urlsplit

from authlib.oauth2.rfc6749 import OAuth2Error
from flask import render_template, request

from ..authn import sessions
from ..extensions import db
from ..models import SsoSession
from ..security import set_csp
from . import claims as claims_mod
from .provider import provider
from .revocation import revoke_session_tokens


def on_session_ended(session: SsoSession, reason: str, now) -> None:
    """Listener for authn's session_ended signal: the session's tokens end with it."""
    revoke_session_tokens(session.sid, now)


def _hint_matches(session: SsoSession, claims: dict, client) -> bool:
    if claims.get("sid"):
        return claims["sid"] == session.sid
    return client is not None and claims.get("sub") == claims_mod.subject_for(
        session.person, client, provider().pairwise_key)


def frontchannel_uris(session: SsoSession) -> list[str]:
    """Each joined client's front-channel logout URI with `iss` and `sid` (§2)."""
    uris = []
    for joined in session.clients:
        client = joined.client
        uri = client.frontchannel_logout_uri
        if not uri:
            continue
        if client.frontchannel_logout_session_required:
            separator = "&" if urlsplit(uri).query else "?"
            uri = uri + separator + urlencode({"iss": provider().issuer, "sid": session.sid})
        uris.append(uri)
    return uris


def logout_page(server, *, confirmed: bool):
    try:
        validated = server.validate_endpoint_request("end_session")
    except OAuth2Error as error:
        # Never redirect on an invalid request (§4); the person may still log out here.
        return render_template("oidc/logout_confirm.html", error=error.description,
                               fields={}), 400

    sso = sessions.current()
    claims = validated.id_token_claims
    proven = claims is not None and sso is not None and _hint_matches(sso, claims,
                                                                      validated.client)
    if sso is not None and not proven and not confirmed:
        fields = {k: v for k, v in request.values.items()
                  if k in ("id_token_hint", "post_logout_redirect_uri", "state", "client_id",
                           "ui_locales")}
        return render_template("oidc/logout_confirm.html", error=None, fields=fields,
                               client=validated.client)

    notify: list[str] = []
    if sso is not None:
        notify = frontchannel_uris(sso)
        sessions.logout("logout")
        db.session.commit()
    return _logged_out(notify, validated.redirect_uri if (proven or sso is None or confirmed)
                       else None, validated.client)


def _logged_out(frontchannel: list[str], redirect_uri: str | None, client):
    nonce = secrets.token_urlsafe(16)
    origins = sorted({f"{urlsplit(u).scheme}://{urlsplit(u).netloc}" for u in frontchannel})
    frame_src = " ".join(origins) if origins else "'none'"
    set_csp(f"default-src 'self'; script-src 'nonce-{nonce}'; style-src 'self'; "
            f"img-src 'self' data:; frame-src {frame_src}; frame-ancestors 'none'; "
            f"base-uri 'none'; object-src 'none'")
    return render_template("oidc/logged_out.html", frontchannel=frontchannel,
                           redirect_uri=redirect_uri, client=client, nonce=nonce)
