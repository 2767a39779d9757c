"""A sample government portal that relies on Tongban for sign-in (Authlib's Flask client).

It is what a department's web portal looks like when integrated: code flow with PKCE and nonce,
ID token validated against the IdP's JWKS, RP-initiated logout with `id_token_hint`, and
front-channel and back-channel logout that end the portal's own session when the IdP session
ends (back-channel: the IdP POSTs a signed logout token, see backchannel.py).

Run: `python -m clients.portal` with PORTAL_NAME, PORTAL_PORT, TONGBAN_ISSUER, PORTAL_CLIENT_ID
and PORTAL_CLIENT_SECRET in the environment (``make run`` does this for two demo portals).
"""

from __future__ import annotations

import html
import logging
import os
import secrets
import threading

from authlib.integrations.flask_client import OAuth, OAuthError
from flask import Flask, jsonify, redirect, request, session, url_for

from .backchannel import LogoutTokenError, LogoutTokenVerifier


class SessionStore:
    """The portal's own server-side sessions, findable by the IdP's `sid` for logout."""

    def __init__(self):
        self._lock = threading.Lock()
        self._by_id: dict[str, dict] = {}

    def create(self, data: dict) -> str:
        key = secrets.token_urlsafe(24)
        with self._lock:
            self._by_id[key] = data
        return key

    def get(self, key: str | None) -> dict | None:
        with self._lock:
            return self._by_id.get(key) if key else None

    def drop(self, key: str | None) -> None:
        with self._lock:
            self._by_id.pop(key, None)

    def drop_sub(self, iss: str, sub: str) -> int:
        with self._lock:
            doomed = [k for k, v in self._by_id.items()
                      if v.get("claims", {}).get("sub") == sub and v.get("iss") == iss]
            for key in doomed:
                del self._by_id[key]
        return len(doomed)

    def drop_sid(self, iss: str, sid: str) -> int:
        with self._lock:
            doomed = [k for k, v in self._by_id.items()
                      if v.get("sid") == sid and v.get("iss") == iss]
            for key in doomed:
                del self._by_id[key]
        return len(doomed)


