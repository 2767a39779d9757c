"""Starting the real thing for end-to-end tests: the IdP (gunicorn), its logout worker and
sample portals, each a subprocess on a free loopback port, stopped by PID."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for(url: str, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=1):
                return
        except OSError:
            time.sleep(0.1)
    raise AssertionError(f"{url} did not come up within {seconds:.0f} s")


class Processes:
    def __init__(self, log_dir: Path):
        self.children: list[subprocess.Popen] = []
        self.log_dir = log_dir

    def start(self, name: str, args: list[str], env: dict) -> subprocess.Popen:
        log = open(self.log_dir / f"{name}.log", "wb")  # noqa: SIM115 (closed with the child)
        child = subprocess.Popen(args, cwd=ROOT, env={**os.environ, **env}, stdout=log,
                                 stderr=subprocess.STDOUT)
        child.log = log
        self.children.append(child)
        return child

    def stop(self, child: subprocess.Popen) -> None:
        if child.poll() is None:
            child.terminate()
            try:
                child.wait(timeout=10)
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait()
        child.log.close()

    def stop_all(self) -> None:
        for child in reversed(self.children):
            self.stop(child)

    def log(self, name: str) -> str:
        path = self.log_dir / f"{name}.log"
        return path.read_text(errors="replace") if path.exists() else ""


def idp_env(*, issuer: str, database_url: str, keys_dir: Path, instance: Path) -> dict:
    return {"TONGBAN_ENV": "test", "TONGBAN_ISSUER": issuer,
            "TONGBAN_SECRET_KEY": "test-secret-" + "x" * 32, "TONGBAN_DATABASE_URL": database_url,
            "TONGBAN_KEYS_DIR": str(keys_dir), "TONGBAN_GENERATE_KEYS": "0",
            "TONGBAN_INSTANCE_DIR": str(instance)}


def start_idp(procs: Processes, port: int, env: dict) -> None:
    procs.start("idp", [sys.executable, "-m", "gunicorn", "--bind", f"127.0.0.1:{port}",
                        "--workers", "1", "--threads", "4", "wsgi:app"], env)
    wait_for(f"http://127.0.0.1:{port}/.well-known/openid-configuration")


def start_worker(procs: Processes, env: dict) -> subprocess.Popen:
    return procs.start("worker", [sys.executable, "-m", "flask", "--app", "wsgi",
                                  "logout-worker", "--poll-interval", "0.2"], env)


def start_portal(procs: Processes, name: str, port: int, issuer: str, client) -> str:
    base = f"http://127.0.0.1:{port}"
    procs.start(f"portal-{port}", [sys.executable, "-m", "clients.portal"], {
        "PORTAL_NAME": name, "PORTAL_PORT": str(port), "TONGBAN_ISSUER": issuer,
        "PORTAL_CLIENT_ID": client.client_id, "PORTAL_CLIENT_SECRET": client.plain_secret})
    wait_for(f"{base}/frontchannel-logout")
    return base
