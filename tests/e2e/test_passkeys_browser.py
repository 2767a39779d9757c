"""Real WebAuthn ceremonies in headless Chromium with the DevTools virtual authenticator (CTAP2,
resident keys, user verification): register a passkey on the account page, sign out, sign in at
the sample portal with the passkey alone, and find acr/amr in the ID token the portal received.

WebAuthn accepts plain http only on localhost, so the IdP runs with issuer
http://localhost:<port> (the RP ID and origin come from that setting).
"""

from __future__ import annotations

import pytest
from sqlalchemy import select

from clients.portal.app import create_portal

from .live import free_port, serving

pytestmark = [pytest.mark.browser, pytest.mark.e2e]

IDP_PORT = free_port()
PORTAL_PORT = free_port()
ISSUER = f"http://localhost:{IDP_PORT}"
PORTAL = f"http://127.0.0.1:{PORTAL_PORT}"


@pytest.fixture
def settings_overrides():
    return {"issuer": ISSUER}


@pytest.fixture
def browser_page(chromium_path):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium_path, headless=True)
        context = browser.new_context(locale="en-US")
        page = context.new_page()
        page.set_default_timeout(15_000)
        cdp = context.new_cdp_session(page)
        cdp.send("WebAuthn.enable")
        added = cdp.send("WebAuthn.addVirtualAuthenticator", {"options": {
            "protocol": "ctap2", "transport": "internal", "hasResidentKey": True,
            "hasUserVerification": True, "isUserVerified": True,
            "automaticPresenceSimulation": True}})
        page.authenticator = (cdp, added["authenticatorId"])
        yield page
        browser.close()


@pytest.fixture
def live(app, make_client):
    rp = make_client(name="政务服务门户 A", first_party=True,
                     redirect_uris=(f"{PORTAL}/callback",),
                     post_logout_redirect_uris=[f"{PORTAL}/"])
    portal = create_portal(name="Portal A", issuer=ISSUER, client_id=rp.client_id,
                           client_secret=rp.plain_secret, base_url=PORTAL)
    with serving(app, IDP_PORT), serving(portal, PORTAL_PORT):
        yield rp


def _sign_in_with_password(page, username, password):
    page.fill("#account", username)
    page.fill("#password", password)
    page.click("form button[type=submit]")


def test_register_passkey_then_sign_in_with_it_alone(app, live, browser_page, make_person,
                                                     tmp_path):
    from ..conftest import PASSWORD

    page = browser_page
    person = make_person()
    page.goto(f"{ISSUER}/login?next=/account/security")
    _sign_in_with_password(page, person.username, PASSWORD)
    page.wait_for_url(f"{ISSUER}/account/security")
    page.fill("#passkey-name", "My laptop")
    page.click("#passkey-register button")
    page.wait_for_selector(".factor")
    assert page.input_value(".factor input[name=name]") == "My laptop"
    page.screenshot(path=str(tmp_path / "security.png"), full_page=True)

    cdp, authenticator = page.authenticator
    creds = cdp.send("WebAuthn.getCredentials", {"authenticatorId": authenticator})["credentials"]
    assert len(creds) == 1 and creds[0]["isResidentCredential"]

    with app.app_context():
        from idp.extensions import db
        from idp.models import WebAuthnCredential

        stored = db.session.scalar(select(WebAuthnCredential))
        assert stored.person_id == person.id and stored.name == "My laptop"
        assert stored.last_used_at is None

    # Sign out everywhere, then sign in at the portal with the passkey alone.
    page.goto(f"{ISSUER}/")
    page.click("form[action$='/logout/confirm'] button")
    page.goto(f"{PORTAL}/")
    page.wait_for_selector("#login")
    page.click("#login")
    page.wait_for_selector("#passkey-button")
    page.click("#passkey-button")
    page.wait_for_url(f"{PORTAL}/")
    assert page.text_content("#acr") == "urn:tongban:aal2"
    amr = page.text_content("#amr")
    assert amr in ("['hwk', 'user', 'mfa']", "['swk', 'user', 'mfa']"), amr
    page.screenshot(path=str(tmp_path / "portal.png"), full_page=True)

    creds = cdp.send("WebAuthn.getCredentials", {"authenticatorId": authenticator})["credentials"]
    with app.app_context():
        from idp.extensions import db
        from idp.models import WebAuthnCredential

        stored = db.session.scalar(select(WebAuthnCredential))
        assert stored.last_used_at is not None
        assert stored.sign_count == creds[0]["signCount"] > 0
