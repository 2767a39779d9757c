"""Redirect URI comparison (RFC 9700 §4.1.3, RFC 8252 §7.3).

Exact string comparison, with one exception: for a registered loopback redirect URI
(`http://127.0.0.1:PORT/...` or `http://[::1]:PORT/...`) a native app may use any port, because it
binds an ephemeral one at run time. Nothing else may differ: no case folding, no normalisation,
no patterns.
"""

from __future__ import annotations

from urllib.parse import urlsplit

LOOPBACK_HOSTS = ("127.0.0.1", "[::1]")


def _loopback_parts(uri: str) -> tuple[str, str, str] | None:
    """Split `http://<loopback>[:port]<rest>` into (host, port, rest), or None if it is not one.

    Parsed by hand so that nothing a URL parser would tolerate (userinfo, odd ports) slips through.
    """
    prefix = "http://"
    if not uri.startswith(prefix):
        return None
    for host in LOOPBACK_HOSTS:
        if uri.startswith(prefix + host):
            tail = uri[len(prefix + host):]
            port = ""
            if tail.startswith(":"):
                digits = tail[1:]
                end = len(digits)
                for i, ch in enumerate(digits):
                    if not ch.isdigit():
                        end = i
                        break
                port, tail = digits[:end], digits[end:]
                if not port or len(port) > 5 or int(port) > 65535:
                    return None
            if tail and tail[0] not in "/?":
                return None
            return host, port, tail
    return None


def matches(registered: list[str], requested: str) -> bool:
    """True if `requested` may be used as a redirect URI given the `registered` list."""
    if requested in registered:
        return True
    asked = _loopback_parts(requested)
    if asked is None:
        return False
    for uri in registered:
        known = _loopback_parts(uri)
        if known and known[0] == asked[0] and known[2] == asked[2]:
            return True
    return False


def is_loopback(uri: str) -> bool:
    return _loopback_parts(uri) is not None


UNSAFE_SCHEMES = ("javascript", "data", "vbscript", "file", "blob", "about")


def registration_problem(uri: str, *, native: bool) -> str | None:
    """Why `uri` cannot be registered as a redirect URI, or None if it can.

    https everywhere; loopback http and reverse-domain private-use schemes for native apps only.
    """
    if not uri or uri != uri.strip():
        return "empty or padded URI"
    try:
        parts = urlsplit(uri)
    except ValueError:
        return "not a URI"
    scheme = parts.scheme.lower()
    if not scheme:
        return "not an absolute URI"
    if scheme in UNSAFE_SCHEMES:
        return "scheme not allowed"
    if parts.fragment or "#" in uri:
        return "fragment not allowed"
    if "*" in uri:
        return "wildcards not allowed"
    if parts.username is not None or parts.password is not None or "@" in parts.netloc:
        return "credentials not allowed"
    if scheme == "https":
        return None if parts.hostname else "host missing"
    if scheme == "http":
        if native and is_loopback(uri):
            return None
        return "http only for native apps on 127.0.0.1 or [::1]"
    if native and "." in scheme and scheme == parts.scheme:
        return None
    return "scheme not allowed"
