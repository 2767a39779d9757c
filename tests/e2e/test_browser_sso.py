"""A real browser (Debian Chromium, driven by Playwright) across the live IdP and both sample
portals: single sign-on, single logout through front-channel iframes (OIDC Front-Channel Logout
1.0), and the login page as people see it (small screens, labels, language)."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from playwright.sync_api import expect, sync_playwright

from .conftest import DEMO_PASSWORD, DEMO_USER

pytestmark = [pytest.mark.e2e, pytest.mark.browser]

CHROMIUM_ARGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic",
                 "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
TIMEOUT_MS = 15_000


@pytest.fixture(scope="module")
def browser(chromium_path):
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=chromium_path, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def context(browser):
    context = browser.new_context(locale="zh-CN")
    context.set_default_timeout(TIMEOUT_MS)
    yield context
    context.close()


@pytest.fixture
def screenshots(tmp_path) -> Path:
    path = Path(os.environ.get("TONGBAN_SCREENSHOTS") or tmp_path)
    path.mkdir(parents=True, exist_ok=True)
    return path


def starting(prefix: str) -> re.Pattern:
    """A URL that is `prefix`, with or without a query."""
    return re.compile(re.escape(prefix) + r"(\?.*)?$")


def signed_out(page, portal) -> None:
    expect(page).to_have_url(starting(portal.url + "/"))  # after logout: `?state=...`
    expect(page.locator("#status")).to_contain_text("Not signed in")


def signed_in(page, portal) -> None:
    expect(page).to_have_url(portal.url + "/")
    expect(page.locator("#status")).to_contain_text("Signed in")
    expect(page.locator("#user")).to_have_text("张三")


def test_single_sign_on_and_single_logout(live_idp, context):
    portal_a, portal_b = live_idp.portals["A"], live_idp.portals["B"]
    login_url = live_idp.issuer + "/login"
    page = context.new_page()
    visited: list[str] = []  # every document request, redirects and iframes included
    context.on("request", lambda r: visited.append(r.url) if r.is_navigation_request() else None)

    # Portal A first tries single sign-on silently; nobody is signed in at the IdP yet.
    page.goto(portal_a.url + "/")
    signed_out(page, portal_a)
    page.locator("#login").click()
    expect(page).to_have_url(starting(login_url))
    expect(page.locator("main")).to_contain_text("Portal A")  # who is asking
    page.get_by_label("账号").fill(DEMO_USER)
    page.get_by_label("密码").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="登录").click()
    signed_in(page, portal_a)

    # Portal B: signed in through the IdP session, no login page, no password.
    visited.clear()
    page.goto(portal_b.url + "/")
    signed_in(page, portal_b)
    assert not [url for url in visited if url.startswith(login_url)], visited
    assert [url for url in visited if url.startswith(live_idp.issuer + "/authorize?")
            and "prompt=none" in url], visited

    # Sign out at B: the IdP ends its session and loads every portal's front-channel URI.
    visited.clear()
    page.locator("#logout").click()
    # The logged-out page moves on once every frame has loaded, or after 5 s regardless;
    # arriving well before that shows the frames' load events were seen.
    expect(page).to_have_url(starting(portal_b.url + "/"), timeout=4000)
    signed_out(page, portal_b)
    assert any(url.startswith(portal_a.url + "/frontchannel-logout?") for url in visited), \
        visited
    page.goto(portal_a.url + "/")
    signed_out(page, portal_a)

    # And the IdP itself asks for the password again.
    page.goto(live_idp.issuer + "/")
    expect(page).to_have_url(starting(login_url))
    expect(page.locator("#password")).to_be_visible()


@pytest.mark.parametrize(("name", "viewport"), [
    ("mobile", {"width": 390, "height": 844}),
    ("desktop", {"width": 1280, "height": 800}),
])
def test_login_page_screenshots(live_idp, browser, screenshots, name, viewport):
    context = browser.new_context(locale="zh-CN", viewport=viewport,
                                  is_mobile=name == "mobile", has_touch=name == "mobile")
    try:
        page = context.new_page()
        page.goto(live_idp.issuer + "/login")
        expect(page.locator("h1")).to_have_text("登录")
        # Nothing spills sideways on a phone.
        assert page.evaluate("document.documentElement.scrollWidth") <= viewport["width"]
        path = screenshots / f"login-{name}.png"
        page.screenshot(path=str(path), full_page=True)
    finally:
        context.close()
    data = path.read_bytes()
    assert data.startswith(PNG_SIGNATURE) and len(data) > 1000


def test_login_form_fields_have_accessible_labels(live_idp, context):
    page = context.new_page()
    page.goto(live_idp.issuer + "/login")
    unlabelled = page.evaluate("""() => [...document.querySelectorAll(
            'input:not([type=hidden]), select, textarea')]
        .filter(el => !(el.labels && [...el.labels].some(l => l.textContent.trim()))
                      && !el.getAttribute('aria-label') && !el.getAttribute('aria-labelledby'))
        .map(el => el.outerHTML)""")
    assert unlabelled == []
    # The accessible names are what assistive technology announces.
    expect(page.get_by_role("textbox", name="账号")).to_have_attribute("autocomplete", "username")
    expect(page.get_by_label("密码")).to_have_attribute("type", "password")
    expect(page.get_by_role("button", name="登录")).to_be_visible()


def test_language_switch(live_idp, context):
    page = context.new_page()
    page.goto(live_idp.issuer + "/login?next=%2F")
    expect(page.locator("html")).to_have_attribute("lang", "zh-CN")
    expect(page.locator("h1")).to_have_text("登录")

    page.get_by_role("link", name="English").click()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.locator("h1")).to_have_text("Sign in")
    expect(page.get_by_label("Account")).to_be_visible()
    assert "next=%2F" in page.url  # the page is the same, only its language changed

    # The choice is remembered for the next page.
    page.goto(live_idp.issuer + "/login")
    expect(page.locator("h1")).to_have_text("Sign in")

    page.get_by_role("link", name="中文").click()
    expect(page.locator("html")).to_have_attribute("lang", "zh-CN")
    expect(page.locator("h1")).to_have_text("登录")
