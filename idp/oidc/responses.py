"""Authorization responses (RFC 6749 §4.1.2) in the two response modes we offer, `query` and
`form_post` (OAuth 2.0 Form Post Response Mode), always carrying `iss` (RFC 9207).

Only ever called with a redirect URI that was already checked against the client's registration.
"""

from __future__ import annotations

import secrets
from urllib.parse import urlsplit

from authlib.common.urls import add_params_to_uri
from authlib.oauth2.rfc6749.errors import OAuth2Error
from flask import Response, redirect, render_template

from ..security import set_csp
from .provider import provider


def response_mode(data) -> str:
    return "form_post" if data.get("response_mode") == "form_post" else "query"


def authorization_response(redirect_uri: str, params: list[tuple[str, str]], mode: str
                           ) -> Response:
    params = [*params, ("iss", provider().issuer)]
    if mode == "form_post":
        return _form_post(redirect_uri, params)
    # 303: the browser must GET the client, never re-POST what it sent us (RFC 9700 §4.12).
    return redirect(add_params_to_uri(redirect_uri, params), code=303)


def error_redirect(error: OAuth2Error, data) -> Response:
    params = [(k, v) for k, v in error.get_body() if v is not None]
    return authorization_response(error.redirect_uri, params, response_mode(data))


def _form_post(redirect_uri: str, params: list[tuple[str, str]]) -> Response:
    nonce = secrets.token_urlsafe(16)
    target = urlsplit(redirect_uri)
    origin = f"{target.scheme}://{target.netloc}"
    # The page may run one script (ours, by nonce) and submit a form only to the client.
    set_csp(f"default-src 'none'; script-src 'nonce-{nonce}'; style-src 'self'; "
            f"form-action {origin}; frame-ancestors 'none'; base-uri 'none'")
    body = render_template("oidc/form_post.html", action=redirect_uri, params=params,
                           nonce=nonce)
    return Response(body, 200, mimetype="text/html")
