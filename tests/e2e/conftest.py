"""A live Tongban for end-to-end tests: the real processes a deployment runs, on loopback.

Once per session: a fresh instance and keys directory, `flask db upgrade` and `flask demo seed`
(as an operator would run them), gunicorn serving `wsgi:app`, and the two sample portals. On
SQLite by default; on a dedicated PostgreSQL database when TONGBAN_TEST_DATABASE_URL is set.
Every process logs to a file; a failing test shows the tail of each log.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parents[2]
DEMO_USER = "demo"
DEMO_PASSWORD = "tongban-demo-2026"
RESERVED_PORTS = range(5000, 5003)  # the developer's own `make run`
STARTUP_SECONDS = 30

_live: LiveIdP | None = None
_handed_out: set[int] = set()


def free_port() -> int:
    """A port nobody listens on right now (the kernel picks it), never one of 5000-5002 and
    never one this run already handed out."""
    while True:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        if port not in RESERVED_PORTS and port not in _handed_out:
            _handed_out.add(port)
            return port


@dataclass
class Process:
    name: str
    popen: subprocess.Popen
    log: Path
    stop_signal: int = signal.SIGTERM

    def tail(self, lines: int = 80) -> str:
        try:
            text_ = self.log.read_text(errors="replace")
        except FileNotFoundError:
            return "(no log)"
        return "\n".join(text_.splitlines()[-lines:])

    def signal_stop(self) -> None:
        if self.popen.poll() is None:
            self.popen.send_signal(self.stop_signal)

    def wait_stopped(self) -> None:
        try:
            self.popen.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.popen.kill()
            self.popen.wait(timeout=5)


@dataclass
class Portal:
    name: str
    url: str
    client_id: str
    client_secret: str


@dataclass
class LiveIdP:
    issuer: str
    env: dict
    logs: Path
    portals: dict[str, Portal] = field(default_factory=dict)
    processes: list[Process] = field(default_factory=list)

    def flask(self, *commands: tuple[str, ...]) -> list[str]:
        """Run `flask --app wsgi <args>` for each command, side by side, against this IdP's
        database and keys (as an operator would); their outputs."""
        running = [(args, subprocess.Popen(
            [sys.executable, "-m", "flask", "--app", "wsgi", *args], cwd=ROOT, env=self.env,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)) for args in commands]
        outputs = []
        for args, popen in running:
            out, err = popen.communicate(timeout=60)
            assert popen.returncode == 0, f"flask {' '.join(args)} failed:\n{err}"
            outputs.append(out)
        return outputs

    def create_clients(self, *options: tuple[str, ...]) -> list[dict]:
        """`flask clients create ... --json` for each option list: the registered clients,
        each with its one-time secret."""
        return [json.loads(out) for out in self.flask(
            *[("clients", "create", *opts, "--json") for opts in options])]

    def start(self, name: str, argv: list[str], env: dict,
              stop_signal: int = signal.SIGTERM) -> Process:
        log = self.logs / f"{name}.log"
        with open(log, "wb") as out:
            popen = subprocess.Popen(argv, cwd=ROOT, env=env, stdout=out,
                                     stderr=subprocess.STDOUT)
        process = Process(name, popen, log, stop_signal)
        self.processes.append(process)
        return process

    def report(self) -> str:
        return "\n\n".join(f"--- {p.name} (pid {p.popen.pid}, exit {p.popen.poll()}) ---\n"
                           f"{p.tail()}" for p in self.processes)

    def stop(self) -> None:
        """Each process we started, by its PID; all at once, then wait for each."""
        for process in self.processes:
            process.signal_stop()
        for process in self.processes:
            process.wait_stopped()


def wait_ready(idp: LiveIdP, process: Process, url: str) -> None:
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        if process.popen.poll() is not None:
            pytest.fail(f"{process.name} exited during start-up\n{idp.report()}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.1)
    pytest.fail(f"{process.name} not ready at {url} after {STARTUP_SECONDS} s\n{idp.report()}")


@pytest.fixture(scope="session")
def e2e_database_url():
    """None for the embedded SQLite default; else a PostgreSQL database of our own."""
    base = os.environ.get("TONGBAN_TEST_DATABASE_URL")
    if not base:
        yield None
        return
    url = make_url(base)
    # Unique per process: other checkouts may run this suite on the same server right now.
    name = (f"{url.database}_tongban_e2e_{os.environ.get('PYTEST_XDIST_WORKER', 'main')}_"
            f"{os.getpid()}")
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    yield url.set(database=name).render_as_string(hide_password=False)
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(scope="session")
def live_idp(tmp_path_factory, e2e_database_url):
    global _live
    base = tmp_path_factory.mktemp("live")
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TONGBAN_", "PORTAL_"))}
    env.update(TONGBAN_ENV="development", TONGBAN_ISSUER=f"http://127.0.0.1:{port}",
               TONGBAN_INSTANCE_DIR=str(base / "instance"), TONGBAN_KEYS_DIR=str(base / "keys"),
               PYTHONUNBUFFERED="1")
    if e2e_database_url:
        env["TONGBAN_DATABASE_URL"] = e2e_database_url
    idp = _live = LiveIdP(issuer=env["TONGBAN_ISSUER"], env=env, logs=base)
    try:
        portal_ports = {"A": free_port(), "B": free_port()}
        credentials = base / "demo-portals.json"
        idp.flask(("db", "upgrade"))
        # The server starts while the demo data is seeded: it reads it only on requests.
        # SIGINT is gunicorn's quick shutdown (SIGTERM waits for idle keep-alive connections);
        # no control socket: its default path is shared by every gunicorn of this user.
        server = idp.start("gunicorn", [
            sys.executable, "-m", "gunicorn", "--bind", f"127.0.0.1:{port}", "--workers", "2",
            "--worker-class", "gthread", "--threads", "4", "--access-logfile", "-",
            "--no-control-socket", "wsgi:app"], env, stop_signal=signal.SIGINT)
        idp.flask(("demo", "seed", "--output", str(credentials),
                   *[arg for letter, p in portal_ports.items()
                     for arg in ("--portal", f"Portal {letter}=http://127.0.0.1:{p}")]))
        seeded = json.loads(credentials.read_text())
        for letter, portal_port in portal_ports.items():
            creds = seeded[f"Portal {letter}"]
            idp.portals[letter] = Portal(f"Portal {letter}", creds["base_url"],
                                         creds["client_id"], creds["client_secret"])
            idp.start(f"portal-{letter}", [sys.executable, "-m", "clients.portal"], dict(
                env, PORTAL_NAME=f"Portal {letter}", PORTAL_PORT=str(portal_port),
                PORTAL_CLIENT_ID=creds["client_id"],
                PORTAL_CLIENT_SECRET=creds["client_secret"]))
        wait_ready(idp, server, f"{idp.issuer}/.well-known/openid-configuration")
        for process, portal in zip(idp.processes[1:], idp.portals.values(), strict=True):
            wait_ready(idp, process, f"{portal.url}/frontchannel-logout")
        yield idp
    finally:
        idp.stop()
        _live = None


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """A failing e2e test shows what the servers said."""
    outcome = yield
    report = outcome.get_result()
    if report.failed and _live is not None:
        report.sections.append(("live servers", _live.report()))
