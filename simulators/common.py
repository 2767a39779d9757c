"""What every simulated gateway shares: the signed wire protocol, the failure switches and a
loopback HTTP server. Standard library only, so a simulator starts in a fraction of a second.

Wire protocol (the shape such government and carrier gateways use):

* request: ``POST /v1/...`` with a JSON body and the headers ``X-App-Key``, ``X-Timestamp``
  (unix seconds), ``X-Nonce`` (16-64 characters, single use) and ``X-Signature``:
  ``base64(HMAC-SHA256(app_secret, METHOD \\n PATH \\n TIMESTAMP \\n NONCE \\n
  hex(SHA-256(body))))``.
  A timestamp more than ``max_skew`` seconds away, a nonce seen before, an unknown key or a wrong
  signature is refused (HTTP 401, codes 4010-4013).
* response: JSON ``{"code", "message", "request_id", "data"}`` with ``X-Timestamp`` and
  ``X-Signature``: ``base64(HMAC-SHA256(app_secret, STATUS \\n REQUEST_NONCE \\n TIMESTAMP \\n
  hex(SHA-256(body))))``, so a client can tell a genuine answer to *its* request from anything else.
* codes: 0000 consistent, 1001 inconsistent, 1002 no record, 1003 number cancelled, 1004 deceased,
  1005 mobile not in service, 1006 card not usable, 1007 unknown certification, 4001 bad request,
  4290 rate limited (HTTP 429), 5030 service unavailable (HTTP 503).

Switches (command line, or at run time ``POST /_admin`` with ``X-Admin-Token``): ``latency_ms``,
``mode`` (normal, down, timeout, malformed, bad_signature, rate_limited), ``fail_next`` (answer the
next N requests with 503, then recover) and ``rate_limit`` (requests per second per app key).
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import hmac
import json
import os
import secrets
import sys
import threading
import time
from collections import deque
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import ClassVar

MODES = ("normal", "down", "timeout", "malformed", "bad_signature", "rate_limited")
NONCE_CHARS = set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")


def body_digest(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()


def mac(secret: str, *parts: str) -> str:
    digest = hmac.new(secret.encode(), "\n".join(parts).encode(), hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


class Reply(Exception):
    """Answer the current request with this code (raised by handlers and checks)."""

    STATUS: ClassVar[dict] = {"4001": 400, "4010": 401, "4011": 401, "4012": 401, "4013": 401,
                              "4290": 429, "5030": 503}

    def __init__(self, code: str, message: str, data: dict | None = None):
        super().__init__(code)
        self.code, self.message, self.data = code, message, data or {}

    @property
    def status(self) -> int:
        return self.STATUS.get(self.code, 200)


class Simulator:
    """A simulated gateway: `routes` maps a path to a handler(body: dict) -> data dict (or raises
    :class:`Reply`). Subclasses load their own seeded records."""

    name = "gateway"
    routes: ClassVar[dict] = {}

    def __init__(self, *, app_key: str, app_secret: str, admin_token: str, max_skew: int = 300,
                 latency_ms: int = 0, mode: str = "normal", rate_limit: int = 50):
        self.app_key, self.app_secret, self.admin_token = app_key, app_secret, admin_token
        self.max_skew = max_skew
        self.lock = threading.Lock()
        self.state = {"latency_ms": latency_ms, "mode": mode, "fail_next": 0,
                      "rate_limit": rate_limit, "served": 0}
        self.nonces: dict[str, float] = {}
        self.recent: deque[float] = deque()
        self.base_url = ""

    # --- checks ---------------------------------------------------------------------------------
    def authenticate(self, method: str, path: str, headers, body: bytes) -> str:
        key = headers.get("X-App-Key", "")
        timestamp = headers.get("X-Timestamp", "")
        nonce = headers.get("X-Nonce", "")
        signature = headers.get("X-Signature", "")
        if not hmac.compare_digest(key.encode(), self.app_key.encode()):
            raise Reply("4013", "unknown app key")
        if not timestamp.isdigit() or abs(time.time() - int(timestamp)) > self.max_skew:
            raise Reply("4011", "timestamp outside the accepted window")
        if not 16 <= len(nonce) <= 64 or not set(nonce) <= NONCE_CHARS:
            raise Reply("4010", "malformed nonce")
        expected = mac(self.app_secret, method, path, timestamp, nonce, body_digest(body))
        if not hmac.compare_digest(expected.encode(), signature.encode()):
            raise Reply("4010", "signature mismatch")
        now = time.time()
        with self.lock:
            for seen, at in list(self.nonces.items()):
                if now - at > 2 * self.max_skew:
                    del self.nonces[seen]
            if nonce in self.nonces:
                raise Reply("4012", "nonce already used")
            self.nonces[nonce] = now
        return nonce

    def throttle(self) -> None:
        now = time.time()
        with self.lock:
            while self.recent and now - self.recent[0] > 1:
                self.recent.popleft()
            if self.state["mode"] == "rate_limited" or len(self.recent) >= self.state["rate_limit"]:
                raise Reply("4290", "rate limited, slow down")
            self.recent.append(now)

    def outage(self) -> None:
        with self.lock:
            self.state["served"] += 1
            if self.state["fail_next"] > 0:
                self.state["fail_next"] -= 1
                raise Reply("5030", "service unavailable")
            mode = self.state["mode"]
        if mode == "down":
            raise Reply("5030", "service unavailable")

    # --- run ------------------------------------------------------------------------------------
    def serve(self, host: str = "127.0.0.1", port: int = 0) -> ThreadingHTTPServer:
        simulator = self

        class Handler(_Handler):
            sim = simulator

        server = ThreadingHTTPServer((host, port), Handler)
        server.daemon_threads = True
        self.base_url = f"http://{host}:{server.server_address[1]}"
        return server

    def page(self, path: str, query: dict, form: dict | None) -> tuple[int, str, dict] | None:
        """Browser pages (the face capture page); None when `path` is not one."""
        return None


class _Handler(BaseHTTPRequestHandler):
    sim: Simulator
    protocol_version = "HTTP/1.1"

    def log_message(self, format, *args):
        # Request lines would carry certification ids; the simulator stays quiet.
        return

    def _send(self, status: int, body: bytes, headers: dict | None = None,
              content_type: str = "application/json") -> None:
        try:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            # The client gave up (its timeout is shorter than our latency): nothing to do.
            self.close_connection = True

    def _read(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(min(length, 1 << 20)) if length else b""

    def do_GET(self):
        from urllib.parse import parse_qsl, urlsplit

        parts = urlsplit(self.path)
        if parts.path == "/_health":
            return self._send(200, b'{"status":"ok"}')
        if parts.path == "/_admin":
            if not self._admin_ok():
                return self._send(403, b"{}")
            with self.sim.lock:
                return self._send(200, json.dumps(self.sim.state).encode())
        found = self.sim.page(parts.path, dict(parse_qsl(parts.query)), None)
        if found is None:
            return self._send(404, b"{}")
        return self._page(found)

    def _page(self, found) -> None:
        status, html, headers = found
        self._send(status, html.encode(), headers, content_type="text/html; charset=utf-8")

    def _admin_ok(self) -> bool:
        token = self.headers.get("X-Admin-Token", "")
        return hmac.compare_digest(token.encode(), self.sim.admin_token.encode())

    def do_POST(self):
        from urllib.parse import parse_qsl, urlsplit

        body = self._read()
        path = urlsplit(self.path).path
        if path == "/_admin":
            return self._admin(body)
        if not path.startswith("/v1/"):
            found = self.sim.page(path, {}, dict(parse_qsl(body.decode("utf-8", "replace"))))
            return self._send(404, b"{}") if found is None else self._page(found)
        self._api(path, body)

    def _admin(self, body: bytes) -> None:
        if not self._admin_ok():
            return self._send(403, b"{}")
        try:
            change = json.loads(body or b"{}")
            assert isinstance(change, dict)
            assert change.get("mode", "normal") in MODES
        except (ValueError, AssertionError):
            return self._send(400, b'{"error":"bad admin request"}')
        with self.sim.lock:
            for key in ("latency_ms", "mode", "fail_next", "rate_limit"):
                if key in change:
                    self.sim.state[key] = change[key]
            if "rate_limit" in change:
                self.sim.recent.clear()
            state = dict(self.sim.state)
        self._send(200, json.dumps(state).encode())

    def _api(self, path: str, body: bytes) -> None:
        sim = self.sim
        nonce = self.headers.get("X-Nonce", "")
        request_id = secrets.token_hex(12)
        with sim.lock:
            latency, mode = sim.state["latency_ms"], sim.state["mode"]
        if latency:
            time.sleep(latency / 1000)
        if mode == "timeout":
            time.sleep(30)
        try:
            nonce = sim.authenticate("POST", path, self.headers, body)
            sim.throttle()
            sim.outage()
            handler = sim.routes.get(path)
            if handler is None:
                raise Reply("4001", "unknown operation")
            try:
                payload = json.loads(body)
                assert isinstance(payload, dict)
            except (ValueError, AssertionError) as exc:
                raise Reply("4001", "body must be a JSON object") from exc
            reply = Reply("0000", "consistent", handler(sim, payload))
        except Reply as answer:
            reply = answer
        if mode == "malformed":
            out = b'{"code": "0000", "data": '  # cut off mid-answer
        else:
            out = json.dumps({"code": reply.code, "message": reply.message,
                              "request_id": request_id, "data": reply.data},
                             ensure_ascii=False).encode()
        timestamp = str(int(time.time()))
        signature = mac(sim.app_secret, str(reply.status), nonce, timestamp, body_digest(out))
        if mode == "bad_signature":
            signature = mac("not-the-secret", str(reply.status), nonce, timestamp,
                            body_digest(out))
        headers = {"X-Timestamp": timestamp, "X-Signature": signature}
        if reply.status == 429:
            headers["Retry-After"] = "1"
        self._send(reply.status, out, headers)


def load_records(path: str | None, default: str) -> list[dict]:
    """Seeded records: the file given, else the one shipped beside the simulators."""
    from pathlib import Path

    source = Path(path) if path else Path(__file__).parent / "data" / default
    return json.loads(source.read_text(encoding="utf-8"))


def main(factory, default_seed: str, argv: list[str] | None = None) -> None:
    """Command line shared by every simulator; prints one JSON line with its URL when ready.

    Credentials come from the environment (SIM_APP_KEY, SIM_APP_SECRET, SIM_ADMIN_TOKEN) so they
    do not show in the process list.
    """
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--seed", default=None, help="JSON file of seeded records")
    parser.add_argument("--latency-ms", type=int, default=0)
    parser.add_argument("--mode", choices=MODES, default="normal")
    parser.add_argument("--rate-limit", type=int, default=50, help="requests/s per app key")
    parser.add_argument("--max-skew", type=int, default=300, help="accepted clock skew (s)")
    args = parser.parse_args(argv)
    sim = factory(load_records(args.seed, default_seed),
                  app_key=os.environ["SIM_APP_KEY"], app_secret=os.environ["SIM_APP_SECRET"],
                  admin_token=os.environ["SIM_ADMIN_TOKEN"], max_skew=args.max_skew,
                  latency_ms=args.latency_ms, mode=args.mode, rate_limit=args.rate_limit)
    server = sim.serve(port=args.port)
    print(json.dumps({"name": sim.name, "url": sim.base_url}), flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
        sys.stdout.flush()
