"""A command-line native app signing in with Tongban the way RFC 8252 says native apps must:

* the system browser, never an embedded web view (`webbrowser.open`; tests drive a stand-in);
* a loopback redirect on an ephemeral port (`http://127.0.0.1:<port>/callback`; the client
  registers `http://127.0.0.1/callback` and Tongban accepts any port), listening only on
  127.0.0.1;
* PKCE S256, `state` and `nonce`; a public client (no secret); the ID token checked against the
  IdP's keys; the `iss` authorization response parameter (RFC 9207) checked.

Then it refreshes (rotating refresh token) and logs out (revokes the refresh token, RFC 7009,
and opens the IdP's end-session page in the browser).
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import threading
import time
import webbrowser
from http.server import BaseHTTPRequestHandler, HTTPServer
from urllib.parse import parse_qs, urlencode, urlsplit

import requests
from joserfc import jwt
from joserfc.jwk import KeySet

CALLBACK_PATH = "/callback"


class SignInError(Exception):
    pass


def _pkce() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(
        b"=").decode()
    return verifier, challenge


class _LoopbackReceiver:
    """One redirect on 127.0.0.1, on a port the kernel picks."""

    def __init__(self):
        received: dict = {}
        done = threading.Event()

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                parts = urlsplit(self.path)
                if parts.path != CALLBACK_PATH:
                    self.send_error(404)
                    return
                received.update({k: v[0] for k, v in parse_qs(parts.query).items()})
                body = ("<!doctype html><meta charset='utf-8'><title>Tongban</title>"
                        "<p>登录完成，请回到应用。Signed in: you can return to the app.</p>")
                self.send_response(200)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Cache-Control", "no-store")
                self.end_headers()
                self.wfile.write(body.encode())
                done.set()

            def log_message(self, *args):  # the query holds the code: never log it
                return

        self.server = HTTPServer(("127.0.0.1", 0), Handler)
        self.received, self.done = received, done
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def redirect_uri(self) -> str:
        return f"http://127.0.0.1:{self.server.server_port}{CALLBACK_PATH}"

    def wait(self, timeout: float) -> dict:
        try:
            if not self.done.wait(timeout):
                raise SignInError("no answer from the browser in time")
            return dict(self.received)
        finally:
            self.server.shutdown()
            self.server.server_close()


class NativeApp:
    def __init__(self, issuer: str, client_id: str, *, scope: str = "openid profile",
                 open_browser=webbrowser.open, timeout: float = 300):
        self.issuer, self.client_id, self.scope = issuer, client_id, scope
        self.open_browser, self.timeout = open_browser, timeout
        self.http = requests.Session()
        self.metadata = self.http.get(issuer + "/.well-known/openid-configuration",
                                      timeout=10).json()
        if self.metadata["issuer"] != issuer:
            raise SignInError("discovery document names another issuer")
        self.tokens: dict = {}
        self.claims: dict = {}

    # --- sign in -------------------------------------------------------------------------------
    def login(self) -> dict:
        receiver = _LoopbackReceiver()
        verifier, challenge = _pkce()
        state, nonce = secrets.token_urlsafe(16), secrets.token_urlsafe(16)
        url = self.metadata["authorization_endpoint"] + "?" + urlencode({
            "response_type": "code", "client_id": self.client_id,
            "redirect_uri": receiver.redirect_uri, "scope": self.scope, "state": state,
            "nonce": nonce, "code_challenge": challenge, "code_challenge_method": "S256"})
        self.open_browser(url)
        answer = receiver.wait(self.timeout)
        if answer.get("state") != state:
            raise SignInError("state mismatch")
        if answer.get("iss") != self.issuer:
            raise SignInError("response from an unexpected issuer")
        if "error" in answer:
            raise SignInError(answer["error"])
        tokens = self._token({"grant_type": "authorization_code", "code": answer["code"],
                              "redirect_uri": receiver.redirect_uri,
                              "code_verifier": verifier})
        self.claims = self._check_id_token(tokens["id_token"], nonce)
        self.tokens = tokens
        return tokens

    def refresh(self) -> dict:
        tokens = self._token({"grant_type": "refresh_token",
                              "refresh_token": self.tokens["refresh_token"]})
        self.tokens = {**self.tokens, **tokens}
        return tokens

    def logout(self, *, end_browser_session: bool = True) -> None:
        for kind in ("refresh_token", "access_token"):
            if self.tokens.get(kind):
                self.http.post(self.metadata["revocation_endpoint"], timeout=10, data={
                    "token": self.tokens[kind], "token_type_hint": kind,
                    "client_id": self.client_id})
        if end_browser_session and self.tokens.get("id_token"):
            self.open_browser(self.metadata["end_session_endpoint"] + "?" + urlencode({
                "id_token_hint": self.tokens["id_token"], "client_id": self.client_id}))
        self.tokens = {}

    def userinfo(self) -> dict:
        response = self.http.get(self.metadata["userinfo_endpoint"], timeout=10, headers={
            "Authorization": f"Bearer {self.tokens['access_token']}"})
        response.raise_for_status()
        return response.json()

    # --- plumbing ------------------------------------------------------------------------------
    def _token(self, data: dict) -> dict:
        response = self.http.post(self.metadata["token_endpoint"], timeout=10,
                                  data={**data, "client_id": self.client_id})
        body = response.json()
        if response.status_code != 200:
            raise SignInError(body.get("error", "token request failed"))
        return body

    def _check_id_token(self, id_token: str, nonce: str) -> dict:
        keys = KeySet.import_key_set(self.http.get(self.metadata["jwks_uri"], timeout=10).json())
        claims = jwt.decode(id_token, keys, algorithms=["RS256", "PS256", "ES256"]).claims
        now = time.time()
        if (claims.get("iss") != self.issuer or claims.get("aud") != self.client_id
                or claims.get("nonce") != nonce or claims.get("exp", 0) < now - 60):
            raise SignInError("ID token failed validation")
        return claims
