"""The one way the IdP fetches a URL that somebody else chose (a client's `jwks_uri`, its
`sector_identifier_uri`, ...), so that no client can make the IdP reach into its own network
(server-side request forgery; CONFORMANCE.md §D row 21, Keycloak CVE-2026-4874).

Every fetch:

* is https (http only to loopback, and loopback only when ``settings.fetch_allow_loopback``,
  which production refuses);
* resolves the host once, refuses it if *any* address it resolves to is not a public unicast
  address (loopback, RFC 1918, link-local incl. 169.254.169.254, CGNAT, unique-local, multicast,
  reserved; IPv4 addresses embedded in IPv6 — mapped, 6to4, Teredo, NAT64 — are judged as the
  IPv4 address they carry), and then connects to exactly the address it checked, so a second DNS
  answer cannot swap in another one (DNS rebinding);
* follows at most a few redirects, each checked as if it were the first URL;
* is bounded in total time and body size, never decompresses, never uses a proxy.

"Not allowed" (:class:`FetchRefused`) and "could not get it" (:class:`FetchFailed`) are different
errors: the first is the requester's doing, the second may be the network's.
"""

from __future__ import annotations

import http.client
import ipaddress
import json
import logging
import socket
import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlencode, urljoin, urlsplit

from .settings import Settings

log = logging.getLogger(__name__)

MAX_REDIRECTS = 3
USER_AGENT = "Tongban-IdP"
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
_IPV4_COMPATIBLE = ipaddress.IPv6Network("::/96")

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolver = Callable[[str, int], list[str]]


class FetchError(Exception):
    """Base: `public` is safe to show the client that supplied the URL; `detail` is for logs."""

    def __init__(self, public: str, detail: str | None = None):
        super().__init__(public)
        self.public = public
        self.detail = detail or public


class FetchRefused(FetchError):
    """The URL, or an address it resolves or redirects to, may not be fetched."""


class FetchFailed(FetchError):
    """The URL was allowed but could not be fetched (network, status, time, size, format)."""

    def __init__(self, public: str, detail: str | None = None, *, kind: str = "failed"):
        super().__init__(public, detail)
        #: "timeout", "too_large", "connection" or "failed": for callers that report outcomes
        self.kind = kind


@dataclass(frozen=True)
class Fetched:
    url: str
    status: int
    content_type: str
    body: bytes

    def json(self):
        try:
            return json.loads(self.body)
        except ValueError as exc:
            raise FetchFailed("The document is not valid JSON.") from exc


def _embedded_ipv4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip.sixtofour is not None:
        return ip.sixtofour
    if ip.teredo is not None:
        return ip.teredo[1]
    if ip in _NAT64 or (ip in _IPV4_COMPATIBLE and int(ip) > 1):
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return None


def address_problem(ip: Address, *, allow_loopback: bool) -> str | None:
    """Why the IdP must not connect to `ip`, or None if it may."""
    if isinstance(ip, ipaddress.IPv6Address):
        embedded = _embedded_ipv4(ip)
        if embedded is not None:
            return address_problem(embedded, allow_loopback=allow_loopback)
    if ip.is_loopback:
        return None if allow_loopback else "loopback address"
    if ip.is_link_local:
        return "link-local address"
    if ip.is_multicast or ip.is_unspecified or ip.is_reserved:
        return "not a unicast address"
    if ip.is_private or not ip.is_global:
        return "private or non-public address"
    return None


def _system_resolve(host: str, port: int) -> list[str]:
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise FetchFailed("The host name could not be resolved.", f"{host}: {exc}") from exc
    return [info[4][0] for info in infos]


@dataclass(frozen=True)
class _Target:
    scheme: str
    host: str
    port: int
    path: str
    address: str


