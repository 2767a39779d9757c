"""Which URIs a client may register, field by field (RFC 9700 §2.6/§4.1.3, RFC 8252 §7,
OIDC Registration §2, CONFORMANCE.md §D rows 8-9).

One allowlist of schemes, compared case-insensitively and applied to *every* URI field, so a
`JaVaScRiPt:` or `DATA:` value can never be stored anywhere a browser might later follow it:

* every field: an absolute URI, no spaces or control characters, no fragment, no `*`, no
  credentials (`user@`), at most 2,000 characters;
* redirect and post-logout redirect URIs: https; native apps also loopback http
  (`http://127.0.0.1:PORT/...`, `http://[::1]:PORT/...`) and private-use schemes in reverse-domain
  form (`cn.gov.example.app:/callback`);
* `initiate_login_uri`: https, always (OIDC Registration §2);
* every other URL (logout notifications, logo, policy, terms, home page, jwks_uri,
  sector_identifier_uri): https.

Outside production, web clients may also use loopback http (the local demo's portals).
The redirect-URI rules the protocol engine already enforces (``oidc.redirect_uris``) run first;
these only add to them.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from ..oidc import redirect_uris

MAX_LENGTH = 2000
#: lowercase reverse-domain labels, at least two: cn.gov.example.app
REVERSE_DOMAIN = re.compile(
    r"^[a-z](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)+$")

REDIRECT_FIELDS = ("redirect_uris", "post_logout_redirect_uris")
#: URL fields that are not redirect targets, and whether loopback http is ever allowed there
URL_FIELDS = {
    "frontchannel_logout_uri": True,
    "backchannel_logout_uri": True,
    "logo_uri": True,
    "client_uri": True,
    "policy_uri": True,
    "tos_uri": True,
    "jwks_uri": True,
    "sector_identifier_uri": True,
    "initiate_login_uri": False,
}


#: what the engine's reasons mean here
ENGINE_CODES = {
    "scheme not allowed": "scheme",
    "fragment not allowed": "fragment",
    "wildcards not allowed": "wildcard",
    "credentials not allowed": "credentials",
    "host missing": "host_missing",
    "http only for native apps on 127.0.0.1 or [::1]": "http_loopback_only",
}


#: each code in words, for operators (the CLI) and the RFC 7591 error_description
EXPLANATIONS = {
    "empty": "empty URI",
    "too_long": f"longer than {MAX_LENGTH} characters",
    "whitespace": "spaces or control characters are not allowed",
    "not_uri": "not a URI",
    "not_absolute": "not an absolute URI",
    "fragment": "fragments (#...) are not allowed",
    "wildcard": "wildcards (*) are not allowed",
    "credentials": "credentials (user@) are not allowed",
    "scheme": "scheme not allowed (https; loopback http and reverse-domain schemes for native "
              "apps)",
    "private_scheme": "private-use schemes must be reverse-domain names (cn.gov.example.app)",
    "private_scheme_host": "private-use scheme redirects take a path only "
                           "(cn.gov.example.app:/callback)",
    "private_scheme_path": "private-use scheme redirects need a path "
                           "(cn.gov.example.app:/callback)",
    "host_missing": "host missing",
    "http_loopback_only": "http only for native apps on 127.0.0.1 or [::1]",
    "https_only": "https only",
}


def explain(code: str) -> str:
    return EXPLANATIONS.get(code, code.replace("_", " "))


def _common_problem(uri: str) -> str | None:
    if not isinstance(uri, str) or not uri:
        return "empty"
    if len(uri) > MAX_LENGTH:
        return "too_long"
    if uri != uri.strip() or any(c.isspace() or ord(c) < 0x20 or ord(c) == 0x7F for c in uri):
        return "whitespace"
    try:
        parts = urlsplit(uri)
    except ValueError:
        return "not_uri"
    if not parts.scheme:
        return "not_absolute"
    if "#" in uri:
        return "fragment"
    if "*" in uri:
        return "wildcard"
    if "@" in parts.netloc:
        return "credentials"
    return None


def raw_scheme(uri: str) -> str:
    """The scheme as written (urlsplit lowercases it, and case is exactly what we check)."""
    return uri.split(":", 1)[0]


def _https_problem(uri: str, *, allow_http_loopback: bool) -> str | None:
    scheme = raw_scheme(uri)
    if scheme == "https":
        return None if urlsplit(uri).hostname else "host_missing"
    if scheme == "http" and allow_http_loopback and redirect_uris.is_loopback(uri):
        return None
    return "https_only"


def problem(uri: str, field: str, *, native: bool = False,
            allow_http_loopback: bool = False) -> str | None:
    """A short code saying why `uri` cannot be registered in `field`, or None if it can."""
    common = _common_problem(uri)
    if common:
        return common
    scheme = raw_scheme(uri)
    if field in REDIRECT_FIELDS:
        engine = redirect_uris.registration_problem(uri, native=native or allow_http_loopback)
        if engine is not None:
            return ENGINE_CODES.get(engine, "not_uri")
        if scheme.lower() in ("https", "http"):
            if scheme != scheme.lower():
                return "scheme"
            return None
        # A private-use scheme: native apps only, in reverse-domain form (RFC 8252 §7.1), and
        # its redirect carries a path but no host of its own: `cn.gov.example.app:/callback`.
        if not native:
            return "scheme"
        if not REVERSE_DOMAIN.match(scheme):
            return "private_scheme"
        rest = uri[len(scheme) + 1:]
        if rest.startswith("//"):
            return "private_scheme_host"
        return None if rest.startswith("/") else "private_scheme_path"
    if field in URL_FIELDS:
        return _https_problem(uri, allow_http_loopback=allow_http_loopback and URL_FIELDS[field])
    raise ValueError(f"not a URI field: {field}")
