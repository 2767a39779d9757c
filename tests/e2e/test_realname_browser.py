"""Verify once, end to end, in a real browser: a live IdP (gunicorn), the four simulated gateways
and three sample portals, each a separate process on a free loopback port.

Portal A requires L1: the citizen verifies their real name while signing in. Portal B (also L1)
signs them in without asking anything. Portal C requires L3: only the face step is asked.
"""

from __future__ import annotations

import base64
import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
NUMBER = "110105199003070017"
pytestmark = [pytest.mark.e2e, pytest.mark.browser]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    from clients.demo import wait_for
    from simulators.launch import start_all

    base = tmp_path_factory.mktemp("realname-e2e")
    ports = {"idp": free_port(), "A": free_port(), "B": free_port(), "C": free_port()}
    issuer = f"http://127.0.0.1:{ports['idp']}"
    gateways = start_all()
    env = dict(os.environ, TONGBAN_ENV="development", TONGBAN_ISSUER=issuer,
               TONGBAN_INSTANCE_DIR=str(base), TONGBAN_KEYS_DIR=str(base / "keys"),
               TONGBAN_DATABASE_URL=f"sqlite:///{base / 'tongban.db'}",
               TONGBAN_SECRET_KEY="e2e-" + "s" * 40,
               TONGBAN_DATA_KEY=base64.b64encode(os.urandom(32)).decode())
    for sim in gateways.values():
        env.update(sim.environment())
    names = {"A": "Portal A", "B": "Portal B", "C": "Portal C"}
    flask = [sys.executable, "-m", "flask", "--app", "wsgi"]
    children: list[subprocess.Popen] = []
    log = open(base / "idp.log", "w")  # noqa: SIM115 (closed at teardown)
    try:
        subprocess.run([*flask, "db", "upgrade"], cwd=ROOT, env=env, check=True,
                       capture_output=True)
        subprocess.run([*flask, "demo", "seed", "--output", str(base / "portals.json"),
                        *[a for k in names for a in
                          ("--portal", f"{names[k]}=http://127.0.0.1:{ports[k]}")],
                        "--require-level", "Portal A=1", "--require-level", "Portal B=1",
                        "--require-level", "Portal C=3"],
                       cwd=ROOT, env=env, check=True, capture_output=True)
        portals = json.loads((base / "portals.json").read_text())
        children.append(subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "--bind", f"127.0.0.1:{ports['idp']}",
             "--workers", "1", "--no-control-socket", "wsgi:app"],
            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT))
        wait_for(issuer + "/.well-known/openid-configuration")
        for key, name in names.items():
            children.append(subprocess.Popen(
                [sys.executable, "-m", "clients.portal"], cwd=ROOT, stdout=log,
                stderr=subprocess.STDOUT,
                env=dict(env, PORTAL_NAME=name, PORTAL_PORT=str(ports[key]),
                         PORTAL_CLIENT_ID=portals[name]["client_id"],
                         PORTAL_CLIENT_SECRET=portals[name]["client_secret"])))
        for key in names:
            wait_for(f"http://127.0.0.1:{ports[key]}/frontchannel-logout")
        yield {"issuer": issuer, "log": base / "idp.log", "gateways": gateways,
               **{k: f"http://127.0.0.1:{ports[k]}" for k in names}}
    finally:
        for child in children:
            child.terminate()
        for child in children:
            try:
                child.wait(timeout=10)
            except subprocess.TimeoutExpired:
                child.kill()
        for sim in gateways.values():
            sim.stop()
        log.close()


def test_verify_once_then_only_the_missing_step(stack, chromium_path):
    from playwright.sync_api import sync_playwright

    issuer = stack["issuer"]
    visited: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium_path)
        page = browser.new_page(locale="zh-CN")
        page.on("framenavigated", lambda frame: visited.append(frame.url))

        # Portal A (L1): log in, verify on the way, come back signed in at L1.
        page.goto(stack["A"] + "/")
        page.click("#login")
        page.fill("#account", "demo")
        page.fill("#password", "tongban-demo-2026")
        page.click("button[type=submit]")
        page.wait_for_url(issuer + "/verify?**")
        assert "Portal A" in page.inner_text("main")
        page.fill("#name", "张三")
        page.fill("#number", NUMBER[:-1] + "8")  # a typo: refused before any registry call
        page.click("button.primary")
        assert page.locator("#verify-error").is_visible()
        page.fill("#name", "张三")
        page.fill("#number", NUMBER)
        page.click("button.primary")
        page.wait_for_url(stack["A"] + "/**")
        assert "张三" in page.inner_text("#status")
        assert page.inner_text("#level") == "L1"

        # Portal B (L1): signed in without a password and without any verification page.
        visited.clear()
        page.goto(stack["B"] + "/")
        page.wait_for_selector("#status")
        assert "张三" in page.inner_text("#status")
        assert page.inner_text("#level") == "L1"
        assert not any("/verify" in url or "/login" in url for url in visited
                       if url.startswith(issuer))

        # Portal C (L3): only the face step is asked.
        page.goto(stack["C"] + "/")
        page.click("#login")
        page.wait_for_url(issuer + "/verify?**")
        assert page.locator("#start-face").is_visible()
        assert page.locator("#number").count() == 0
        page.click("#start-face")
        page.wait_for_url(stack["gateways"]["face"].url + "/h5/capture/**")
        page.click("#capture")
        page.wait_for_url(stack["C"] + "/**")
        assert page.inner_text("#level") == "L3"

        # The account page shows the level and only a masked number.
        page.goto(issuer + "/")
        text = page.inner_text("main")
        assert "L3" in text and "1101**********0017" in text and NUMBER not in text
        browser.close()
    assert NUMBER not in stack["log"].read_text()