def _vet(url: str, *, allow_loopback: bool, resolve: Resolver) -> _Target:
    """Check `url` and every address its host resolves to; return the address to connect to."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise FetchRefused("The URL is not valid.", url) from exc
    scheme = parts.scheme.lower()
    if scheme not in ("https", "http") or not parts.hostname:
        raise FetchRefused("Only https URLs can be fetched.", url)
    if parts.username is not None or parts.password is not None:
        raise FetchRefused("URLs with credentials are not fetched.", url)
    host = parts.hostname
    port = port or (443 if scheme == "https" else 80)
    try:
        addresses = [ipaddress.ip_address(host)]
    except ValueError:
        addresses = [ipaddress.ip_address(a.split("%", 1)[0]) for a in resolve(host, port)]
    if not addresses:
        raise FetchFailed("The host name could not be resolved.", host)
    for address in addresses:
        problem = address_problem(address, allow_loopback=allow_loopback)
        if problem:
            raise FetchRefused("The URL points at an address the server may not reach.",
                               f"{host} -> {address}: {problem}")
    if scheme == "http" and not all(a.is_loopback or (
            isinstance(a, ipaddress.IPv6Address) and a.ipv4_mapped and a.ipv4_mapped.is_loopback)
            for a in addresses):
        raise FetchRefused("Only https URLs can be fetched.", url)
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return _Target(scheme, host, port, path, str(addresses[0]))


class _PinnedHTTP(http.client.HTTPConnection):
    def __init__(self, target: _Target, timeout: float):
        super().__init__(target.host, target.port, timeout=timeout)
        self._address = target.address

    def connect(self):
        self.sock = socket.create_connection((self._address, self.port), self.timeout)


class _PinnedHTTPS(http.client.HTTPSConnection):
    def __init__(self, target: _Target, timeout: float):
        super().__init__(target.host, target.port, timeout=timeout,
                         context=ssl.create_default_context())
        self._address = target.address

    def connect(self):
        sock = socket.create_connection((self._address, self.port), self.timeout)
        # Certificate and SNI are checked against the host name, not the address we pinned.
        self.sock = self._context.wrap_socket(sock, server_hostname=self.host)


def fetch(url: str, *, allow_loopback: bool, timeout: float, max_bytes: int,
          accept: str = "application/json", resolve: Resolver | None = None) -> Fetched:
    """GET `url` under the rules in the module docstring."""
    resolve = resolve or _system_resolve
    deadline = time.monotonic() + timeout
    current = url
    for _ in range(MAX_REDIRECTS + 1):
        target = _vet(current, allow_loopback=allow_loopback, resolve=resolve)
        status, headers, body = _send(target, "GET", accept, deadline, max_bytes)
        if status in (301, 302, 303, 307, 308):
            location = headers.get("location")
            if not location:
                raise FetchFailed("A redirect had no destination.", current)
            current = urljoin(current, location)
            continue
        if status != 200:
            raise FetchFailed(f"The URL answered with HTTP status {status}.", current)
        return Fetched(url=current, status=status,
                       content_type=headers.get("content-type", ""), body=body)
    raise FetchFailed("Too many redirects.", url)


def _remaining(deadline: float) -> float:
    left = deadline - time.monotonic()
    if left <= 0:
        raise FetchFailed("The URL took too long to answer.", kind="timeout")
    return left


def post_form(url: str, data: dict[str, str], *, allow_loopback: bool, timeout: float,
              max_bytes: int, resolve: Resolver | None = None) -> tuple[int, bytes]:
    """POST a form to `url` under the same address rules (back-channel logout and any other
    call to a URL a client registered). Redirects are never followed: the status is returned.
    Raises FetchRefused / FetchFailed like :func:`fetch`."""
    deadline = time.monotonic() + timeout
    target = _vet(url, allow_loopback=allow_loopback, resolve=resolve or _system_resolve)
    status, _headers, body = _send(target, "POST", "*/*", deadline, max_bytes,
                                   body=urlencode(data).encode())
    return status, body


def _send(target: _Target, method: str, accept: str, deadline: float, max_bytes: int,
          body: bytes | None = None) -> tuple[int, dict[str, str], bytes]:
    cls = _PinnedHTTPS if target.scheme == "https" else _PinnedHTTP
    conn = cls(target, timeout=_remaining(deadline))
    headers = {"Accept": accept, "User-Agent": USER_AGENT, "Accept-Encoding": "identity",
               "Connection": "close"}
    if body is not None:
        headers["Content-Type"] = "application/x-www-form-urlencoded"
    try:
        conn.request(method, target.path, body=body, headers=headers)
        # Kept: the connection lets go of its socket once a "close" response is read.
        sock = conn.sock
        sock.settimeout(_remaining(deadline))
        response = conn.getresponse()
        headers = {k.lower(): v for k, v in response.getheaders()}
        if response.status in (301, 302, 303, 307, 308):
            return response.status, headers, b""
        length = headers.get("content-length")
        if length and length.isdigit() and int(length) > max_bytes:
            raise FetchFailed("The document is too large.", f"{length} bytes", kind="too_large")
        chunks, size = [], 0
        while True:
            # read1: at most one socket read, so a server trickling bytes cannot stretch a
            # single call past the deadline.
            sock.settimeout(_remaining(deadline))
            chunk = response.read1(16384)
            if not chunk:
                break
            size += len(chunk)
            if size > max_bytes:
                raise FetchFailed("The document is too large.", f"> {max_bytes} bytes",
                                  kind="too_large")
            chunks.append(chunk)
        return response.status, headers, b"".join(chunks)
    except FetchError:
        raise
    except TimeoutError as exc:
        raise FetchFailed("The URL took too long to answer.", target.host,
                          kind="timeout") from exc
    except (OSError, http.client.HTTPException, ssl.SSLError) as exc:
        raise FetchFailed("The URL could not be fetched.",
                          f"{target.host}: {type(exc).__name__}", kind="connection") from exc
    finally:
        conn.close()


def fetch_json(url: str, settings: Settings, *, resolve: Resolver | None = None):
    """Fetch `url` with the deployment's limits and parse it as JSON."""
    result = fetch(url, allow_loopback=settings.fetch_allow_loopback,
                   timeout=settings.fetch_timeout, max_bytes=settings.fetch_max_bytes,
                   resolve=resolve)
    return result.json()
