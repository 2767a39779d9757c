"""A 24-hour self-service terminal signing a citizen in with the device flow (RFC 8628).

It asks Tongban for a device code, shows the user code (easy to read aloud) and a QR code of
`verification_uri_complete` for the person to scan with their phone, then polls the token
endpoint at the interval Tongban set, adding 5 seconds whenever told to `slow_down`, until the
person approves (tokens), declines (`access_denied`) or the code expires (`expired_token`).
Terminals get short-lived tokens and no refresh token: the next citizen starts afresh.
"""

from __future__ import annotations

import io
import time

import requests
import segno

DEVICE_CODE = "urn:ietf:params:oauth:grant-type:device_code"


class TerminalError(Exception):
    def __init__(self, error: str):
        super().__init__(error)
        self.error = error


class Terminal:
    def __init__(self, issuer: str, client_id: str, *, scope: str = "openid profile",
                 show=print, sleep=time.sleep):
        self.client_id, self.scope, self.show, self.sleep = client_id, scope, show, sleep
        self.http = requests.Session()
        self.metadata = self.http.get(issuer + "/.well-known/openid-configuration",
                                      timeout=10).json()
        self.polls: list[float] = []

    def start(self) -> dict:
        response = self.http.post(self.metadata["device_authorization_endpoint"], timeout=10,
                                  data={"client_id": self.client_id, "scope": self.scope})
        body = response.json()
        if response.status_code != 200:
            raise TerminalError(body.get("error", "error"))
        return body

    def screen(self, grant: dict) -> str:
        """What the terminal displays: the code, where to type it, and a QR code to scan."""
        qr = io.StringIO()
        segno.make(grant["verification_uri_complete"], error="m").terminal(out=qr, compact=True)
        return (f"请用手机扫码，或访问 {grant['verification_uri']} 输入代码\n"
                f"Scan with your phone, or visit {grant['verification_uri']} and enter\n\n"
                f"        {grant['user_code']}\n\n{qr.getvalue()}")

    def wait_for_tokens(self, grant: dict) -> dict:
        interval = grant.get("interval", 5)
        deadline = time.monotonic() + grant["expires_in"]
        while time.monotonic() < deadline:
            self.sleep(interval)
            self.polls.append(time.monotonic())
            response = self.http.post(self.metadata["token_endpoint"], timeout=10, data={
                "grant_type": DEVICE_CODE, "device_code": grant["device_code"],
                "client_id": self.client_id})
            body = response.json()
            if response.status_code == 200:
                return body
            error = body.get("error")
            if error == "authorization_pending":
                continue
            if error == "slow_down":
                interval += 5
                continue
            raise TerminalError(error or "error")
        raise TerminalError("expired_token")

    def sign_in(self) -> dict:
        grant = self.start()
        self.show(self.screen(grant))
        return self.wait_for_tokens(grant)

    def userinfo(self, tokens: dict) -> dict:
        return self.http.get(self.metadata["userinfo_endpoint"], timeout=10, headers={
            "Authorization": f"Bearer {tokens['access_token']}"}).json()
