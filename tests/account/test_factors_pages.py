"""The person's sign-in methods page: set up an authenticator app (QR drawn here, first code
confirms, recovery codes shown once), remove it only after a recent login that proved the second
factor, replace recovery codes."""

from __future__ import annotations

import re

from sqlalchemy import select

from idp.extensions import db
from idp.models import RecoveryCode, TotpFactor

from ..conftest import PASSWORD
from ..factors import audit_events, code_at
from ..helpers import csrf_token, login


def _secret(html: str) -> str:
    return re.search(r'id="totp-secret"[^>]*>([A-Z2-7 ]+)<', html).group(1).replace(" ", "")


def enrol_through_pages(client, frozen_clock):
    page = client.get("/account/security/totp")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert 'src="data:image/svg+xml' in html, "QR code drawn by the IdP itself"
    secret = _secret(html)
    # Reloading the page keeps the same pending secret.
    assert _secret(client.get("/account/security/totp").get_data(as_text=True)) == secret
    done = client.post("/account/security/totp", data={
        "csrf_token": csrf_token(html), "code": code_at(secret, frozen_clock.now())})
    return secret, done


def test_set_up_authenticator_app_and_get_recovery_codes_once(client, app, make_person,
                                                              frozen_clock):
    person = make_person()
    login(client, person.username)
    page = client.get("/account/security/totp")
    wrong = client.post("/account/security/totp", data={
        "csrf_token": csrf_token(page.get_data(as_text=True)), "code": "12345"})
    assert wrong.status_code == 400
    secret, done = enrol_through_pages(client, frozen_clock)
    assert done.status_code == 200
    codes = re.findall(r"<code>([a-z0-9]{5}-[a-z0-9]{5})</code>", done.get_data(as_text=True))
    assert len(codes) == 10 and len(set(codes)) == 10
    with app.app_context():
        factor = db.session.scalar(select(TotpFactor))
        assert factor.confirmed_at is not None and secret not in factor.secret_encrypted
        hashes = [r.code_hash for r in db.session.scalars(select(RecoveryCode))]
        assert len(hashes) == 10 and not any(c.replace("-", "") in h for c in codes
                                             for h in hashes)
    security = client.get("/account/security").get_data(as_text=True)
    assert "10 unused recovery codes" in security or "10" in security.split(
        'id="recovery-remaining"')[1][:60]
    assert not any(code in security for code in codes), "codes are shown only once"
    assert audit_events(app, "totp.enrolled")


def test_removing_the_app_needs_a_recent_login_with_the_second_factor(client, app, make_person,
                                                                      frozen_clock):
    person = make_person()
    login(client, person.username)
    secret, _ = enrol_through_pages(client, frozen_clock)
    frozen_clock.advance(700)
    token = csrf_token(client.get("/account/security").get_data(as_text=True))
    stale = client.post("/account/security/totp/remove", data={"csrf_token": token})
    assert stale.status_code == 303
    assert stale.headers["Location"].startswith("/login?")
    assert "acr=urn%3Atongban%3Aaal2" in stale.headers["Location"] or \
        "acr=urn:tongban:aal2" in stale.headers["Location"]
    # A fresh password alone is not enough once a second factor exists.
    password_only = login(client, person.username, next_path="/account/security")
    assert password_only.headers["Location"] == "/account/security"
    still = client.post("/account/security/totp/remove", data={"csrf_token": token})
    assert still.headers["Location"].startswith("/login?")
    reauth = client.get(still.headers["Location"])
    again = client.post(reauth.request.full_path, data={
        "csrf_token": csrf_token(reauth.get_data(as_text=True)), "account": person.username,
        "password": PASSWORD})
    assert again.headers["Location"].startswith("/login/verify")
    page = client.get(again.headers["Location"])
    frozen_clock.advance(30)
    done = client.post(page.request.full_path, data={
        "csrf_token": csrf_token(page.get_data(as_text=True)), "method": "totp",
        "code": code_at(secret, frozen_clock.now())})
    assert done.headers["Location"] == "/account/security"
    removed = client.post("/account/security/totp/remove", data={"csrf_token": token})
    assert removed.status_code == 303 and removed.headers["Location"] == "/account/security"
    with app.app_context():
        assert db.session.scalar(select(TotpFactor)) is None
    assert audit_events(app, "totp.removed")


def test_replacing_recovery_codes(client, app, make_person, frozen_clock):
    person = make_person()
    login(client, person.username)
    token = csrf_token(client.get("/account/security").get_data(as_text=True))
    first = client.post("/account/security/recovery-codes", data={"csrf_token": token})
    second = client.post("/account/security/recovery-codes", data={"csrf_token": token})
    old = re.findall(r"<code>([a-z0-9-]{11})</code>", first.get_data(as_text=True))
    new = re.findall(r"<code>([a-z0-9-]{11})</code>", second.get_data(as_text=True))
    assert len(old) == len(new) == 10 and not set(old) & set(new)
    with app.app_context():
        assert db.session.query(RecoveryCode).count() == 10
    assert len(audit_events(app, "recovery_codes.generated")) == 2


def test_pages_need_a_session(client):
    response = client.get("/account/security")
    assert response.status_code == 302 and response.headers["Location"].startswith("/login?")
    assert client.get("/account/security/totp").status_code == 302
