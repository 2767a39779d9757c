"""WeChat mini-program login: `code2Session` (GET /sns/jscode2session).

Request: appid, secret (the app's AppSecret), js_code (from `wx.login`, valid 5 minutes, single
use), grant_type=authorization_code. Reply (JSON, WeChat labels it text/plain): openid,
session_key, unionid (when the app belongs to an open-platform account), or errcode/errmsg:
40029 invalid code, 40163 code been used, 40226 high-risk user, 45011 rate limit, -1 system busy,
40013/40125 bad appid/secret.

The session_key is never kept or logged: Tongban needs only who the user is.
"""

from __future__ import annotations

import logging
import time

import requests

from . import PlatformRejected, PlatformUnavailable, VerifiedPlatformUser

log = logging.getLogger(__name__)

PATH = "/sns/jscode2session"
#: -1 "system busy" is retried once after this pause; anything else is answered at once
BUSY_RETRY_DELAY = 0.2

REJECTED = {40029: "invalid_code", 40163: "code_used", 40226: "risky_user"}
UNAVAILABLE = {45011: "rate_limited", -1: "busy", 40013: "misconfigured",
               40125: "misconfigured", 40001: "misconfigured"}


def code2session(base_url: str, app, code: str, *, timeout: float) -> VerifiedPlatformUser:
    if not code or len(code) > 128:
        raise PlatformRejected("invalid_code", "empty or oversized code")
    for attempt in (1, 2):
        body = _call(base_url, app, code, timeout)
        errcode = body.get("errcode") or 0
        if errcode == 0:
            openid = body.get("openid")
            if not isinstance(openid, str) or not openid:
                raise PlatformUnavailable("bad_response", "no openid in code2Session reply")
            unionid = body.get("unionid")
            return VerifiedPlatformUser("wechat", app.appid, openid,
                                        unionid if isinstance(unionid, str) and unionid else None)
        if errcode in REJECTED:
            raise PlatformRejected(REJECTED[errcode], f"errcode {errcode}")
        if errcode == -1 and attempt == 1:
            time.sleep(BUSY_RETRY_DELAY)
            continue
        reason = UNAVAILABLE.get(errcode, "bad_response")
        if reason == "misconfigured":
            log.error("WeChat refused Tongban's credentials for app %s (errcode %s)",
                      app.appid, errcode)
        raise PlatformUnavailable(reason, f"errcode {errcode}")
    raise AssertionError("unreachable")


def _call(base_url: str, app, code: str, timeout: float) -> dict:
    params = {"appid": app.appid, "secret": app.secret, "js_code": code,
              "grant_type": "authorization_code"}
    try:
        response = requests.get(base_url.rstrip("/") + PATH, params=params, timeout=timeout,
                                allow_redirects=False)
    except requests.RequestException as exc:
        raise PlatformUnavailable("unreachable", type(exc).__name__) from exc
    if response.status_code != 200:
        raise PlatformUnavailable("busy" if response.status_code >= 500 else "bad_response",
                                  f"HTTP {response.status_code}")
    try:
        body = response.json()
    except ValueError as exc:
        raise PlatformUnavailable("bad_response", "not JSON") from exc
    if not isinstance(body, dict) or not isinstance(body.get("errcode", 0), int):
        raise PlatformUnavailable("bad_response", "unexpected JSON")
    return body
