"""`make run`: the embedded default, end to end, on 127.0.0.1.

Migrates the SQLite database under instance/, generates signing keys into keys/, seeds a demo
citizen and three demo portals, starts the simulated verification gateways (registry, carrier,
bank, face; free loopback ports), the IdP (gunicorn) pointed at them, the back-channel logout
worker and the portals, and prints how to log in. Ctrl-C stops everything it started.

Portals A and B require real-name level L1, portal C L3: the demo citizen starts unverified,
verifies once while signing in at A, reaches B without another step, and at C is asked only for
the face check.

Ports: TONGBAN_PORT (5000), PORTAL_A_PORT (5001), PORTAL_B_PORT (5002), PORTAL_C_PORT (5003).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def wait_for(url: str, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=1):  # noqa: S310 (loopback only)
                return
        except OSError:
            time.sleep(0.2)
    raise SystemExit(f"{url} did not come up within {seconds:.0f} s")


def main() -> None:
    idp_port = int(os.environ.get("TONGBAN_PORT", "5000"))
    ports = {"A": int(os.environ.get("PORTAL_A_PORT", "5001")),
             "B": int(os.environ.get("PORTAL_B_PORT", "5002")),
             "C": int(os.environ.get("PORTAL_C_PORT", "5003"))}
    names = {"A": "政务服务门户 A", "B": "社保服务门户 B", "C": "公积金服务门户 C"}
    issuer = os.environ.setdefault("TONGBAN_ISSUER", f"http://127.0.0.1:{idp_port}")
    os.environ.setdefault("TONGBAN_ENV", "development")
    os.environ.setdefault("TONGBAN_INSTANCE_DIR", str(ROOT / "instance"))
    os.environ.setdefault("TONGBAN_KEYS_DIR", str(ROOT / "keys"))
    credentials = Path(os.environ["TONGBAN_INSTANCE_DIR"]) / "demo-portals.json"
    flask = [sys.executable, "-m", "flask", "--app", "wsgi"]

    subprocess.run([*flask, "db", "upgrade"], cwd=ROOT, check=True)
    subprocess.run([*flask, "demo", "seed", "--output", str(credentials),
                    *[arg for letter in ports for arg in
                      ("--portal", f"{names[letter]}=http://127.0.0.1:{ports[letter]}")],
                    "--require-level", f"{names['A']}=1", "--require-level", f"{names['B']}=1",
                    "--require-level", f"{names['C']}=3"],
                   cwd=ROOT, check=True)
    portals = json.loads(credentials.read_text())

    from simulators.launch import start_all

    gateways = start_all()
    for sim in gateways.values():
        # The IdP reads its gateways from configuration, exactly as in production.
        os.environ.update(sim.environment())
    children: list[subprocess.Popen] = [sim.process for sim in gateways.values()]
    from clients import channel_demo

    channel_children, channel_env, channel_guide = channel_demo.prepare(
        ROOT, Path(os.environ["TONGBAN_INSTANCE_DIR"]), flask)
    children.extend(channel_children)
    os.environ.update(channel_env)

    def stop(*_args) -> None:
        for child in children:
            if child.poll() is None:
                child.terminate()
        for child in children:
            try:
                child.wait(timeout=10)
            except subprocess.TimeoutExpired:
                child.kill()
        raise SystemExit(0)

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    children.append(subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "--bind", f"127.0.0.1:{idp_port}", "--workers", "1",
         "wsgi:app"],
        cwd=ROOT))
    wait_for(f"{issuer}/.well-known/openid-configuration")
    # Delivers back-channel logout tokens and ends expired sessions.
    children.append(subprocess.Popen([*flask, "logout-worker", "--poll-interval", "0.5"],
                                     cwd=ROOT))
    for letter in sorted(ports):
        name = names[letter]
        creds = portals[name]
        env = dict(os.environ, PORTAL_NAME=name, PORTAL_PORT=str(ports[letter]),
                   PORTAL_CLIENT_ID=creds["client_id"],
                   PORTAL_CLIENT_SECRET=creds["client_secret"])
        children.append(subprocess.Popen([sys.executable, "-m", "clients.portal"], cwd=ROOT,
                                         env=env))
    for port in ports.values():
        wait_for(f"http://127.0.0.1:{port}/frontchannel-logout")

    print(f"""
  Tongban IdP is running.

    IdP (your account):  {issuer}/
    Portal A (needs L1): http://127.0.0.1:{ports['A']}/
    Portal B (needs L1): http://127.0.0.1:{ports['B']}/
    Portal C (needs L3): http://127.0.0.1:{ports['C']}/
    Simulated gateways:  {", ".join(f"{n} {s.url}" for n, s in gateways.items())}

    Demo citizen:        demo / tongban-demo-2026   (or 13800138000 / tongban-demo-2026)
    Their document:      张三, resident ID 110105199003070017 (known to the simulated registry)

  Sign in at portal A: you verify your real name once, on the way. Open portal B: you are
  already signed in there. Portal C asks only for the face check. Sign out at any portal and
  all sign out; so do they when you end the session on your account page
  ({issuer}/account/sessions). Press Ctrl-C to stop.
{channel_guide.replace("ISSUER", issuer)}""", flush=True)
    while True:
        for child in children:
            if child.poll() is not None:
                print(f"a demo process exited ({child.args[2:4]}); stopping", file=sys.stderr)
                stop()
        time.sleep(1)


if __name__ == "__main__":
    main()