def create_portal(*, name: str, issuer: str, client_id: str, client_secret: str, base_url: str,
                  secret_key: str | None = None) -> Flask:
    app = Flask(__name__)
    port = base_url.rsplit(":", 1)[-1].strip("/")
    app.config.update(
        SECRET_KEY=secret_key or secrets.token_urlsafe(32),
        # Cookies are per host, not per port: each portal needs its own cookie name.
        SESSION_COOKIE_NAME=f"portal_{port}",
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_HTTPONLY=True,
    )
    store = SessionStore()
    app.extensions["portal.sessions"] = store
    oauth = OAuth(app)
    idp = oauth.register(
        "tongban", client_id=client_id, client_secret=client_secret,
        server_metadata_url=issuer + "/.well-known/openid-configuration",
        client_kwargs={"scope": "openid profile email phone", "code_challenge_method": "S256"},
    )

    verifier = LogoutTokenVerifier(issuer=issuer, client_id=client_id,
                                   jwks=lambda force: idp.fetch_jwk_set(force=force))
    app.extensions["portal.logout_verifier"] = verifier

    def current() -> dict | None:
        return store.get(session.get("portal_session"))

    def page(body: str) -> str:
        return (f"<!doctype html><html lang='zh-CN'><head><meta charset='utf-8'>"
                f"<meta name='viewport' content='width=device-width, initial-scale=1'>"
                f"<title>{html.escape(name)}</title></head><body style='font-family:system-ui;"
                f"font-size:18px;max-width:36rem;margin:2rem auto;padding:0 1rem'>"
                f"<h1>{html.escape(name)}</h1>{body}</body></html>")

    @app.get("/")
    def home():
        user = current()
        if user is None:
            # Opening the portal tries single sign-on once, silently.
            if not session.get("tried_silent"):
                session["tried_silent"] = True
                return redirect(url_for("login", silent=1))
            return page("<p id='status'>未登录 Not signed in</p>"
                        f"<p><a id='login' href='{url_for('login')}'>通过通办登录 Sign in with "
                        "Tongban</a></p>")
        claims = user["claims"]
        who = html.escape(str(claims.get("name") or claims.get("preferred_username")
                              or claims["sub"]))
        return page(f"<p id='status'>已登录 Signed in as <strong id='user'>{who}</strong></p>"
                    f"<p>实名等级 Real-name level: <strong id='level'>L"
                    f"{html.escape(str(claims.get('real_name_level', 0)))}</strong></p>"
                    f"<p>acr: <code id='acr'>{html.escape(str(claims.get('acr')))}</code> "
                    f"amr: <code id='amr'>{html.escape(str(claims.get('amr')))}</code></p>"
                    f"<p><a id='logout' href='{url_for('logout')}'>退出 Sign out</a></p>")

    @app.get("/login")
    def login():
        extra = {"prompt": "none"} if request.args.get("silent") else {}
        return idp.authorize_redirect(base_url + "/callback", **extra)

    @app.route("/callback", methods=["GET", "POST"])
    def callback():
        if request.values.get("iss") not in (None, issuer):
            return page("<p>Response from an unexpected issuer.</p>"), 400
        try:
            token = idp.authorize_access_token()
        except OAuthError as exc:
            if exc.error in ("login_required", "consent_required", "interaction_required"):
                return redirect(url_for("home"))
            return page(f"<p>Sign-in failed: {html.escape(exc.error or '')}</p>"), 400
        claims = dict(token["userinfo"])
        claims.update(idp.userinfo(token=token))
        store.drop(session.get("portal_session"))
        session["portal_session"] = store.create({
            "claims": claims, "id_token": token["id_token"], "sid": claims.get("sid"),
            "iss": claims.get("iss"), "refresh_token": token.get("refresh_token")})
        return redirect(url_for("home"))

    @app.get("/logout")
    def logout():
        user = current()
        store.drop(session.pop("portal_session", None))
        session["tried_silent"] = True
        if user is None:
            return redirect(url_for("home"))
        return idp.logout_redirect(post_logout_redirect_uri=base_url + "/",
                                   id_token_hint=user["id_token"])

    @app.get("/frontchannel-logout")
    def frontchannel_logout():
        """OIDC Front-Channel Logout 1.0: the IdP loads this in an iframe."""
        if request.args.get("iss") == issuer and request.args.get("sid"):
            store.drop_sid(issuer, request.args["sid"])
        response = app.make_response(("", 200))
        response.headers["Cache-Control"] = "no-cache, no-store"
        return response

    @app.post("/backchannel-logout")
    def backchannel_logout():
        """OIDC Back-Channel Logout 1.0 §2.5–2.8: the IdP POSTs a logout token."""
        try:
            claims = verifier.verify(request.form.get("logout_token"))
        except LogoutTokenError as exc:
            response = jsonify({"error": "invalid_request", "error_description": str(exc)})
            response.status_code = 400
        else:
            if claims.get("sid"):
                store.drop_sid(issuer, claims["sid"])
            else:
                store.drop_sub(issuer, claims["sub"])
            response = app.make_response(("", 200))
        response.headers["Cache-Control"] = "no-store"
        return response

    return app


def main() -> None:
    # The development server logs every request line, and callbacks carry codes in their query.
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    name = os.environ.get("PORTAL_NAME", "Portal")
    port = int(os.environ.get("PORTAL_PORT", "5001"))
    base_url = os.environ.get("PORTAL_BASE_URL", f"http://127.0.0.1:{port}")
    app = create_portal(name=name, issuer=os.environ["TONGBAN_ISSUER"],
                        client_id=os.environ["PORTAL_CLIENT_ID"],
                        client_secret=os.environ["PORTAL_CLIENT_SECRET"], base_url=base_url)
    app.run(host="127.0.0.1", port=port, threaded=True)


if __name__ == "__main__":
    main()
