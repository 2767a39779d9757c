"""The WeChat and Alipay simulators as real loopback processes, once per test session, with the
seeds and keys of clients/miniprogram/platforms.py. Import the fixture into a conftest or test
module to use it."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
#: fixed ids so the platform file can name them; tables are emptied after every test
MINIPROGRAM_CLIENT_ID = "tbc_test_miniprogram_backend"
OTHER_MINIPROGRAM_CLIENT_ID = "tbc_test_other_miniprogram"


def _free_port() -> int:
    while True:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        if port not in range(5000, 5003):
            return port


@dataclass
class Simulators:
    wechat_url: str
    alipay_gateway: str
    platform_apps: Path
    directory: Path

    @property
    def alipay_url(self) -> str:
        return self.alipay_gateway.rsplit("/", 1)[0]

    def _post(self, url: str, body: dict) -> dict:
        request = urllib.request.Request(url, data=json.dumps(body).encode(),
                                         headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=5) as response:
            return json.loads(response.read())

    def wechat_code(self, user: str = "zhangsan", appid: str | None = None) -> str:
        from clients.miniprogram.platforms import WECHAT_APPID

        return self._post(self.wechat_url + "/_sim/login",
                          {"appid": appid or WECHAT_APPID, "user": user})["code"]

    def alipay_code(self, user: str = "zhangsan") -> str:
        from clients.miniprogram.platforms import ALIPAY_APPID

        return self._post(self.alipay_url + "/_sim/auth",
                          {"appid": ALIPAY_APPID, "user": user})["auth_code"]

    def fail_wechat(self, errcode: int, times: int = 1) -> None:
        self._post(self.wechat_url + "/_sim/fail", {"errcode": errcode, "times": times})

    def fail_alipay(self, kind: str, times: int = 1) -> None:
        self._post(self.alipay_url + "/_sim/fail", {"kind": kind, "times": times})

    def settings(self) -> dict:
        return {"wechat_api_url": self.wechat_url, "alipay_gateway_url": self.alipay_gateway,
                "platform_apps_file": self.platform_apps}


def start_simulator(module: str, seed: Path, log: Path) -> tuple[subprocess.Popen, str]:
    port = _free_port()
    with open(log, "wb") as out:
        process = subprocess.Popen([sys.executable, "-m", module, "--port", str(port),
                                    "--seed", str(seed)], cwd=ROOT, stdout=out,
                                   stderr=subprocess.STDOUT,
                                   env={**os.environ, "PYTHONUNBUFFERED": "1"})
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"{module} exited:\n{log.read_text()}")
        try:
            with urllib.request.urlopen(url + "/_sim/health", timeout=1):
                return process, url
        except OSError:
            time.sleep(0.05)
    process.kill()
    pytest.fail(f"{module} did not start:\n{log.read_text()}")


@pytest.fixture(scope="session")
def platform_simulators(tmp_path_factory):
    from clients.miniprogram.platforms import prepare

    directory = tmp_path_factory.mktemp("platforms")
    paths = prepare(directory, [MINIPROGRAM_CLIENT_ID, OTHER_MINIPROGRAM_CLIENT_ID])
    wechat, wechat_url = start_simulator("simulators.wechat", paths["wechat_seed"],
                                         directory / "wechat.log")
    try:
        alipay, alipay_url = start_simulator("simulators.alipay", paths["alipay_seed"],
                                             directory / "alipay.log")
    except BaseException:
        wechat.send_signal(signal.SIGTERM)
        wechat.wait(timeout=10)
        raise
    try:
        yield Simulators(wechat_url, alipay_url + "/gateway.do", paths["platform_apps"],
                         directory)
    finally:
        for process in (wechat, alipay):
            process.send_signal(signal.SIGTERM)
        for process in (wechat, alipay):
            process.wait(timeout=10)
