"""Running the IdP for real on a free loopback port (in a thread of the test process, sharing
the test database), and sample relying parties as subprocesses. Imported by e2e tests, which
set the issuer to the live port through `settings_overrides`."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path

from werkzeug.serving import make_server

ROOT = Path(__file__).resolve().parents[2]
RESERVED = range(5000, 5003)


def free_port() -> int:
    while True:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        if port not in RESERVED:
            return port


def wait_for(url: str, seconds: float = 20) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=1):
                return
        except OSError:
            time.sleep(0.1)
    raise AssertionError(f"{url} did not come up")


class LiveIdP:
    def __init__(self, app, port: int):
        self.server = make_server("127.0.0.1", port, app, threaded=True)
        self.url = f"http://127.0.0.1:{port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> LiveIdP:
        self.thread.start()
        wait_for(self.url + "/.well-known/openid-configuration")
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()


class Portal:
    """clients/portal as a subprocess, stopped by its PID."""

    def __init__(self, *, issuer: str, client_id: str, client_secret: str, port: int,
                 name: str = "测试门户"):
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        env = dict(os.environ, PORTAL_NAME=name, PORTAL_PORT=str(port), TONGBAN_ISSUER=issuer,
                   PORTAL_CLIENT_ID=client_id, PORTAL_CLIENT_SECRET=client_secret)
        self.process = subprocess.Popen([sys.executable, "-m", "clients.portal"], cwd=ROOT,
                                        env=env, stdout=subprocess.DEVNULL,
                                        stderr=subprocess.PIPE)

    def __enter__(self) -> Portal:
        try:
            wait_for(self.url + "/frontchannel-logout")
        except AssertionError:
            self.__exit__()
            raise
        return self

    def __exit__(self, *exc) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
        if self.process.stderr:
            self.process.stderr.close()


@contextmanager
def serving(app, port: int):
    """Serve `app` on `port` in a thread for the duration of the block."""
    server = make_server("127.0.0.1", port, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        thread.join(10)
