"""Alipay mini-program login: the gateway method `alipay.system.oauth.token`.

The request carries the common gateway parameters (app_id, method, format, charset, sign_type
RSA2, timestamp in Beijing time, version 1.0) and grant_type=authorization_code + code (from
`my.getAuthCode`); it is signed with the app's RSA private key (SHA256withRSA over the sorted,
non-empty parameters except `sign`). The reply holds `alipay_system_oauth_token_response` (user_id
and/or open_id, an Alipay access token we discard) or `error_response` (code/msg/sub_code, e.g.
40002 isv.code-invalid, 20000 isp.unknow-error), and a `sign` over the exact JSON text of that
member, checked with Alipay's public key: an unsigned or badly signed reply is never believed.
"""

from __future__ import annotations

import base64
import json
import logging
import time
from datetime import UTC, datetime, timedelta

import requests
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding

from . import PlatformRejected, PlatformUnavailable, VerifiedPlatformUser

log = logging.getLogger(__name__)

METHOD = "alipay.system.oauth.token"
RESPONSE_MEMBER = "alipay_system_oauth_token_response"
BEIJING = timedelta(hours=8)
BUSY_RETRY_DELAY = 0.2


def signing_content(params: dict[str, str]) -> bytes:
    """Alipay's string-to-sign: `k=v` pairs of every non-empty parameter but `sign`, sorted by
    name, joined with `&`, values unescaped."""
    return "&".join(f"{k}={params[k]}" for k in sorted(params)
                    if k != "sign" and params[k] not in (None, "")).encode()


def sign(private_key, content: bytes) -> str:
    return base64.b64encode(private_key.sign(content, padding.PKCS1v15(),
                                             hashes.SHA256())).decode()


def verify_signature(public_key, content: bytes, signature: str) -> bool:
    try:
        public_key.verify(base64.b64decode(signature), content, padding.PKCS1v15(),
                          hashes.SHA256())
    except (InvalidSignature, ValueError):
        return False
    return True


def raw_member(body: str, name: str) -> str | None:
    """The exact text of the JSON object value of `name` in `body` (what Alipay signed)."""
    marker = f'"{name}"'
    start = body.find(marker)
    if start < 0:
        return None
    start = body.find("{", start + len(marker))
    if start < 0:
        return None
    depth, in_string, escaped = 0, False, False
    for i in range(start, len(body)):
        ch = body[i]
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
        elif ch == "{":
            depth += 1
        elif ch == "}":
            depth -= 1
            if depth == 0:
                return body[start:i + 1]
    return None


def oauth_token(gateway_url: str, app, code: str, *, timeout: float) -> VerifiedPlatformUser:
    if not code or len(code) > 128:
        raise PlatformRejected("invalid_code", "empty or oversized code")
    for attempt in (1, 2):
        member, node = _call(gateway_url, app, code, timeout)
        if member == RESPONSE_MEMBER and str(node.get("code", "10000")) == "10000":
            subject = node.get("open_id") or node.get("user_id")
            if not isinstance(subject, str) or not subject:
                raise PlatformUnavailable("bad_response", "no open_id or user_id")
            union = node.get("union_id")
            return VerifiedPlatformUser("alipay", app.appid, subject,
                                        union if isinstance(union, str) and union else None)
        gateway_code, sub_code = str(node.get("code", "")), str(node.get("sub_code", ""))
        if sub_code in ("isv.code-invalid", "isv.unmatched-app-id", "isv.grant-type-invalid"):
            raise PlatformRejected("invalid_code", sub_code)
        if gateway_code == "20000" and attempt == 1:
            time.sleep(BUSY_RETRY_DELAY)
            continue
        if "limit" in sub_code:
            raise PlatformUnavailable("rate_limited", sub_code)
        if gateway_code == "20000":
            raise PlatformUnavailable("busy", sub_code)
        if gateway_code in ("40001", "40006") or sub_code.startswith("isv.invalid-signature"):
            log.error("Alipay refused Tongban's request for app %s (%s %s)", app.appid,
                      gateway_code, sub_code)
            raise PlatformUnavailable("misconfigured", f"{gateway_code} {sub_code}")
        raise PlatformUnavailable("bad_response", f"{gateway_code} {sub_code}")
    raise AssertionError("unreachable")


def request_params(app, code: str, now: datetime | None = None) -> dict[str, str]:
    now = now or datetime.now(UTC)
    params = {
        "app_id": app.appid, "method": METHOD, "format": "JSON", "charset": "utf-8",
        "sign_type": "RSA2", "version": "1.0",
        "timestamp": (now.astimezone(UTC).replace(tzinfo=None) + BEIJING).strftime(
            "%Y-%m-%d %H:%M:%S"),
        "grant_type": "authorization_code", "code": code,
    }
    params["sign"] = sign(app.private_key, signing_content(params))
    return params


def _call(gateway_url: str, app, code: str, timeout: float) -> tuple[str, dict]:
    try:
        response = requests.post(gateway_url, data=request_params(app, code), timeout=timeout,
                                 allow_redirects=False)
    except requests.RequestException as exc:
        raise PlatformUnavailable("unreachable", type(exc).__name__) from exc
    if response.status_code != 200:
        raise PlatformUnavailable("busy" if response.status_code >= 500 else "bad_response",
                                  f"HTTP {response.status_code}")
    text = response.content.decode("utf-8", errors="replace")
    try:
        body = json.loads(text)
    except ValueError as exc:
        raise PlatformUnavailable("bad_response", "not JSON") from exc
    for member in (RESPONSE_MEMBER, "error_response"):
        raw = raw_member(text, member)
        if raw is None:
            continue
        signature = body.get("sign") if isinstance(body, dict) else None
        if not isinstance(signature, str) or not verify_signature(
                app.platform_public_key, raw.encode(), signature):
            raise PlatformUnavailable("bad_response", "reply not signed by Alipay")
        node = json.loads(raw)
        if not isinstance(node, dict):
            raise PlatformUnavailable("bad_response", "unexpected JSON")
        return member, node
    raise PlatformUnavailable("bad_response", "no response member")
