"""Transport-level protections applied to every response, and the client address as the
IdP trusts it."""

from __future__ import annotations

from flask import Flask, g, request

from .settings import current as settings

#: No third-party anything: every asset is served by the IdP itself.
DEFAULT_CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
               "connect-src 'self'; frame-src 'none'; frame-ancestors 'none'; base-uri 'none'; "
               "object-src 'none'")


def client_ip() -> str | None:
    """The caller's address: the socket peer, or the address our own proxies saw.

    Only the last `trust_proxy` hops of X-Forwarded-For were written by proxies we run; anything
    before them is whatever the client sent and is never used for a decision.
    """
    hops = settings().trust_proxy
    if hops > 0:
        forwarded = [p.strip() for p in request.headers.get("X-Forwarded-For", "").split(",")]
        forwarded = [p for p in forwarded if p]
        if len(forwarded) >= hops:
            candidate = forwarded[-hops]
            if _looks_like_ip(candidate):
                return candidate
    return request.remote_addr


def _looks_like_ip(value: str) -> bool:
    import ipaddress

    try:
        ipaddress.ip_address(value)
    except ValueError:
        return False
    return True


def set_csp(policy: str) -> None:
    """Replace the Content-Security-Policy for the current response (e.g. the form_post page)."""
    g.csp = policy


def register_security_headers(app: Flask) -> None:
    @app.after_request
    def headers(response):
        response.headers.setdefault("Content-Security-Policy", g.get("csp", DEFAULT_CSP))
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "no-referrer")
        response.headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
        if response.mimetype == "text/html":
            response.headers.setdefault("Cache-Control", "no-store")
        if settings().secure_cookies:
            response.headers.setdefault("Strict-Transport-Security",
                                        "max-age=31536000; includeSubDomains")
        return response
