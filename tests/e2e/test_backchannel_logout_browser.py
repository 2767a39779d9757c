"""A citizen signed in at portals A and B ends the session from the account centre; both
portals receive back-channel logout tokens and show the citizen signed out.

Everything is real: the IdP under gunicorn, the logout worker and two sample portals as
subprocesses on free loopback ports, driven by Debian's Chromium through Playwright.
"""

from __future__ import annotations

import time

import pytest
from sqlalchemy import select

from idp.extensions import db
from idp.models import LogoutDelivery

from ..conftest import PASSWORD
from .processes import Processes, free_port, idp_env, start_idp, start_portal, start_worker

pytestmark = [pytest.mark.e2e, pytest.mark.browser]


def portal_client(make_client, name: str, port: int):
    base = f"http://127.0.0.1:{port}"
    return make_client(name=name, redirect_uris=(f"{base}/callback",),
                       post_logout_redirect_uris=[f"{base}/"],
                       backchannel_logout_uri=f"{base}/backchannel-logout", first_party=True)


def status_of(page, url: str) -> str:
    page.goto(url)
    return page.locator("#status").inner_text()


def wait_signed_out(page, url: str, seconds: float = 15) -> str:
    deadline = time.monotonic() + seconds
    text = ""
    while time.monotonic() < deadline:
        text = status_of(page, url)
        if "Not signed in" in text:
            return text
        time.sleep(0.3)
    return text


def test_ending_the_session_in_the_account_centre_signs_out_every_portal(
        app, migrated, keys_dir, tmp_path, make_person, make_client, chromium_path):
    from playwright.sync_api import sync_playwright

    citizen = make_person(display_name="李四")
    idp_port, port_a, port_b = free_port(), free_port(), free_port()
    issuer = f"http://127.0.0.1:{idp_port}"
    client_a = portal_client(make_client, "政务服务门户 A", port_a)
    client_b = portal_client(make_client, "社保服务门户 B", port_b)
    env = idp_env(issuer=issuer, database_url=migrated, keys_dir=keys_dir,
                  instance=tmp_path / "instance")
    procs = Processes(tmp_path)
    try:
        start_idp(procs, idp_port, env)
        start_worker(procs, env)
        portal_a = start_portal(procs, "政务服务门户 A", port_a, issuer, client_a)
        portal_b = start_portal(procs, "社保服务门户 B", port_b, issuer, client_b)
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=chromium_path, headless=True)
            page = browser.new_page(locale="zh-CN")
            # Portal A: not signed in after the silent attempt; sign in at the IdP.
            assert "Not signed in" in status_of(page, portal_a + "/")
            page.click("#login")
            page.fill("#account", citizen.username)
            page.fill("#password", PASSWORD)
            page.click("button[type=submit]")
            page.wait_for_url(portal_a + "/")
            assert "Signed in" in page.locator("#status").inner_text()
            # Portal B: single sign-on, no password.
            assert "Signed in" in status_of(page, portal_b + "/")

            # The account centre lists the session with both portals; end it there.
            page.goto(issuer + "/account/sessions")
            portals = page.locator(".portals").inner_text()
            assert "政务服务门户 A" in portals and "社保服务门户 B" in portals
            page.get_by_role("button", name="结束此会话").click()
            page.wait_for_url(lambda url: "/login" in url)

            # Both portals were told over the back channel.
            assert "Not signed in" in wait_signed_out(page, portal_a + "/")
            assert "Not signed in" in wait_signed_out(page, portal_b + "/")
            browser.close()
        with app.app_context():
            rows = db.session.scalars(select(LogoutDelivery)).all()
            assert sorted((r.client_id, r.state, r.reason) for r in rows) == sorted([
                (client_a.id, "delivered", "ended_by_person"),
                (client_b.id, "delivered", "ended_by_person")])
    except AssertionError:
        for name in ("idp", "worker", f"portal-{port_a}", f"portal-{port_b}"):
            print(f"--- {name} ---\n{procs.log(name)[-3000:]}")
        raise
    finally:
        procs.stop_all()
