"""Every channel end to end, against Tongban served by gunicorn on a loopback port and the WeChat
and Alipay simulators: the native sample with a real loopback redirect, the mini-program
exchange (unlinked → bind → linked), QR login in headless Chromium with the government app
confirming from another process, and a terminal's device flow with its polling interval
honoured."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time

import pytest
import requests
from playwright.sync_api import expect, sync_playwright
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from ..platform_fixtures import MINIPROGRAM_CLIENT_ID, platform_simulators  # noqa: F401
from .conftest import DEMO_PASSWORD, DEMO_USER, ROOT, LiveIdP, free_port, wait_ready
from .test_browser_sso import CHROMIUM_ARGS, TIMEOUT_MS

pytestmark = [pytest.mark.e2e]

MINIPROGRAM_SECRET = "tbs_" + "m" * 43
GOVAPP_ID = "tbc_e2e_government_app"
TERMINAL_ID = "tbc_e2e_service_hall_kiosk"
CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


@pytest.fixture(scope="module")
def channels_database():
    base = os.environ.get("TONGBAN_TEST_DATABASE_URL")
    if not base:
        yield None
        return
    url = make_url(base)
    name = f"{url.database}_tongban_channels_{os.getpid()}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    yield url.set(database=name).render_as_string(hide_password=False)
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(scope="module")
def idp(tmp_path_factory, platform_simulators, channels_database):  # noqa: F811
    base = tmp_path_factory.mktemp("channels-live")
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TONGBAN_", "PORTAL_"))}
    env.update(TONGBAN_ENV="development", TONGBAN_ISSUER=f"http://127.0.0.1:{port}",
               TONGBAN_INSTANCE_DIR=str(base / "instance"), TONGBAN_KEYS_DIR=str(base / "keys"),
               TONGBAN_WECHAT_API_URL=platform_simulators.wechat_url,
               TONGBAN_ALIPAY_GATEWAY_URL=platform_simulators.alipay_gateway,
               TONGBAN_PLATFORM_APPS_FILE=str(platform_simulators.platform_apps),
               # short waits in tests: terminals may poll every second, the QR page every 0.5 s
               TONGBAN_DEVICE_POLL_INTERVAL="1", TONGBAN_QR_POLL_INTERVAL="0.5",
               PYTHONUNBUFFERED="1")
    if channels_database:
        env["TONGBAN_DATABASE_URL"] = channels_database
    live = LiveIdP(issuer=env["TONGBAN_ISSUER"], env=env, logs=base)
    try:
        live.flask(("db", "upgrade"))
        server = live.start("gunicorn", [
            sys.executable, "-m", "gunicorn", "--bind", f"127.0.0.1:{port}", "--workers", "2",
            "--worker-class", "gthread", "--threads", "4", "--no-control-socket", "wsgi:app"],
            env, stop_signal=signal.SIGINT)
        live.flask(("demo", "seed", "--output", str(base / "portals.json"),
                    "--portal", "Portal=http://127.0.0.1:9"))
        live.create_clients(
            ("--name", "政务服务 App", "--type", "native", "--first-party",
             "--redirect-uri", "http://127.0.0.1/callback", "--client-id", GOVAPP_ID),
            ("--name", "社保小程序", "--type", "mini_program", "--client-id",
             MINIPROGRAM_CLIENT_ID, "--client-secret", MINIPROGRAM_SECRET),
            ("--name", "市民中心自助终端", "--type", "terminal", "--client-id", TERMINAL_ID))
        wait_ready(live, server, f"{live.issuer}/.well-known/openid-configuration")
        yield live
    finally:
        live.stop()


class Browser:
    """A person at a browser, driven over HTTP (the system browser's stand-in)."""

    def __init__(self, account: str = DEMO_USER, password: str = DEMO_PASSWORD):
        self.http = requests.Session()
        self.account, self.password = account, password
        self.visited: list[str] = []

    def open(self, url: str) -> requests.Response:
        response = self.http.get(url, timeout=10)
        if "/login" in response.url and 'name="password"' in response.text:
            response = self.http.post(response.url, timeout=10, data={
                "csrf_token": CSRF.search(response.text).group(1), "account": self.account,
                "password": self.password})
        self.visited.append(response.url)
        return response

    def submit(self, response, **fields) -> requests.Response:
        """Post the page's form (the one with a CSRF token) with `fields`."""
        action = re.search(r'<form method="post" action="([^"]+)"', response.text).group(1)
        base = response.url.split("/", 3)
        return self.http.post(f"{base[0]}//{base[2]}{action}", timeout=10, data={
            "csrf_token": CSRF.search(response.text).group(1), **fields})


# --- native app (RFC 8252) -----------------------------------------------------------------------

def test_native_app_logs_in_through_a_loopback_redirect_refreshes_and_logs_out(idp):
    from clients.native.app import NativeApp, SignInError

    browser = Browser()
    app = NativeApp(idp.issuer, GOVAPP_ID, open_browser=browser.open)

    tokens = app.login()

    callback = browser.visited[0]
    assert re.match(r"http://127\.0\.0\.1:\d+/callback\?code=", callback)
    assert ":5000" not in callback and f"{idp.issuer}" not in callback
    assert app.claims["acr"] == "urn:tongban:aal1"
    assert app.userinfo()["name"] == "张三"
    old_refresh = tokens["refresh_token"]

    app.refresh()
    assert app.tokens["refresh_token"] != old_refresh

    current_refresh = app.tokens["refresh_token"]
    app.logout()
    assert browser.visited[-1].startswith(idp.issuer + "/logout?")
    refused = requests.post(idp.issuer + "/token", timeout=10, data={
        "grant_type": "refresh_token", "refresh_token": current_refresh, "client_id": GOVAPP_ID})
    assert refused.json()["error"] == "invalid_grant"
    assert "/login" in browser.http.get(idp.issuer + "/", timeout=10).url
    with pytest.raises(SignInError):
        NativeApp(idp.issuer, GOVAPP_ID, open_browser=lambda url: None, timeout=0.2).login()


# --- mini-program (RFC 8693) ---------------------------------------------------------------------

@pytest.mark.parametrize("platform", ["wechat", "alipay"])
def test_miniprogram_unlinked_then_bind_then_linked(idp, platform_simulators, platform):  # noqa: F811
    from clients.miniprogram.backend import MiniProgramBackend, create_app

    backend = create_app(MiniProgramBackend(idp.issuer, MINIPROGRAM_CLIENT_ID,
                                            MINIPROGRAM_SECRET)).test_client()
    user = "lisi" if platform == "wechat" else "wangwu"

    def platform_code() -> str:  # wx.login() / my.getAuthCode() in the mini-program
        return (platform_simulators.wechat_code(user) if platform == "wechat"
                else platform_simulators.alipay_code(user))

    first = backend.post("/api/login", json={"platform": platform, "code": platform_code()})
    assert first.get_json()["status"] == "bind", first.get_json()
    binding_uri = first.get_json()["binding_uri"]

    webview = Browser()
    page = webview.open(binding_uri)
    assert page.status_code == 200 and "ticket" in page.text
    linked = webview.submit(page, ticket=re.search(r'name="ticket" value="([^"]+)"',
                                                   page.text).group(1),
                            client_id=MINIPROGRAM_CLIENT_ID, decision="link")
    assert linked.status_code == 200

    again = backend.post("/api/login", json={"platform": platform, "code": platform_code()})
    assert again.get_json() == {"status": "signed_in", "name": "张三",
                                "sub": again.get_json()["sub"]}
    # the binding link was single use
    assert Browser().open(binding_uri).status_code == 400


def test_miniprogram_code_used_twice(idp, platform_simulators):  # noqa: F811
    from clients.miniprogram.backend import MiniProgramBackend

    backend = MiniProgramBackend(idp.issuer, MINIPROGRAM_CLIENT_ID, MINIPROGRAM_SECRET)
    code = platform_simulators.wechat_code("zhangsan")
    assert backend.sign_in("wechat", code).status == "bind"
    second = backend.sign_in("wechat", code)
    assert (second.status, second.error) == ("refused", "invalid_grant")


# --- QR login in a real browser ------------------------------------------------------------------

@pytest.mark.browser
def test_qr_login_in_chromium_confirmed_by_the_app_in_another_process(idp, chromium_path,
                                                                     tmp_path):
    from clients.govapp.app import save_tokens
    from clients.native.app import NativeApp

    phone = NativeApp(idp.issuer, GOVAPP_ID, open_browser=Browser().open)
    state = tmp_path / "govapp.json"
    save_tokens(state, idp.issuer, GOVAPP_ID, phone.login())

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=chromium_path, args=CHROMIUM_ARGS)
        try:
            context = chromium.new_context(locale="zh-CN")
            context.set_default_timeout(TIMEOUT_MS)
            page = context.new_page()
            page.goto(idp.issuer + "/")
            page.locator("#qr-login").click()
            status = page.locator("#qr-status")
            expect(status).to_have_attribute("data-state", "waiting")
            expect(page.locator("#qr-renew")).to_be_hidden()
            expect(page.locator("#qr svg")).to_be_visible()
            payload = page.locator("#qr").get_attribute("data-payload")
            assert payload.startswith(idp.issuer + "/qr/")

            app = subprocess.Popen(
                [sys.executable, "-m", "clients.govapp", "--state", str(state), "scan", payload],
                cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                text=True)
            try:
                expect(status).to_have_attribute("data-state", "scanned")
                expect(status).to_contain_text("请在手机上确认")
                out, err = app.communicate("y\n", timeout=20)
            finally:
                if app.poll() is None:
                    app.kill()
            assert app.returncode == 0, err
            assert "HeadlessChrome" not in out and "Chrome on Linux" in out
            assert "本机 this computer" in out
            assert json.loads(re.search(r"\{.*\}\s*$", out).group(0)) == {"state": "confirmed"}

            expect(page).to_have_url(idp.issuer + "/")
            expect(page.locator("h1")).to_contain_text("我的账号")
            expect(page.locator(".lead")).to_contain_text("张三")
        finally:
            chromium.close()


