"""The one function for the IdP's calls to relying parties: timeouts, no redirects followed,
bounded answers, and a result instead of an exception."""

from __future__ import annotations

import contextlib
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from idp.outbound_http import MAX_RESPONSE_BYTES, post_form


@pytest.fixture
def server():
    hits: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            hits.append(self.path)
            self.rfile.read(int(self.headers.get("Content-Length", 0)))
            if self.path == "/slow":
                time.sleep(2)
            if self.path == "/redirect":
                self.send_response(302)
                self.send_header("Location", "/elsewhere")
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            body = b"x" * (MAX_RESPONSE_BYTES * 4) if self.path == "/huge" else b""
            self.send_response(500 if self.path == "/broken" else 200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            with contextlib.suppress(OSError):  # the client stops reading
                self.wfile.write(body)

        def log_message(self, *_args):
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}", hits
    httpd.shutdown()
    httpd.server_close()


def test_success(server):
    base, _ = server
    assert post_form(base + "/ok", {"a": "b"}, timeout=2, allow_loopback=True).ok


def test_redirect_is_not_followed(server):
    base, hits = server
    outcome = post_form(base + "/redirect", {}, timeout=2, allow_loopback=True)
    assert (outcome.status, outcome.error, outcome.ok) == (302, "redirected (not followed)", False)
    assert hits == ["/redirect"]


def test_answer_size_is_bounded(server):
    base, _ = server
    outcome = post_form(base + "/huge", {}, timeout=2, allow_loopback=True)
    assert (outcome.ok, outcome.error) == (False, "answer too large")


def test_timeout(server):
    base, _ = server
    began = time.monotonic()
    outcome = post_form(base + "/slow", {}, timeout=0.5, allow_loopback=True)
    assert (outcome.status, outcome.error) == (None, "timed out")
    assert time.monotonic() - began < 1.5


def test_server_error_and_refused(server):
    base, _ = server
    assert post_form(base + "/broken", {}, timeout=2, allow_loopback=True).error == "HTTP 500"
    from .oidc.receiver import free_port

    refused = post_form(f"http://127.0.0.1:{free_port()}/", {}, timeout=2, allow_loopback=True)
    assert (refused.status, refused.error) == (None, "connection failed")


def test_addresses_the_server_may_not_reach_are_refused(server):
    """Back-channel logout URIs go through the guarded fetcher's address rules (CONFORMANCE.md
    §D row 21): loopback only where the deployment allows it, private and link-local never."""
    base, hits = server
    assert post_form(base + "/ok", {}, timeout=2, allow_loopback=False).error == \
        "address not allowed"
    for url in ("http://169.254.169.254/latest/meta-data", "https://10.0.0.8/logout",
                "https://[::ffff:192.168.1.1]/logout"):
        assert post_form(url, {}, timeout=2, allow_loopback=True).error == "address not allowed"
    assert hits == []
