"""Small helpers for driving the IdP through Flask's test client."""

from __future__ import annotations

import base64
import hashlib
import re
import secrets
from urllib.parse import parse_qs, urlsplit

from .conftest import ISSUER, PASSWORD

CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"|value="([^"]+)"[^>]*name="csrf_token"')


def pkce_pair() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(
        b"=").decode()
    return verifier, challenge


def csrf_token(html: str) -> str:
    match = CSRF.search(html)
    assert match, "no CSRF token on the page"
    return match.group(1) or match.group(2)


def basic(client_id: str, secret: str) -> dict:
    raw = base64.b64encode(f"{client_id}:{secret}".encode()).decode()
    return {"Authorization": f"Basic {raw}"}


def query(response) -> dict[str, str]:
    """The parameters of a redirect's Location (single values)."""
    location = response.headers["Location"]
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}


def login(http, account: str, password: str = PASSWORD, next_path: str = "/"):
    page = http.get("/login", query_string={"next": next_path})
    return http.post("/login", query_string={"next": next_path},
                     data={"csrf_token": csrf_token(page.get_data(as_text=True)),
                           "account": account, "password": password})


class Flow:
    """An authorization-code flow for one client, step by step."""

    def __init__(self, http, client, *, redirect_uri: str | None = None, scope="openid profile",
                 pkce: bool = True):
        self.http = http
        self.client = client
        self.redirect_uri = redirect_uri or client.redirect_uris[0]
        self.verifier, self.challenge = pkce_pair() if pkce else (None, None)
        self.state = secrets.token_urlsafe(8)
        self.nonce = secrets.token_urlsafe(8)
        self.scope = scope

    def params(self, **overrides) -> dict:
        params = {"response_type": "code", "client_id": self.client.client_id,
                  "redirect_uri": self.redirect_uri, "scope": self.scope, "state": self.state,
                  "nonce": self.nonce}
        if self.challenge:
            params.update(code_challenge=self.challenge, code_challenge_method="S256")
        params.update(overrides)
        return {k: v for k, v in params.items() if v is not None}

    def authorize(self, **overrides):
        return self.http.get("/authorize", query_string=self.params(**overrides))

    def code(self, consent: bool = True, **overrides) -> str:
        """Authorize with an existing session and return the code, following redirects that
        stay at the IdP and approving the consent page when `consent` is true."""
        response = self.authorize(**overrides)
        response = follow_local(self.http, response, consent=consent)
        assert response.status_code in (302, 303), response.get_data(as_text=True)[:500]
        params = query(response)
        assert "code" in params, params
        assert params["iss"] == ISSUER
        return params["code"]

    def token(self, code: str, *, verifier: str | None = "default", auth: str = "basic",
              **extra):
        data = {"grant_type": "authorization_code", "code": code,
                "redirect_uri": self.redirect_uri}
        verifier = self.verifier if verifier == "default" else verifier
        if verifier:
            data["code_verifier"] = verifier
        data.update(extra)
        return token_call(self.http, self.client, data, auth=auth)

    def tokens(self, **overrides) -> dict:
        response = self.token(self.code(**overrides))
        assert response.status_code == 200, response.get_json()
        return response.get_json()


def follow_local(http, response, *, consent: bool = True):
    """Follow redirects within the IdP; approve a consent page if asked to."""
    for _ in range(10):
        if response.status_code in (302, 303) and response.headers["Location"].startswith("/"):
            response = http.get(response.headers["Location"])
            continue
        location = response.request.path if response.request else ""
        if consent and response.status_code == 200 and location.startswith("/consent/"):
            response = http.post(location, data={
                "csrf_token": csrf_token(response.get_data(as_text=True)), "decision": "allow"})
            continue
        return response
    raise AssertionError("redirect loop")


def token_call(http, client, data: dict, *, auth: str = "basic", path: str = "/token"):
    headers = {}
    data = dict(data)
    if auth == "basic" and client.plain_secret:
        headers = basic(client.client_id, client.plain_secret)
    elif auth == "post" and client.plain_secret:
        data.update(client_id=client.client_id, client_secret=client.plain_secret)
    elif auth == "none" or not client.plain_secret:
        data["client_id"] = client.client_id
    return http.post(path, data=data, headers=headers)


def signed_in(http, make_person, **person_fields):
    person = make_person(**person_fields)
    response = login(http, person.username)
    assert response.status_code == 303, response.get_data(as_text=True)[:300]
    return person


def error_page(response) -> str:
    """The OAuth `error` shown on the IdP's own error page; fails if the response redirects
    anywhere (RFC 6749 §4.1.2.1: no redirect before client and redirect URI are verified)."""
    assert response.status_code == 400, (response.status_code, response.headers.get("Location"))
    assert "Location" not in response.headers
    match = re.search(r"<code>([a-z_]+)</code>", response.get_data(as_text=True))
    assert match, "not the IdP error page"
    return match.group(1)


def bearer(access_token: str) -> dict:
    return {"Authorization": f"Bearer {access_token}"}


def refresh(http, client, refresh_token: str, *, auth: str = "basic", **extra):
    """A refresh_token grant request for `client`."""
    return token_call(http, client, {"grant_type": "refresh_token", "refresh_token": refresh_token,
                                     **extra}, auth=auth)


def introspect(http, client, token: str, **extra):
    return token_call(http, client, {"token": token, **extra}, path="/introspect")


def revoke(http, client, token: str, **extra):
    return token_call(http, client, {"token": token, **extra}, path="/revoke")


def as_two_factor(app, person) -> None:
    """Count `person`'s live sessions as two-factor sign-ins (AAL2), as an administrator's must
    be (idp/authz.py). The two-factor login itself is tested in tests/authn."""
    from sqlalchemy import update

    from idp.extensions import db
    from idp.models import SsoSession

    with app.app_context():
        db.session.execute(update(SsoSession).where(
            SsoSession.person_id == person.id, SsoSession.ended_at.is_(None)).values(
            acr="urn:tongban:aal2", amr=["pwd", "otp", "mfa"]))
        db.session.commit()
