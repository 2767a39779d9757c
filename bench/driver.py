#!/usr/bin/env python3
"""OP-agnostic OpenID Connect provider load driver.

Targets any OP reachable on a loopback address, found through
``<issuer>/.well-known/openid-configuration``, with one confidential client that
uses ``client_secret_basic`` and may use the authorization_code (+PKCE S256),
refresh_token and client_credentials grants. An OP that keeps user-facing and
machine clients apart (Tongban: client_credentials is for ``service`` clients
only) is given a second client for the ``cc`` scenario with ``--cc-client-id``
and ``--cc-client-secret``.

Tongban's copy of the team's shared driver (shared/peers/oidc-provider/bench.py):
``drive_interaction()`` knows Tongban's login and consent pages as well as the
peer's, and the ``cc`` scenario may use its own client. Everything else is the
shared tool, reformatted to the repository's ruff settings.

Scenarios (each: warm-up, then a timed window of N keep-alive connections,
one request in flight per connection; reports req/s, p50/p99 latency, errors):

  cc          client_credentials grant at the token endpoint
  introspect  RFC 7662 introspection of a valid (user) access token
  userinfo    userinfo with a bearer access token from a real code+PKCE flow
  code        authorization_code -> token exchanges of codes pre-minted through
              the browser-style interaction flow (login + consent forms, cookies)
  refresh     refresh_token grant, one rotating chain per connection

The only OP-specific code is ``drive_interaction()`` (how to get through the
OP's login and consent pages); everything else is driven by discovery metadata.

Timed load uses a small raw HTTP/1.1 client on asyncio (pre-encoded requests,
Content-Length/chunked parsing) because aiohttp's client saturates one core at
~4k req/s; the set-up flows (login, consent, minting codes) use aiohttp.

Only loopback targets are accepted.

Example:
  bench/.venv/bin/python bench/driver.py --issuer http://127.0.0.1:3100 \
      --client-id bench-client --client-secret bench-secret-0123456789abcdef \
      --redirect-uri http://127.0.0.1:9999/cb --username alice --password wonderland
  bench/.venv/bin/python bench/driver.py --summarize bench/results/*/*/report-*.json
  (bench/run.py runs Tongban and the peer side by side with this driver.)
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import hashlib
import html.parser
import ipaddress
import json
import os
import platform
import re
import secrets
import statistics
import sys
import time
from collections import deque
from dataclasses import dataclass, field
from urllib.parse import parse_qs, quote, urlencode, urljoin, urlsplit

try:
    import aiohttp
except ImportError:  # pragma: no cover
    sys.exit("bench.py needs aiohttp (pip install aiohttp) for the set-up flows")


# --------------------------------------------------------------------------- helpers


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def pkce_pair() -> tuple[str, str]:
    verifier = b64url(secrets.token_bytes(48))
    return verifier, b64url(hashlib.sha256(verifier.encode()).digest())


def basic_auth(client_id: str, client_secret: str) -> str:
    # RFC 6749 2.3.1: form-urlencode id and secret before base64
    raw = f"{quote(client_id, safe='')}:{quote(client_secret, safe='')}".encode()
    return "Basic " + base64.b64encode(raw).decode()


def assert_loopback(url: str) -> None:
    host = urlsplit(url).hostname or ""
    if host == "localhost":
        return
    try:
        if ipaddress.ip_address(host).is_loopback:
            return
    except ValueError:
        pass
    raise SystemExit(f"refusing non-loopback target {url!r}")


def percentile(sorted_values: list[float], p: float) -> float:
    """Nearest-rank percentile of an ascending list (p in 0..100)."""
    if not sorted_values:
        return float("nan")
    k = max(0, min(len(sorted_values) - 1, -(-len(sorted_values) * p // 100) - 1))
    return sorted_values[int(k)]


# --------------------------------------------------------------------------- configuration


@dataclass
class Target:
    issuer: str
    client_id: str
    client_secret: str
    redirect_uri: str
    scope: str
    refresh_scope: str
    cc_scope: str
    username: str
    password: str
    meta: dict = field(default_factory=dict)
    #: a separate client for client_credentials (default: the same client)
    cc_client_id: str | None = None
    cc_client_secret: str | None = None

    @property
    def auth_header(self) -> str:
        return basic_auth(self.client_id, self.client_secret)

    @property
    def cc_auth_header(self) -> str:
        if self.cc_client_id:
            return basic_auth(self.cc_client_id, self.cc_client_secret or "")
        return self.auth_header

    def endpoint(self, name: str) -> str:
        url = self.meta.get(name)
        if not url:
            raise SystemExit(f"discovery document has no {name}")
        return url


async def discover(target: Target, http: aiohttp.ClientSession) -> None:
    url = target.issuer.rstrip("/") + "/.well-known/openid-configuration"
    async with http.get(url) as r:
        r.raise_for_status()
        target.meta = await r.json(content_type=None)
    if (
        target.meta.get("issuer") != target.issuer.rstrip("/")
        and target.meta.get("issuer") != target.issuer
    ):
        print(
            f"warning: discovery issuer {target.meta.get('issuer')!r} != {target.issuer!r}",
            file=sys.stderr,
        )
    if not target.meta.get("introspection_endpoint"):
        # OIDC Discovery does not define introspection_endpoint and some OPs (e.g.
        # django-oauth-toolkit) publish it only in RFC 8414 metadata: fill gaps from there.
        u = urlsplit(target.issuer.rstrip("/"))
        for path in (
            f"/.well-known/oauth-authorization-server{u.path}",  # RFC 8414 s. 3
            f"{u.path}/.well-known/oauth-authorization-server",
        ):
            async with http.get(f"{u.scheme}://{u.netloc}{path}") as r:
                if r.status == 200:
                    extra = await r.json(content_type=None)
                    filled = {k: v for k, v in extra.items() if k not in target.meta}
                    target.meta.update(filled)
                    print(f"# discovery: took {sorted(filled)} from {path}", file=sys.stderr)
                    break
    for key in (
        "authorization_endpoint",
        "token_endpoint",
        "userinfo_endpoint",
        "introspection_endpoint",
        "revocation_endpoint",
        "jwks_uri",
    ):
        if target.meta.get(key):
            assert_loopback(target.meta[key])


# --------------------------------------------------------------------------- OP-specific part


class _FormParser(html.parser.HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.forms: list[dict] = []
        self._form: dict | None = None

    def handle_starttag(self, tag, attrs):
        a = {k: (v if v is not None else "") for k, v in attrs}
        if tag == "form":
            self._form = {
                "action": a.get("action", ""),
                "method": a.get("method", "get").lower(),
                "id": a.get("id", ""),
                "inputs": [],
                "buttons": [],
            }
            self.forms.append(self._form)
        elif self._form is not None and tag in ("input", "select", "textarea"):
            self._form["inputs"].append(
                {
                    "name": a.get("name"),
                    "type": a.get("type", "text").lower(),
                    "value": a.get("value", ""),
                }
            )
        elif self._form is not None and tag == "button":
            self._form["buttons"].append(
                {
                    "name": a.get("name"),
                    "value": a.get("value", ""),
                    "type": a.get("type", "submit").lower(),
                }
            )

    def handle_endtag(self, tag):
        if tag == "form":
            self._form = None


def drive_interaction(page_url: str, page_html: str, target: Target) -> tuple[str, str, dict]:
    """THE ONLY OP-SPECIFIC FUNCTION.

    Given an HTML page the OP showed during an authorization request (after
    redirects were followed), return the form submission that moves the flow on:
    ``(method, absolute_url, form_fields)``.

    Tongban first (idp/templates/authn/login.html, idp/templates/oidc/consent.html):
    GET /authorize -> 302 /login?next=/authorize/continue/<ticket>; the login form
    posts ``csrf_token``, ``account`` and ``password`` to its action (which carries
    ``next``) and answers 303 to /authorize/continue/<ticket>; a first-party client
    then gets its code at once, any other client (or ``prompt=consent``) is sent to
    /consent/<ticket>, whose form posts ``csrf_token`` and ``decision=allow`` to the
    page itself. The CSRF token is tied to the Flask session cookie, which the
    caller's cookie jar keeps.

    Then the login and consent pages of server.mjs (node-oidc-provider
    with devInteractions off): a login form with fields ``login``/``password``
    and a consent form posting to ``.../confirm``. It falls back to generic
    heuristics (first form with a password field = login; otherwise the first
    form whose action is not abort/deny/cancel = consent; hidden fields plus the
    first named submit control that is not a deny/cancel are sent), which suit
    many simple OP pages -- e.g. Django's LoginView (``username``/``password``,
    ``csrfmiddlewaretoken``) and django-oauth-toolkit's consent form
    (``<input type=submit name=allow>``). Replace or extend it for an OP with
    other pages.
    """
    parser = _FormParser()
    parser.feed(page_html)
    forms = parser.forms
    if not forms:
        raise RuntimeError(f"no form on interaction page {page_url}: {page_html[:300]!r}")

    deny = re.compile(r"abort|deny|cancel|reject", re.I)

    def hidden_of(form: dict) -> dict:
        return {
            i["name"]: i["value"] for i in form["inputs"] if i["name"] and i["type"] == "hidden"
        }

    def names_of(form: dict) -> set:
        return {i["name"] for i in form["inputs"] if i["name"]}

    # Tongban's login page
    tb_fields = {"csrf_token", "account", "password"}
    tb_login = next((f for f in forms if tb_fields <= names_of(f)), None)
    if tb_login is not None:
        if 'id="login-error"' in page_html:
            raise RuntimeError(f"login rejected at {page_url}")
        data = {**hidden_of(tb_login), "account": target.username, "password": target.password}
        return "POST", urljoin(page_url, tb_login["action"] or page_url), data
    # Tongban's consent page
    tb_consent = next(
        (
            f
            for f in forms
            if "csrf_token" in names_of(f)
            and any(b["name"] == "decision" and b["value"] == "allow" for b in f["buttons"])
        ),
        None,
    )
    if tb_consent is not None:
        data = {**hidden_of(tb_consent), "decision": "allow"}
        return "POST", urljoin(page_url, tb_consent["action"] or page_url), data

    def fields_of(form: dict) -> dict:
        out = {}
        for i in form["inputs"]:
            if i["name"] and i["type"] in ("hidden",):
                out[i["name"]] = i["value"]
        for b in form["buttons"]:
            if b["name"] and b["type"] == "submit":
                out[b["name"]] = b["value"]
                break
        else:  # no named <button>: the first named <input type=submit> that is not a deny/cancel
            for i in form["inputs"]:
                if (
                    i["name"]
                    and i["type"] == "submit"
                    and not deny.search(f"{i['name']} {i['value']}")
                ):
                    out[i["name"]] = i["value"]
                    break
        return out

    login = next((f for f in forms if any(i["type"] == "password" for i in f["inputs"])), None)
    if login is not None:
        if re.search(r"invalid|incorrect|wrong", page_html, re.I) and "error" in page_html.lower():
            raise RuntimeError(f"login rejected at {page_url}")
        data = fields_of(login)
        user_field = next(
            (
                i["name"]
                for i in login["inputs"]
                if i["name"] in ("login", "username", "email", "user")
            ),
            None,
        )
        if user_field is None:
            user_field = next(
                i["name"] for i in login["inputs"] if i["type"] in ("text", "email") and i["name"]
            )
        pw_field = next(i["name"] for i in login["inputs"] if i["type"] == "password")
        data[user_field] = target.username
        data[pw_field] = target.password
        return login["method"].upper(), urljoin(page_url, login["action"] or page_url), data

    consent = next(
        (f for f in forms if f["id"] == "consent" or f["action"].endswith("/confirm")), None
    )
    if consent is None:
        consent = next((f for f in forms if not deny.search(f["action"] or "")), None)
    if consent is None:
        raise RuntimeError(f"cannot find how to proceed from {page_url}")
    return (
        consent["method"].upper(),
        urljoin(page_url, consent["action"] or page_url),
        fields_of(consent),
    )


# ---------------------------------------------------------------------- generic flows (aiohttp)


async def authorize(
    http: aiohttp.ClientSession, target: Target, scope: str | None = None, max_steps: int = 25
) -> tuple[str, str]:
    """Run one authorization request (code + PKCE S256) to the redirect, driving
    any login/consent pages. Returns (code, code_verifier). Cookies live in ``http``.
    A scope with offline_access is sent with prompt=consent (OIDC Core 1.0 s. 11)."""
    scope = scope or target.scope
    verifier, challenge = pkce_pair()
    state, nonce = b64url(secrets.token_bytes(12)), b64url(secrets.token_bytes(12))
    params = {
        "response_type": "code",
        "client_id": target.client_id,
        "redirect_uri": target.redirect_uri,
        "scope": scope,
        "state": state,
        "nonce": nonce,
        "code_challenge": challenge,
        "code_challenge_method": "S256",
    }
    if "offline_access" in scope.split():
        params["prompt"] = "consent"
    query = urlencode(params)
    auth_ep = target.endpoint("authorization_endpoint")
    method, url, data = "GET", auth_ep + ("&" if "?" in auth_ep else "?") + query, None
    for _ in range(max_steps):
        if url.startswith(target.redirect_uri):
            q = parse_qs(urlsplit(url).query)
            if "error" in q:
                raise RuntimeError(f"authorization error: {q}")
            if q.get("state", [None])[0] != state:
                raise RuntimeError(f"state mismatch in {url}")
            return q["code"][0], verifier
        assert_loopback(url)
        async with http.request(method, url, data=data, allow_redirects=False) as r:
            body = await r.text()
            if r.status in (301, 302, 303, 307, 308):
                loc = urljoin(url, r.headers["Location"])
                if r.status in (307, 308):
                    url = loc  # keep method and body
                else:
                    method, url, data = "GET", loc, None
                continue
            if r.status != 200:
                raise RuntimeError(f"{method} {url} -> {r.status}: {body[:300]!r}")
            method, url, data = drive_interaction(str(r.url), body, target)
    raise RuntimeError("authorization flow did not reach the redirect_uri")


async def exchange_code(
    http: aiohttp.ClientSession, target: Target, code: str, verifier: str
) -> dict:
    async with http.post(
        target.endpoint("token_endpoint"),
        headers={"Authorization": target.auth_header},
        data={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": target.redirect_uri,
            "code_verifier": verifier,
        },
    ) as r:
        body = await r.json(content_type=None)
        if r.status != 200:
            raise RuntimeError(f"code exchange -> {r.status}: {body}")
        return body


def new_browser(connector: aiohttp.BaseConnector) -> aiohttp.ClientSession:
    """A 'browser': its own cookie jar (= its own OP session), shared connection pool."""
    return aiohttp.ClientSession(
        connector=connector,
        connector_owner=False,
        cookie_jar=aiohttp.CookieJar(unsafe=True),
        timeout=aiohttp.ClientTimeout(total=30),
    )


async def mint_codes(
    connector,
    target: Target,
    count: int,
    workers: int,
    per_session: int,
    max_seconds: float,
    scope: str | None = None,
) -> list[tuple[str, str]]:
    """Pre-mint up to ``count`` authorization codes through the interaction flow.
    Each worker is a browser that logs in (+consents) once per ``per_session``
    codes, then gets the rest silently through its SSO session."""
    codes: list[tuple[str, str]] = []
    failures: list[str] = []
    deadline = time.perf_counter() + max_seconds

    async def worker() -> None:
        while len(codes) < count and time.perf_counter() < deadline:
            async with new_browser(connector) as browser:
                for _ in range(per_session):
                    if len(codes) >= count or time.perf_counter() >= deadline:
                        return
                    try:
                        codes.append(await authorize(browser, target, scope))
                    except (TimeoutError, RuntimeError, aiohttp.ClientError) as e:
                        failures.append(repr(e))
                        if len(failures) > 20:
                            raise RuntimeError(
                                f"minting codes keeps failing: {failures[:3]}"
                            ) from e
                        break  # start over with a fresh browser

    await asyncio.gather(*(worker() for _ in range(workers)))
    if failures:
        print(
            f"warning: {len(failures)} failed authorizations while minting, e.g. {failures[0]}",
            file=sys.stderr,
        )
    return codes[:count]


# --------------------------------------------------------------------------- CPU accounting


class CpuSample:
    """Linux CPU accounting for one window: per-CPU busy/steal fractions from
    /proc/stat, the server process's CPU (if --server-pid), this driver's CPU, and
    'foreign' CPU = everything else busy on the machine (other tenants). With
    --db-pid (e.g. PostgreSQL's postmaster) the database server's CPU is counted
    apart as 'db_cores' instead of as foreign."""

    #: set from --db-pid: a database server whose process tree works for the OP
    db_pid: int | None = None

    def __init__(self, server_pid: int | None):
        self.server_pid = server_pid
        self.t = time.perf_counter()
        self.cpus = self._proc_stat()
        self.server = self._pid_cpu(server_pid)
        self.db = self._pid_cpu(self.db_pid)
        self.own = time.process_time()

    @staticmethod
    def _proc_stat() -> dict:
        out = {}
        try:
            with open("/proc/stat") as f:
                for line in f:
                    if line.startswith("cpu") and line[3] != " ":
                        name, *vals = line.split()
                        v = [int(x) for x in vals[:8]]
                        idle = v[3] + v[4]
                        steal = v[7] if len(v) > 7 else 0
                        out[name] = (sum(v[:7]) - idle, idle, steal)
        except OSError:
            pass
        return out

    @staticmethod
    def _pid_cpu(pid) -> float | None:
        """CPU seconds of ``pid`` and its live descendants (so a pre-fork server such as
        gunicorn counts its workers too; a single-process server is unaffected)."""
        if not pid:
            return None
        total, todo, seen = 0.0, [pid], set()
        while todo:
            p = todo.pop()
            if p in seen:
                continue
            seen.add(p)
            try:
                with open(f"/proc/{p}/stat") as f:
                    fields = f.read().rsplit(")", 1)[1].split()
                total += int(fields[11]) + int(fields[12])
            except (OSError, IndexError, ValueError):
                if p == pid:
                    return None
                continue
            try:
                for tid in os.listdir(f"/proc/{p}/task"):
                    with open(f"/proc/{p}/task/{tid}/children") as f:
                        todo.extend(int(c) for c in f.read().split())
            except OSError:
                pass
        return total / os.sysconf("SC_CLK_TCK")

    def since(self, before: CpuSample) -> dict:
        wall = max(1e-9, self.t - before.t)
        per_cpu, busy_total, steal_total = {}, 0.0, 0.0
        for name, (busy, idle, steal) in self.cpus.items():
            b0, i0, s0 = before.cpus.get(name, (busy, idle, steal))
            d_busy, d_idle, d_steal = busy - b0, idle - i0, steal - s0
            total = (d_busy + d_idle + d_steal) or 1
            per_cpu[name] = {"busy": round(d_busy / total, 3), "steal": round(d_steal / total, 3)}
            busy_total += d_busy / total
            steal_total += d_steal / total
        out = {
            "per_cpu": per_cpu,
            "machine_busy_cores": round(busy_total, 2),
            "steal_cores": round(steal_total, 2),
            "driver_cores": round((self.own - before.own) / wall, 2),
        }
        db = 0.0
        if self.db is not None and before.db is not None:
            db = out["db_cores"] = round((self.db - before.db) / wall, 2)
        if self.server is not None and before.server is not None:
            out["server_cores"] = round((self.server - before.server) / wall, 2)
            out["foreign_cores"] = round(
                max(0.0, busy_total - out["server_cores"] - out["driver_cores"] - db), 2
            )
        else:
            out["foreign_cores"] = None
        return out


def machine_busy(seconds: float = 1.0) -> float:
    a = CpuSample(None)
    time.sleep(seconds)
    return CpuSample(None).since(a)["machine_busy_cores"]


# --------------------------------------------------------------------------- raw load engine


class Window:
    def __init__(self, warmup: float, duration: float):
        now = time.perf_counter()
        self.t0 = now
        self.start = now + warmup
        self.end = self.start + duration
        self.lat: list[float] = []
        self.errors = 0
        self.last_done = self.start
        self.error_samples: list[str] = []
        self.total_sent = 0


class Conn(asyncio.Protocol):
    __slots__ = ("buf", "busy", "closed", "eng", "sent_at", "state", "tr")

    def __init__(self, eng: Engine):
        self.eng = eng
        self.state: dict = {}
        self.tr = None
        self.buf = b""
        self.sent_at = 0.0
        self.busy = False
        self.closed = False

    # asyncio callbacks
    def connection_made(self, transport):
        self.tr = transport

    def connection_lost(self, exc):
        self.closed = True
        if self.busy:
            self.busy = False
            self.eng.record_error(self, f"connection lost: {exc}")
        self.eng.conn_lost(self)

    def data_received(self, data):
        self.buf = self.buf + data if self.buf else data
        self._parse()

    # engine side
    def send_next(self):
        if self.closed:
            return
        req = self.eng.next_request(self)
        if req is None:
            self.closed = True
            self.tr.close()
            return
        self.busy = True
        self.sent_at = time.perf_counter()
        self.eng.win.total_sent += 1
        self.tr.write(req)

    def _parse(self):
        buf = self.buf
        i = buf.find(b"\r\n\r\n")
        if i < 0:
            return
        head = buf[:i]
        try:
            status = int(head[9:12])
        except ValueError:
            self.eng.record_error(self, f"bad status line {head[:40]!r}")
            self.tr.close()
            return
        lower = head.lower()
        j = lower.find(b"\r\ncontent-length:")
        close = b"\r\nconnection: close" in lower
        start = i + 4
        if j >= 0:
            k = lower.find(b"\r\n", j + 2)
            n = int(lower[j + 17 : k if k > 0 else None])
            if len(buf) < start + n:
                return
            body, rest = buf[start : start + n], buf[start + n :]
        elif b"\r\ntransfer-encoding: chunked" in lower:
            parts, pos = [], start
            while True:
                k = buf.find(b"\r\n", pos)
                if k < 0:
                    return
                size = int(buf[pos:k].split(b";", 1)[0], 16)
                if size == 0:
                    end = buf.find(b"\r\n\r\n", k)  # end of (optional) trailers
                    if end < 0:
                        return
                    body, rest = b"".join(parts), buf[end + 4 :]
                    break
                if len(buf) < k + 2 + size + 2:
                    return
                parts.append(buf[k + 2 : k + 2 + size])
                pos = k + 2 + size + 2
        else:
            body, rest = b"", buf[start:]
        self.buf = rest
        self.busy = False
        self.eng.complete(self, status, body)
        if close:
            self.closed = True
            self.tr.close()
        elif rest:
            self._parse()
        else:
            self.eng.after_response(self)


class Engine:
    """N keep-alive connections, one request in flight each, until the window ends
    or the scenario runs out of work."""

    def __init__(
        self,
        host: str,
        port: int,
        scenario,
        connections: int,
        warmup: float,
        duration: float,
        timeout: float = 10.0,
        server_pid: int | None = None,
    ):
        self.host, self.port = host, port
        self.server_pid = server_pid
        self.cpu_start: CpuSample | None = None
        self.cpu_end: CpuSample | None = None
        self.sc = scenario
        self.n = connections
        self.warmup, self.duration, self.timeout = warmup, duration, timeout
        self.conns: set[Conn] = set()
        self.win: Window | None = None
        self.stopping = False
        self.exhausted = False
        self.done: asyncio.Future | None = None
        self.loop = None

    def next_request(self, conn: Conn):
        if self.stopping or time.perf_counter() >= self.win.end:
            return None
        req = self.sc.request(conn.state)
        if req is None:
            self.exhausted = True
        return req

    def record_error(self, conn: Conn, msg: str):
        now = time.perf_counter()
        w = self.win
        if w.start <= now <= w.end:
            w.errors += 1
            w.last_done = now
            if len(w.error_samples) < 5:
                w.error_samples.append(msg)

    def complete(self, conn: Conn, status: int, body: bytes):
        now = time.perf_counter()
        ok = self.sc.check(conn.state, status, body)
        w = self.win
        if w.start <= now <= w.end:
            w.lat.append(now - conn.sent_at)
            w.last_done = now
            if not ok:
                w.errors += 1
                if len(w.error_samples) < 5:
                    w.error_samples.append(f"HTTP {status}: {body[:200]!r}")

    def after_response(self, conn: Conn):
        conn.send_next()

    def conn_lost(self, conn: Conn):
        self.conns.discard(conn)
        if not self.stopping and not self.exhausted and time.perf_counter() < self.win.end:
            # reconnect (a server without keep-alive, e.g. gunicorn's sync worker, closes after
            # every response); the new connection carries on with this one's scenario state
            # (e.g. its refresh-token chain)
            self.loop.create_task(self._open_and_start(conn.state))
        elif not self.conns and not self.done.done():
            self.done.set_result(None)

    async def _open(self, state: dict | None = None) -> Conn:
        _, conn = await self.loop.create_connection(lambda: Conn(self), self.host, self.port)
        if state is not None:
            conn.state = state
        self.conns.add(conn)
        return conn

    async def _open_and_start(self, state: dict | None = None):
        try:
            conn = await self._open(state)
        except OSError as e:
            self.record_error(None, f"connect: {e}")
            await asyncio.sleep(0.05)
            if not self.conns and not self.done.done():
                self.done.set_result(None)
            return
        conn.send_next()

    async def _watchdog(self):
        while not self.done.done():
            await asyncio.sleep(0.25)
            now = time.perf_counter()
            for c in list(self.conns):
                if c.busy and now - c.sent_at > self.timeout:
                    c.busy = False
                    self.record_error(c, "timeout")
                    c.tr.abort()
            if now > self.win.end + self.timeout + 1:
                self.stopping = True
                for c in list(self.conns):
                    c.tr.abort()
                if not self.done.done():
                    self.done.set_result(None)

    def _sample_start(self):
        self.cpu_start = CpuSample(self.server_pid)

    def _sample_end(self):
        if self.cpu_end is None:
            self.cpu_end = CpuSample(self.server_pid)

    async def run(self) -> dict:
        self.loop = asyncio.get_running_loop()
        self.done = self.loop.create_future()
        conns = [await self._open() for _ in range(self.n)]
        self.win = Window(self.warmup, self.duration)
        wd = self.loop.create_task(self._watchdog())
        h1 = self.loop.call_later(self.warmup, self._sample_start)
        h2 = self.loop.call_later(self.warmup + self.duration, self._sample_end)
        for c in conns:
            c.send_next()
        await self.done
        wd.cancel()
        h1.cancel()
        h2.cancel()
        if self.cpu_end is None:
            self._sample_end()
        w = self.win
        end = w.end if not self.exhausted else min(w.end, w.last_done)
        span = max(1e-9, end - w.start)
        lat = sorted(w.lat)
        n = len(lat)
        if self.exhausted and w.last_done <= w.start:
            print(
                "warning: scenario ran out of work before the measurement window", file=sys.stderr
            )
        return {
            "requests": n,
            "errors": w.errors,
            "window_s": round(span, 3),
            "rps": n / span,
            "p50_ms": percentile(lat, 50) * 1e3,
            "p90_ms": percentile(lat, 90) * 1e3,
            "p99_ms": percentile(lat, 99) * 1e3,
            "max_ms": (lat[-1] * 1e3) if lat else float("nan"),
            "mean_ms": (sum(lat) / n * 1e3) if n else float("nan"),
            "ran_out_of_work": self.exhausted,
            "error_samples": w.error_samples,
            "cpu": self.cpu_end.since(self.cpu_start) if self.cpu_start else None,
        }


def http_request(
    method: str, url: str, headers: dict[str, str], body: str | bytes | None = None
) -> bytes:
    u = urlsplit(url)
    path = (u.path or "/") + (f"?{u.query}" if u.query else "")
    lines = [f"{method} {path} HTTP/1.1", f"Host: {u.netloc}"]
    lines += [f"{k}: {v}" for k, v in headers.items()]
    if body is not None:
        if isinstance(body, str):
            body = body.encode()
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + (body or b"")


# --------------------------------------------------------------------------- scenarios

FORM = "application/x-www-form-urlencoded"
RE_ACTIVE = re.compile(rb'"active"\s*:\s*true')


class Static:
    """Same request every time."""

    def __init__(self, name, req: bytes, ok):
        self.name, self.req, self.ok = name, req, ok

    def request(self, state):
        return self.req

    def check(self, state, status, body):
        return self.ok(status, body)


class CodeExchange:
    def __init__(self, target: Target, codes: list[tuple[str, str]]):
        self.name = "code"
        self.codes = deque(codes)
        self.url = target.endpoint("token_endpoint")
        self.headers = {
            "Authorization": target.auth_header,
            "Content-Type": FORM,
            "Accept": "application/json",
        }
        self.redirect = quote(target.redirect_uri, safe="")

    def request(self, state):
        if not self.codes:
            return None
        code, verifier = self.codes.popleft()
        body = (
            f"grant_type=authorization_code&code={quote(code, safe='')}"
            f"&redirect_uri={self.redirect}&code_verifier={verifier}"
        )
        return http_request("POST", self.url, self.headers, body)

    def check(self, state, status, body):
        return status == 200 and b'"access_token"' in body


class RefreshChains:
    """One rotating refresh-token chain per connection; a broken chain takes a spare."""

    def __init__(self, target: Target, refresh_tokens: list[str]):
        self.name = "refresh"
        self.spares = deque(refresh_tokens)
        self.url = target.endpoint("token_endpoint")
        self.headers = {
            "Authorization": target.auth_header,
            "Content-Type": FORM,
            "Accept": "application/json",
        }

    def request(self, state):
        rt = state.get("rt")
        if rt is None:
            if not self.spares:
                return None
            rt = state["rt"] = self.spares.popleft()
        return http_request(
            "POST",
            self.url,
            self.headers,
            f"grant_type=refresh_token&refresh_token={quote(rt, safe='')}",
        )

    def check(self, state, status, body):
        if status != 200:
            state.pop("rt", None)  # chain broken (or reuse detected): take a spare next time
            return False
        try:
            new = json.loads(body).get("refresh_token")
        except ValueError:
            state.pop("rt", None)
            return False
        if new:
            state["rt"] = new
        return True


# --------------------------------------------------------------------------- functional pre-checks


async def verify(connector, target: Target) -> list[tuple[str, bool, str]]:
    """Check that the OP does the work the scenarios assume (so two OPs are compared
    like for like): PKCE enforced, codes single-use, refresh tokens rotate and the
    rotated-out token is refused, introspection/userinfo answer for a live token."""
    out: list[tuple[str, bool, str]] = []
    token_ep = target.endpoint("token_endpoint")
    hdr = {"Authorization": target.auth_header}
    async with new_browser(connector) as b:
        # PKCE required: an authorization request without code_challenge must not yield a code
        q = urlencode(
            {
                "response_type": "code",
                "client_id": target.client_id,
                "redirect_uri": target.redirect_uri,
                "scope": target.scope,
                "state": "x",
            }
        )
        async with b.get(
            target.endpoint("authorization_endpoint") + "?" + q, allow_redirects=False
        ) as r:
            loc = r.headers.get("Location", "")
            no_code = "code=" not in loc
            out.append(
                (
                    "PKCE required (no code without code_challenge)",
                    no_code,
                    f"{r.status} {loc[:100] or (await r.text())[:100]}",
                )
            )
        code, verifier = await authorize(b, target)
        # same request again, now with a logged-in session: follow redirects up to the redirect_uri
        url = target.endpoint("authorization_endpoint") + "?" + q
        for _ in range(10):
            if url.startswith(target.redirect_uri):
                break
            async with b.get(url, allow_redirects=False) as r:
                if r.status not in (301, 302, 303, 307, 308):
                    break
                url = urljoin(url, r.headers["Location"])
        out.append(
            (
                "PKCE required, logged-in session (no code without code_challenge)",
                "code" not in parse_qs(urlsplit(url).query),
                f"{r.status} {url[:100]}",
            )
        )
        async with b.post(
            token_ep,
            headers=hdr,
            data={
                "grant_type": "authorization_code",
                "code": code,
                "redirect_uri": target.redirect_uri,
                "code_verifier": "x" * 43 + verifier[:10],
            },
        ) as r:
            out.append(("wrong code_verifier refused", r.status == 400, str(r.status)))
        code, verifier = await authorize(b, target)
        tok = await exchange_code(b, target, code, verifier)
        out.append(
            (
                "code exchange returns access_token + id_token",
                bool(tok.get("access_token") and tok.get("id_token")),
                "id_token alg "
                + json.loads(
                    base64.urlsafe_b64decode(tok.get("id_token", "e30").split(".")[0] + "==")
                ).get("alg", "?"),
            )
        )
        async with b.post(
            target.endpoint("introspection_endpoint"),
            headers=hdr,
            data={"token": tok["access_token"]},
        ) as r:
            j = await r.json(content_type=None)
            out.append(("introspection: active=true", j.get("active") is True, str(j)[:100]))
        async with b.get(
            target.endpoint("userinfo_endpoint"),
            headers={"Authorization": f"Bearer {tok['access_token']}"},
        ) as r:
            j = await r.json(content_type=None)
            out.append(("userinfo returns sub", r.status == 200 and "sub" in j, str(j)[:100]))
        async with b.post(
            token_ep,
            headers=hdr,
            data={
                "grant_type": "authorization_code",
                "code": code,
                "redirect_uri": target.redirect_uri,
                "code_verifier": verifier,
            },
        ) as r:
            out.append(("code is single-use", r.status == 400, str(r.status)))
        async with b.post(
            target.endpoint("introspection_endpoint"),
            headers=hdr,
            data={"token": tok["access_token"]},
        ) as r:
            j = await r.json(content_type=None)
            out.append(
                (
                    "(SHOULD, RFC 6749 4.1.2) code replay revokes the tokens issued from it",
                    j.get("active") is False,
                    f"introspection after replay: active={j.get('active')}",
                )
            )
    async with new_browser(connector) as b:
        code, verifier = await authorize(b, target, target.refresh_scope)
        tok = await exchange_code(b, target, code, verifier)
        rt0 = tok.get("refresh_token")
        out.append(("offline_access yields refresh_token", bool(rt0), str(tok.get("scope"))))
        if rt0:
            async with b.post(
                token_ep, headers=hdr, data={"grant_type": "refresh_token", "refresh_token": rt0}
            ) as r:
                j = await r.json(content_type=None)
            rt1 = j.get("refresh_token")
            out.append(
                (
                    "refresh rotates the refresh_token",
                    bool(rt1) and rt1 != rt0,
                    f"{r.status}, id_token {'yes' if j.get('id_token') else 'no'}",
                )
            )
            async with b.post(
                token_ep, headers=hdr, data={"grant_type": "refresh_token", "refresh_token": rt0}
            ) as r:
                detail = str(r.status)
                if r.status == 200:
                    again = (await r.json(content_type=None)).get("refresh_token")
                    # an OP with a reuse grace for lost responses answers with the same successor
                    detail += (
                        " (the same successor again: a reuse grace)"
                        if again == rt1
                        else " (a different successor: a second branch!)"
                    )
                out.append(("rotated-out refresh_token refused", r.status == 400, detail))
        async with b.post(
            token_ep,
            headers={"Authorization": target.cc_auth_header},
            data={
                "grant_type": "client_credentials",
                **({"scope": target.cc_scope} if target.cc_scope else {}),
            },
        ) as r:
            j = await r.json(content_type=None)
            out.append(
                ("client_credentials works", r.status == 200 and "access_token" in j, str(j)[:100])
            )
    return out


# --------------------------------------------------------------------------- orchestration

SCENARIOS = ("cc", "introspect", "userinfo", "code", "refresh")


async def user_tokens(connector, target: Target) -> dict:
    async with new_browser(connector) as browser:
        code, verifier = await authorize(browser, target)
        return await exchange_code(browser, target, code, verifier)


async def seed_refresh_tokens(connector, target: Target, n: int, workers: int) -> list[str]:
    # one browser session (hence one grant) per chain
    codes = await mint_codes(
        connector, target, n, workers, per_session=1, max_seconds=120, scope=target.refresh_scope
    )
    out = []
    async with new_browser(connector) as http:

        async def one(cv):
            tok = await exchange_code(http, target, *cv)
            if not tok.get("refresh_token"):
                raise RuntimeError(
                    f"no refresh_token issued (scope {target.refresh_scope!r}): {tok}"
                )
            out.append(tok["refresh_token"])

        await asyncio.gather(*(one(cv) for cv in codes))
    return out


async def run_scenario(name: str, target: Target, connector, args, tokens: dict) -> dict:
    token_url = target.endpoint("token_endpoint")
    setup: dict = {}
    if args.wait_quiet:  # other tenants on the box? wait (bounded) for a quiet moment
        t = time.perf_counter()
        while True:
            busy = await asyncio.to_thread(machine_busy, 1.0)
            if busy <= args.quiet_cores or time.perf_counter() - t >= args.wait_quiet:
                break
        setup["busy_before"] = busy
    if name == "cc":
        body = "grant_type=client_credentials" + (
            f"&scope={quote(target.cc_scope, safe='')}" if target.cc_scope else ""
        )
        req = http_request(
            "POST",
            token_url,
            {
                "Authorization": target.cc_auth_header,
                "Content-Type": FORM,
                "Accept": "application/json",
            },
            body,
        )
        sc = Static(name, req, lambda s, b: s == 200 and b'"access_token"' in b)
        url = token_url
    elif name == "introspect":
        url = target.endpoint("introspection_endpoint")
        body = f"token={quote(tokens['access_token'], safe='')}&token_type_hint=access_token"
        req = http_request(
            "POST",
            url,
            {
                "Authorization": target.auth_header,
                "Content-Type": FORM,
                "Accept": "application/json",
            },
            body,
        )
        sc = Static(name, req, lambda s, b: s == 200 and RE_ACTIVE.search(b) is not None)
    elif name == "userinfo":
        url = target.endpoint("userinfo_endpoint")
        req = http_request(
            "GET",
            url,
            {"Authorization": f"Bearer {tokens['access_token']}", "Accept": "application/json"},
        )
        sc = Static(name, req, lambda s, b: s == 200 and b'"sub"' in b)
    elif name == "code":
        url = token_url
        t = time.perf_counter()
        codes = await mint_codes(
            connector,
            target,
            args.codes,
            args.mint_workers,
            args.codes_per_session,
            args.mint_seconds,
        )
        setup.update(codes_minted=len(codes), mint_s=round(time.perf_counter() - t, 2))
        sc = CodeExchange(target, codes)
    elif name == "refresh":
        url = token_url
        t = time.perf_counter()
        rts = await seed_refresh_tokens(
            connector, target, args.connections + args.refresh_spares, args.mint_workers
        )
        setup.update(chains_seeded=len(rts), seed_s=round(time.perf_counter() - t, 2))
        sc = RefreshChains(target, rts)
    else:
        raise SystemExit(f"unknown scenario {name}")
    u = urlsplit(url)
    assert_loopback(url)
    eng = Engine(
        u.hostname,
        u.port or 80,
        sc,
        args.connections,
        args.warmup,
        args.duration,
        args.timeout,
        args.server_pid,
    )
    res = await eng.run()
    res.update(setup)
    return res


def fmt(x: float, nd=2) -> str:
    return "nan" if x != x else f"{x:.{nd}f}"


async def main_async(args) -> dict:
    target = Target(
        args.issuer,
        args.client_id,
        args.client_secret,
        args.redirect_uri,
        args.scope,
        args.refresh_scope,
        args.cc_scope,
        args.username,
        args.password,
        cc_client_id=args.cc_client_id,
        cc_client_secret=args.cc_client_secret,
    )
    assert_loopback(args.issuer)
    assert_loopback(args.redirect_uri) if urlsplit(args.redirect_uri).hostname else None
    connector = aiohttp.TCPConnector(limit=max(args.mint_workers, 4), force_close=False)
    try:
        async with aiohttp.ClientSession(connector=connector, connector_owner=False) as http:
            await discover(target, http)
        checks = await verify(connector, target)
        for name, ok, detail in checks:
            print(f"# check {'ok  ' if ok else 'FAIL'} {name}: {detail}", flush=True)
        if args.verify_only:
            return {"checks": checks}
        scenarios = [s.strip() for s in args.scenarios.split(",") if s.strip()]
        tokens = {}
        if {"introspect", "userinfo"} & set(scenarios):
            tokens = await user_tokens(connector, target)
        report = {
            "target": {
                "issuer": target.meta.get("issuer"),
                "client_id": target.client_id,
                "scope": target.scope,
                "refresh_scope": target.refresh_scope,
                "cc_scope": target.cc_scope,
                "cc_client_id": target.cc_client_id or target.client_id,
            },
            "driver": {
                "python": platform.python_version(),
                "aiohttp": aiohttp.__version__,
                "connections": args.connections,
                "warmup_s": args.warmup,
                "duration_s": args.duration,
                "runs": args.runs,
                "pid": os.getpid(),
                "cpu_affinity": sorted(os.sched_getaffinity(0))
                if hasattr(os, "sched_getaffinity")
                else None,
            },
            "checks": [{"check": n, "ok": ok, "detail": d} for n, ok, d in checks],
            "scenarios": {},
        }
        print(
            f"# target {target.meta.get('issuer')}  connections={args.connections} "
            f"warmup={args.warmup}s duration={args.duration}s runs={args.runs}",
            flush=True,
        )
        print(
            f"{'scenario':<11} {'run':>3} {'requests':>9} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8} "
            f"{'errors':>6}  notes",
            flush=True,
        )
        for name in scenarios:
            runs, discarded = [], []
            while len(runs) < args.runs:
                r = await run_scenario(name, target, connector, args, tokens)
                foreign = (r.get("cpu") or {}).get("foreign_cores")
                noisy = (
                    args.max_foreign is not None
                    and foreign is not None
                    and foreign > args.max_foreign
                    and len(discarded) < args.max_retries
                )
                (discarded if noisy else runs).append(r)
                i = len(runs) - 1
                notes = {
                    k: r[k] for k in ("codes_minted", "mint_s", "chains_seeded", "seed_s") if k in r
                }
                if noisy:
                    notes["DISCARDED"] = f"foreign cores {foreign} > {args.max_foreign}; run again"
                    i = -1
                if r["ran_out_of_work"]:
                    notes["window_s"] = r["window_s"]
                if r["error_samples"]:
                    notes["first_error"] = r["error_samples"][0][:120]
                if r.get("cpu"):
                    c = r["cpu"]
                    notes["cpu"] = (
                        f"server {c.get('server_cores')} driver {c['driver_cores']} "
                        f"foreign {c['foreign_cores']} steal {c['steal_cores']}"
                    )
                print(
                    f"{name:<11} {(i + 1) if i >= 0 else 'x':>3} {r['requests']:>9} "
                    f"{r['rps']:>9.1f} {fmt(r['p50_ms']):>8} "
                    f"{fmt(r['p99_ms']):>8} {r['errors']:>6}  {notes or ''}",
                    flush=True,
                )
                if args.pause:
                    await asyncio.sleep(args.pause)
            med = {
                "rps": statistics.median(r["rps"] for r in runs),
                "p50_ms": statistics.median(r["p50_ms"] for r in runs),
                "p99_ms": statistics.median(r["p99_ms"] for r in runs),
                "errors_total": sum(r["errors"] for r in runs),
                "requests_total": sum(r["requests"] for r in runs),
            }
            report["scenarios"][name] = {"runs": runs, "median": med}
            if discarded:
                report["scenarios"][name]["discarded_runs"] = discarded
        print(f"\n# median of {args.runs} runs", flush=True)
        print(f"{'scenario':<11} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'errors(all runs)':>16}")
        for name, s in report["scenarios"].items():
            m = s["median"]
            print(
                f"{name:<11} {m['rps']:>9.1f} {fmt(m['p50_ms']):>8} {fmt(m['p99_ms']):>8} "
                f"{m['errors_total']:>16}"
            )
        return report
    finally:
        await connector.close()


async def ceiling_async(args) -> dict:
    """Driver ceiling: GET a trivial URL with the same engine."""
    assert_loopback(args.url)
    req = http_request("GET", args.url, {"Accept": "application/json"})
    u = urlsplit(args.url)
    eng = Engine(
        u.hostname,
        u.port or 80,
        Static("ceiling", req, lambda s, b: s == 200),
        args.connections,
        args.warmup,
        args.duration,
        args.timeout,
        args.server_pid,
    )
    r = await eng.run()
    print(
        f"ceiling {args.url}: {r['requests']} requests, {r['rps']:.1f} req/s, "
        f"p50 {r['p50_ms']:.2f} ms, "
        f"p99 {r['p99_ms']:.2f} ms, errors {r['errors']}, cpu {r['cpu']}"
    )
    return r


def summarize(paths: list[str]) -> None:
    """Merge --json reports (e.g. one per scenario, each against a fresh OP process)."""
    rows = []
    for path in paths:
        with open(path) as f:
            rep = json.load(f)
        for name, sc in rep.get("scenarios", {}).items():
            runs = sc["runs"]
            cpu = [r["cpu"] for r in runs if r.get("cpu")]
            med = sc["median"]
            nruns = f"{len(runs)}" + (
                f" (+{len(sc['discarded_runs'])} discarded)" if sc.get("discarded_runs") else ""
            )
            rows.append(
                (
                    name,
                    nruns,
                    med["rps"],
                    med["p50_ms"],
                    med["p99_ms"],
                    med["errors_total"],
                    " / ".join(
                        f"{r['rps']:.0f}"
                        + (
                            f" (ran out after {r['window_s']} s)"
                            if r.get("ran_out_of_work")
                            else ""
                        )
                        for r in runs
                    ),
                    statistics.median(c.get("server_cores") or 0 for c in cpu)
                    if cpu
                    else float("nan"),
                    statistics.median(c["driver_cores"] for c in cpu) if cpu else float("nan"),
                    max((c.get("foreign_cores") or 0) for c in cpu) if cpu else float("nan"),
                )
            )
    order = {n: i for i, n in enumerate(SCENARIOS)}
    rows.sort(key=lambda r: order.get(r[0], 99))
    print(
        "| scenario | runs | req/s (median) | p50 ms | p99 ms | errors (all runs) | req/s per run "
        "| OP cores | driver cores | max foreign cores |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(
            f"| {r[0]} | {r[1]} | {r[2]:.0f} | {fmt(r[3])} | {fmt(r[4])} | {r[5]} | {r[6]} "
            f"| {fmt(r[7])} | {fmt(r[8])} | {fmt(r[9])} |"
        )


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--summarize":
        summarize(sys.argv[2:])
        return
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument(
        "--issuer",
        help="OP issuer / base URL (discovery is <issuer>/.well-known/openid-configuration)",
    )
    p.add_argument("--client-id")
    p.add_argument("--client-secret")
    p.add_argument(
        "--redirect-uri",
        help="registered redirect_uri (never contacted: the driver stops at the redirect)",
    )
    p.add_argument("--username", default="alice")
    p.add_argument("--password", default="wonderland")
    p.add_argument(
        "--scope",
        default="openid profile email",
        help="scope of the code flows behind introspect/userinfo/code",
    )
    p.add_argument(
        "--refresh-scope",
        default="openid offline_access profile email",
        help="scope of the code flows that seed refresh chains (sent with prompt=consent)",
    )
    p.add_argument(
        "--cc-scope", default="api:read", help="scope for client_credentials ('' for none)"
    )
    p.add_argument("--cc-client-id", help="client for the cc scenario (default: --client-id)")
    p.add_argument("--cc-client-secret", help="its client_secret_basic secret")
    p.add_argument("--scenarios", default=",".join(SCENARIOS))
    p.add_argument("-c", "--connections", type=int, default=32)
    p.add_argument("-d", "--duration", type=float, default=10.0, help="measured seconds per run")
    p.add_argument(
        "-w", "--warmup", type=float, default=5.0, help="unmeasured seconds before each window"
    )
    p.add_argument("-r", "--runs", type=int, default=3)
    p.add_argument("--timeout", type=float, default=10.0, help="per-request timeout (s)")
    p.add_argument("--pause", type=float, default=1.0, help="idle seconds between runs")
    p.add_argument("--codes", type=int, default=24000, help="codes to pre-mint per 'code' run")
    p.add_argument("--mint-seconds", type=float, default=45.0, help="stop minting after this long")
    p.add_argument("--mint-workers", type=int, default=16, help="concurrent browsers while minting")
    p.add_argument(
        "--codes-per-session",
        type=int,
        default=50,
        help="codes minted per browser login (the rest come from its SSO session)",
    )
    p.add_argument(
        "--refresh-spares",
        type=int,
        default=32,
        help="spare refresh tokens beyond one per connection",
    )
    p.add_argument("--verify-only", action="store_true", help="run the functional pre-checks only")
    p.add_argument("--server-pid", type=int, help="OP process id, to report its CPU use per window")
    p.add_argument(
        "--db-pid",
        type=int,
        help="database server process id (its tree's CPU is reported as db_cores, not foreign)",
    )
    p.add_argument(
        "--wait-quiet",
        type=float,
        default=0.0,
        help="before each run, wait up to this many seconds for the machine to be idle",
    )
    p.add_argument(
        "--quiet-cores",
        type=float,
        default=0.25,
        help="'idle' = at most this many cores busy over 1 s",
    )
    p.add_argument(
        "--max-foreign",
        type=float,
        default=None,
        help="discard a run (and run it again) if other processes used more than this many "
        "cores during its window (a shared box); off by default",
    )
    p.add_argument(
        "--max-retries", type=int, default=5, help="at most this many discarded runs per scenario"
    )
    p.add_argument("--json", help="write the full report here")
    p.add_argument(
        "--ceiling-url",
        dest="url",
        help="instead of the OP scenarios, measure the driver's ceiling against this trivial URL",
    )
    args = p.parse_args()
    CpuSample.db_pid = args.db_pid

    if args.url:
        report = asyncio.run(ceiling_async(args))
    else:
        missing = [
            o
            for o in ("issuer", "client_id", "client_secret", "redirect_uri")
            if not getattr(args, o)
        ]
        if missing:
            p.error("missing " + ", ".join("--" + m.replace("_", "-") for m in missing))
        report = asyncio.run(main_async(args))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(report, f, indent=2)


if __name__ == "__main__":
    main()
