"""A mini-program's back end (a confidential Tongban client) doing the whole exchange.

The mini-program front end calls `wx.login()` (WeChat) or `my.getAuthCode()` (Alipay) and posts
the code here. The back end hands it to Tongban's token endpoint (RFC 8693 token exchange) with
its own client credentials; Tongban redeems the code with the platform itself.

* Linked: Tongban answers with an access token (and an ID token): the person is signed in.
* Not linked: `interaction_required` with a `binding_uri` (valid 60 s, once). The front end opens
  it in a `<web-view>`; the person signs in to Tongban there and confirms; the front end then
  calls `wx.login()` again and posts the new code: this time it is linked.

The back end never sees a password, and never stores the platform code.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import requests
from flask import Flask, jsonify, request

TOKEN_EXCHANGE = "urn:ietf:params:oauth:grant-type:token-exchange"
SUBJECT_TOKEN_TYPES = {
    "wechat": "urn:tongban:params:oauth:token-type:wechat-code",
    "alipay": "urn:tongban:params:oauth:token-type:alipay-auth-code",
}


@dataclass
class SignIn:
    status: str  # "signed_in", "bind", "retry" or "refused"
    tokens: dict = field(default_factory=dict)
    binding_uri: str | None = None
    error: str | None = None


class MiniProgramBackend:
    def __init__(self, issuer: str, client_id: str, client_secret: str):
        self.client_id, self.client_secret = client_id, client_secret
        self.http = requests.Session()
        self.metadata = self.http.get(issuer + "/.well-known/openid-configuration",
                                      timeout=10).json()

    def sign_in(self, platform: str, code: str, scope: str = "openid profile") -> SignIn:
        response = self.http.post(self.metadata["token_endpoint"], timeout=15,
                                  auth=(self.client_id, self.client_secret), data={
                                      "grant_type": TOKEN_EXCHANGE, "subject_token": code,
                                      "subject_token_type": SUBJECT_TOKEN_TYPES[platform],
                                      "scope": scope})
        body = response.json()
        if response.status_code == 200:
            return SignIn("signed_in", tokens=body)
        error = body.get("error")
        if error == "interaction_required" and body.get("binding_uri"):
            return SignIn("bind", binding_uri=body["binding_uri"], error=error)
        if error == "temporarily_unavailable":
            return SignIn("retry", error=error)
        return SignIn("refused", error=error)

    def userinfo(self, tokens: dict) -> dict:
        return self.http.get(self.metadata["userinfo_endpoint"], timeout=10, headers={
            "Authorization": f"Bearer {tokens['access_token']}"}).json()


def create_app(backend: MiniProgramBackend) -> Flask:
    """The HTTP API the mini-program front end calls: POST /api/login {platform, code}."""
    app = Flask(__name__)

    @app.post("/api/login")
    def login():
        data = request.get_json(force=True, silent=True) or {}
        if data.get("platform") not in SUBJECT_TOKEN_TYPES or not data.get("code"):
            return jsonify({"status": "refused", "error": "invalid_request"}), 400
        result = backend.sign_in(data["platform"], data["code"])
        if result.status == "signed_in":
            who = backend.userinfo(result.tokens)
            # A real back end starts its own session here; the tokens stay on the server.
            return jsonify({"status": "signed_in", "name": who.get("name"), "sub": who["sub"]})
        body = {"status": result.status, "error": result.error}
        if result.binding_uri:
            body["binding_uri"] = result.binding_uri
        return jsonify(body), 200 if result.status == "bind" else 400

    return app
