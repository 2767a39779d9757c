"""A developer registers a web client in the portal, a system admin approves it, and the sample
portal (clients/portal, a subprocess configured with the issued credentials) signs a citizen in
— all in headless Chromium against the IdP on a loopback port."""

import pyotp
import pytest
from playwright.sync_api import expect, sync_playwright

from ..conftest import PASSWORD
from ..factors import enrol_totp
from ..registration_fixtures import client_row, grant_role
from .live import LiveIdP, Portal, free_port

pytestmark = [pytest.mark.browser, pytest.mark.e2e]

IDP_PORT = free_port()
PORTAL_PORT = free_port()


@pytest.fixture
def settings_overrides():
    return {"issuer": f"http://127.0.0.1:{IDP_PORT}"}


def sign_in(page, account: str) -> None:
    page.fill("#account", account)
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")


def test_register_approve_and_sign_in_through_the_sample_portal(app, make_person, chromium_path,
                                                                 tmp_path):
    make_person(username="developer", display_name="开发者小李")
    admin = make_person(username="sysadmin", display_name="系统管理员")
    grant_role(app, admin)
    # Administrators need AAL2 at every login: password + authenticator app.
    admin_totp = pyotp.TOTP(enrol_totp(app, admin))
    make_person(username="citizen", display_name="张三")
    portal_url = f"http://127.0.0.1:{PORTAL_PORT}"

    with LiveIdP(app, IDP_PORT) as idp, sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium_path, headless=True)
        try:
            # --- the developer registers a web client -------------------------------------
            dev = browser.new_page()
            dev.goto(idp.url + "/developer/?lang=en")
            sign_in(dev, "developer")
            dev.fill("#org-name", "市人社局")
            dev.click("text=Create organisation")
            dev.click("#new-client")
            dev.fill("#name", "社保查询门户")
            dev.check("input[name=client_type][value=web]")
            dev.check("input[name=environment][value=production]")
            dev.fill("#redirect_uris", f"{portal_url}/callback")
            dev.fill("#post_logout_redirect_uris", f"{portal_url}/")
            dev.fill("#frontchannel_logout_uri", f"{portal_url}/frontchannel-logout")
            dev.fill("#contact", "ops@hrss.example.gov.cn")
            dev.screenshot(path=str(tmp_path / "register.png"), full_page=True)
            dev.click("#submit-client")
            expect(dev.locator("#client-secret")).to_be_visible()
            client_id = dev.inner_text("#client-id").strip()
            secret = dev.inner_text("#client-secret").strip()
            expect(dev.locator(".badge.pending")).to_be_visible()
            assert client_row(app, client_id).status == "pending"

            # --- a system admin approves it ------------------------------------------------
            adm = browser.new_context().new_page()
            adm.goto(idp.url + "/developer/admin/requests?lang=en")
            sign_in(adm, "sysadmin")
            adm.fill("#totp-code", admin_totp.now())
            adm.click("form:has(#totp-code) button[type=submit]")
            adm.click("text=社保查询门户")
            expect(adm.locator("text=" + f"{portal_url}/callback").first).to_be_visible()
            adm.screenshot(path=str(tmp_path / "approve.png"), full_page=True)
            adm.click("#approve")
            expect(adm.locator("#no-requests")).to_be_visible()
            assert client_row(app, client_id).status == "active"

            # --- the sample portal, configured with the issued credentials, signs in a citizen
            with Portal(issuer=idp.url, client_id=client_id, client_secret=secret,
                        port=PORTAL_PORT):
                citizen = browser.new_context().new_page()
                citizen.goto(portal_url + "/")
                expect(citizen.locator("#status")).to_contain_text("Not signed in")
                citizen.click("#login")
                sign_in(citizen, "citizen")
                citizen.click("button[name=decision][value=allow]")
                expect(citizen.locator("#user")).to_have_text("张三")
        finally:
            browser.close()