def test_qr_request_confirmed_by_another_app_session_is_refused(idp, tmp_path):
    from clients.govapp.app import AppError, GovApp, save_tokens
    from clients.native.app import NativeApp

    states = []
    for name in ("scanner", "other"):
        phone = NativeApp(idp.issuer, GOVAPP_ID, open_browser=Browser().open)
        states.append(tmp_path / f"{name}.json")
        save_tokens(states[-1], idp.issuer, GOVAPP_ID, phone.login())
    pc = requests.Session()
    page = pc.get(idp.issuer + "/login/qr", timeout=10).text
    payload = re.search(r'data-payload="([^"]+)"', page).group(1)
    GovApp(states[0]).scan(payload)

    with pytest.raises(AppError) as refused:
        GovApp(states[1]).confirm(payload)

    assert (refused.value.error, refused.value.status) == ("session_mismatch", 403)


# --- terminal (RFC 8628) -------------------------------------------------------------------------

def test_terminal_device_flow_with_the_interval_honoured(idp):
    from clients.terminal.app import Terminal

    screens: list[str] = []
    terminal = Terminal(idp.issuer, TERMINAL_ID, show=screens.append)
    grant = terminal.start()
    assert grant["interval"] == 1
    terminal.show(terminal.screen(grant))
    assert grant["user_code"] in screens[0]
    assert grant["verification_uri"] in screens[0]
    assert any(block in screens[0] for block in "█▀▄")  # the QR code, in text blocks

    def person_approves():
        time.sleep(2.5)
        phone = Browser()
        page = phone.open(grant["verification_uri_complete"])
        confirm = phone.submit(page, user_code=grant["user_code"])
        assert "Confirm" in confirm.text or "确认" in confirm.text
        phone.submit(confirm, user_code=grant["user_code"], decision="approve")

    helper = threading.Thread(target=person_approves)
    helper.start()
    tokens = terminal.wait_for_tokens(grant)
    helper.join()

    assert "refresh_token" not in tokens
    assert tokens["expires_in"] == 300
    assert terminal.userinfo(tokens)["name"] == "张三"
    gaps = [b - a for a, b in zip(terminal.polls, terminal.polls[1:], strict=False)]
    assert len(terminal.polls) >= 2 and all(gap >= 0.95 for gap in gaps), gaps


def test_terminal_polling_too_fast_is_told_to_slow_down(idp):
    from clients.terminal.app import DEVICE_CODE, Terminal

    terminal = Terminal(idp.issuer, TERMINAL_ID)
    grant = terminal.start()
    token_url = terminal.metadata["token_endpoint"]
    data = {"grant_type": DEVICE_CODE, "device_code": grant["device_code"],
            "client_id": TERMINAL_ID}
    assert requests.post(token_url, data=data, timeout=10).json()["error"] == \
        "authorization_pending"
    assert requests.post(token_url, data=data, timeout=10).json() == {
        "error": "slow_down", "error_description": "Poll at most every 6 seconds."}
