"""WeChat `code2Session` simulator, faithful to the wire format Tongban meets in production.

Real API (https://api.weixin.qq.com):

    GET /sns/jscode2session?appid=APPID&secret=SECRET&js_code=CODE&grant_type=authorization_code
    200 {"openid": "...", "session_key": "...", "unionid": "..."}          (text/plain)
    200 {"errcode": 40029, "errmsg": "invalid code, rid: ..."}              etc.

Error codes served: 40029 invalid code (unknown, expired after 5 minutes, or another app's),
40163 code been used, 40013 invalid appid, 40125 invalid appsecret, 40002 invalid grant_type,
41008 missing code, 45011 rate limit (per app, per minute, or forced), -1 system busy (forced).

Simulator-only endpoints (the part a phone would play):

    POST /_sim/login   {"appid": "...", "user": "zhangsan"} → {"code": "..."}   (= wx.login)
    POST /_sim/fail    {"errcode": 45011 | -1, "times": 1}  next calls fail so
    GET  /_sim/health

Seed (JSON): {"apps": {"wx...": {"secret": "...", "unionid": true}}, "users": ["zhangsan", ...],
"rate_limit_per_minute": 100}. openids are per (app, user), unionids per user, both stable.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import threading
import time

from flask import Flask, Response, request

CODE_TTL = 300


def _id(prefix: str, *parts: str) -> str:
    digest = hmac.new(b"wechat-simulator", "|".join(parts).encode(), hashlib.sha256).digest()
    return prefix + base64.urlsafe_b64encode(digest).decode().rstrip("=")[:27]


def openid_of(appid: str, user: str) -> str:
    return _id("o", appid, user)


def unionid_of(user: str) -> str:
    return _id("oU", user)


def create_app(seed: dict) -> Flask:
    app = Flask(__name__)
    apps: dict[str, dict] = seed["apps"]
    users = set(seed["users"])
    limit = int(seed.get("rate_limit_per_minute", 100))
    lock = threading.Lock()
    codes: dict[str, dict] = {}
    forced: list[int] = []
    calls: dict[str, list[float]] = {}

    def reply(body: dict) -> Response:
        # WeChat labels its JSON text/plain.
        return Response(json.dumps(body, ensure_ascii=False), 200,
                        mimetype="text/plain")

    def error(errcode: int, errmsg: str) -> Response:
        return reply({"errcode": errcode, "errmsg": f"{errmsg}, rid: {secrets.token_hex(8)}"})

    @app.get("/sns/jscode2session")
    def code2session():
        args = request.args
        appid, secret, code = args.get("appid", ""), args.get("secret", ""), args.get("js_code")
        with lock:
            if forced:
                errcode = forced.pop(0)
                return error(errcode, "system error" if errcode == -1
                             else "api minute-quota reach limit mustslower retry next minute")
            if appid not in apps:
                return error(40013, "invalid appid")
            if not hmac.compare_digest(secret.encode(), apps[appid]["secret"].encode()):
                return error(40125, "invalid appsecret")
            if args.get("grant_type") != "authorization_code":
                return error(40002, "invalid grant_type")
            now = time.monotonic()
            recent = [t for t in calls.get(appid, []) if now - t < 60]
            if len(recent) >= limit:
                return error(45011, "api minute-quota reach limit mustslower retry next minute")
            calls[appid] = [*recent, now]
            if not code:
                return error(41008, "missing code")
            entry = codes.get(code)
            if entry is None or entry["appid"] != appid or now - entry["at"] > CODE_TTL:
                return error(40029, "invalid code")
            if entry["used"]:
                return error(40163, "code been used")
            entry["used"] = True
        user = entry["user"]
        body = {"session_key": secrets.token_urlsafe(18), "openid": openid_of(appid, user)}
        if apps[appid].get("unionid", True):
            body["unionid"] = unionid_of(user)
        return reply(body)

    @app.post("/_sim/login")
    def sim_login():
        data = request.get_json(force=True, silent=True) or {}
        if data.get("appid") not in apps or data.get("user") not in users:
            return {"error": "unknown appid or user"}, 404
        code = secrets.token_hex(16)
        with lock:
            codes[code] = {"appid": data["appid"], "user": data["user"], "used": False,
                           "at": time.monotonic()}
        return {"code": code}

    @app.post("/_sim/fail")
    def sim_fail():
        data = request.get_json(force=True, silent=True) or {}
        if data.get("errcode") not in (45011, -1):
            return {"error": "errcode must be 45011 or -1"}, 400
        with lock:
            forced.extend([int(data["errcode"])] * int(data.get("times", 1)))
        return {"queued": len(forced)}

    @app.get("/_sim/health")
    def health():
        return {"ok": True}

    return app
