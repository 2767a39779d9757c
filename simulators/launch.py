"""Start the simulators as separate processes on free loopback ports (the demo and the test
fixtures use this), and talk to their admin switch."""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NAMES = ("registry", "carrier", "bank", "face")


@dataclass
class Running:
    name: str
    url: str
    app_key: str
    app_secret: str = field(repr=False)
    admin_token: str = field(repr=False)
    process: subprocess.Popen = field(repr=False)

    def admin(self, **change) -> dict:
        """Flip a switch: latency_ms, mode, fail_next, rate_limit. No argument: read the state."""
        data = json.dumps(change).encode() if change else None
        request = urllib.request.Request(self.url + "/_admin", data=data,  # noqa: S310
                                         headers={"X-Admin-Token": self.admin_token,
                                                  "Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=5) as response:  # noqa: S310 (http only)
            return json.loads(response.read())

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def settings(self) -> dict:
        """The Tongban settings that point at this simulator."""
        return {f"{self.name}_url": self.url, f"{self.name}_app_key": self.app_key,
                f"{self.name}_app_secret": self.app_secret}

    def environment(self) -> dict:
        prefix = f"TONGBAN_{self.name.upper()}_"
        return {prefix + "URL": self.url, prefix + "APP_KEY": self.app_key,
                prefix + "APP_SECRET": self.app_secret}


def start(name: str, *args: str, seed: str | None = None) -> Running:
    app_key = f"tongban-{name}-" + secrets.token_hex(4)
    app_secret = secrets.token_urlsafe(32)
    admin_token = secrets.token_urlsafe(16)
    env = dict(os.environ, SIM_APP_KEY=app_key, SIM_APP_SECRET=app_secret,
               SIM_ADMIN_TOKEN=admin_token, PYTHONUNBUFFERED="1")
    command = [sys.executable, "-m", f"simulators.{name}", "--port", "0", *args]
    if seed:
        command += ["--seed", seed]
    # Our own interpreter and module; no shell, no outside input.
    process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE,  # noqa: S603
                               text=True)
    line = process.stdout.readline()
    if not line:
        process.wait(timeout=5)
        raise RuntimeError(f"simulator {name} did not start (exit {process.returncode})")
    url = json.loads(line)["url"]
    return Running(name, url, app_key, app_secret, admin_token, process)


def start_all(names=NAMES) -> dict[str, Running]:
    running: dict[str, Running] = {}
    try:
        for name in names:
            running[name] = start(name)
    except Exception:
        for sim in running.values():
            sim.stop()
        raise
    return running
