"""Alipay gateway simulator for `alipay.system.oauth.token`, faithful to the wire format.

Real gateway (https://openapi.alipay.com/gateway.do), form POST with the common parameters
app_id, method, format=JSON, charset, sign_type=RSA2, timestamp ("yyyy-MM-dd HH:mm:ss", Beijing
time), version=1.0, sign (SHA256withRSA by the app's private key over the sorted non-empty
parameters except sign) and the method's grant_type=authorization_code, code. Replies:

    {"alipay_system_oauth_token_response": {"user_id": "2088...", "open_id": "...",
      "access_token": "...", "expires_in": 1296000, "refresh_token": "...",
      "re_expires_in": 2592000, "auth_start": "..."}, "sign": "..."}
    {"error_response": {"code": "40002", "msg": "Invalid Arguments",
      "sub_code": "isv.code-invalid", "sub_msg": "..."}, "sign": "..."}

`sign` is Alipay's SHA256withRSA over the exact JSON text of the member. Errors served: 40002
isv.code-invalid (unknown, used, expired, another app's), 40002 isv.grant-type-invalid, 40002
isv.invalid-signature, 40001 isv.missing-* , 40002 isv.invalid-app-id, 20000 isp.unknow-error
(busy, forced), 40004 isv.app-call-limited (rate limit, forced or per minute: Alipay documents
no fixed code for this; this is the simulator's choice).

Simulator-only: POST /_sim/auth {"appid", "user"} → {"auth_code"} (= my.getAuthCode);
POST /_sim/fail {"kind": "busy" | "rate_limited", "times": n}; GET /_sim/health.

Seed (JSON): {"apps": {"2021...": {"public_key_file": "app-public.pem"}}, "alipay_private_key_file":
"alipay-private.pem", "users": [...]}, paths relative to the seed file.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import threading
import time
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding
from flask import Flask, Response, request

CODE_TTL = 300
METHOD = "alipay.system.oauth.token"
MEMBER = "alipay_system_oauth_token_response"


def signing_content(params: dict) -> bytes:
    return "&".join(f"{k}={params[k]}" for k in sorted(params)
                    if k != "sign" and params[k] not in (None, "")).encode()


def open_id_of(appid: str, user: str) -> str:
    digest = hmac.new(b"alipay-simulator", f"{appid}|{user}".encode(), hashlib.sha256).digest()
    return "0" + base64.b32encode(digest).decode().rstrip("=")[:47]


def user_id_of(user: str) -> str:
    digest = hashlib.sha256(f"alipay-user|{user}".encode()).hexdigest()
    return "2088" + str(int(digest[:16], 16))[:12].rjust(12, "0")


def load_seed(path: Path) -> dict:
    seed = json.loads(path.read_text())
    base = path.parent
    key = serialization.load_pem_private_key(
        (base / seed["alipay_private_key_file"]).read_bytes(), password=None)
    apps = {appid: serialization.load_pem_public_key((base / a["public_key_file"]).read_bytes())
            for appid, a in seed["apps"].items()}
    return {"key": key, "apps": apps, "users": seed["users"],
            "rate_limit_per_minute": seed.get("rate_limit_per_minute", 100)}


def create_app(seed: dict) -> Flask:
    app = Flask(__name__)
    key, apps, users = seed["key"], seed["apps"], set(seed["users"])
    limit = int(seed.get("rate_limit_per_minute", 100))
    lock = threading.Lock()
    codes: dict[str, dict] = {}
    forced: list[str] = []
    calls: dict[str, list[float]] = {}

    def signed(member: str, node: dict) -> Response:
        text = json.dumps(node, ensure_ascii=False, separators=(",", ":"))
        signature = base64.b64encode(key.sign(text.encode(), padding.PKCS1v15(),
                                              hashes.SHA256())).decode()
        body = f'{{"{member}":{text},"sign":"{signature}"}}'
        return Response(body, 200, content_type="application/json;charset=utf-8")

    def error(code: str, msg: str, sub_code: str, sub_msg: str) -> Response:
        return signed("error_response", {"code": code, "msg": msg, "sub_code": sub_code,
                                         "sub_msg": sub_msg})

    def invalid_code() -> Response:
        return error("40002", "Invalid Arguments", "isv.code-invalid",
                     "授权码code无效")

    @app.post("/gateway.do")
    def gateway():
        params = {**request.args.to_dict(), **request.form.to_dict()}
        for name in ("app_id", "method", "charset", "sign_type", "sign", "timestamp", "version"):
            if not params.get(name):
                return error("40001", "Missing Required Arguments", f"isv.missing-{name}",
                             f"缺少{name}参数")
        if params["method"] != METHOD:
            return error("40002", "Invalid Arguments", "isv.invalid-method", "不存在的方法名")
        public_key = apps.get(params["app_id"])
        if public_key is None:
            return error("40002", "Invalid Arguments", "isv.invalid-app-id", "无效的AppID参数")
        if params["sign_type"] != "RSA2":
            return error("40002", "Invalid Arguments", "isv.invalid-signature-type",
                         "无效的签名类型")
        try:
            public_key.verify(base64.b64decode(params["sign"]), signing_content(params),
                              padding.PKCS1v15(), hashes.SHA256())
        except (InvalidSignature, ValueError):
            return error("40002", "Invalid Arguments", "isv.invalid-signature", "验签出错")
        if params.get("grant_type") != "authorization_code":
            return error("40002", "Invalid Arguments", "isv.grant-type-invalid",
                         "grant_type参数不正确")
        appid, code = params["app_id"], params.get("code", "")
        with lock:
            if forced:
                kind = forced.pop(0)
                if kind == "busy":
                    return error("20000", "Service Currently Unavailable", "isp.unknow-error",
                                 "系统繁忙")
                return error("40004", "Business Failed", "isv.app-call-limited",
                             "调用频率超限")
            now = time.monotonic()
            recent = [t for t in calls.get(appid, []) if now - t < 60]
            if len(recent) >= limit:
                return error("40004", "Business Failed", "isv.app-call-limited", "调用频率超限")
            calls[appid] = [*recent, now]
            entry = codes.get(code)
            if (entry is None or entry["appid"] != appid or entry["used"]
                    or now - entry["at"] > CODE_TTL):
                return invalid_code()
            entry["used"] = True
        user = entry["user"]
        return signed(MEMBER, {
            "user_id": user_id_of(user), "open_id": open_id_of(appid, user),
            "access_token": "authusrB" + secrets.token_hex(16), "expires_in": 1296000,
            "refresh_token": "authusrB" + secrets.token_hex(16), "re_expires_in": 2592000,
            "auth_start": time.strftime("%Y-%m-%d %H:%M:%S")})

    @app.post("/_sim/auth")
    def sim_auth():
        data = request.get_json(force=True, silent=True) or {}
        if data.get("appid") not in apps or data.get("user") not in users:
            return {"error": "unknown appid or user"}, 404
        code = secrets.token_hex(16)
        with lock:
            codes[code] = {"appid": data["appid"], "user": data["user"], "used": False,
                           "at": time.monotonic()}
        return {"auth_code": code}

    @app.post("/_sim/fail")
    def sim_fail():
        data = request.get_json(force=True, silent=True) or {}
        if data.get("kind") not in ("busy", "rate_limited"):
            return {"error": "kind must be busy or rate_limited"}, 400
        with lock:
            forced.extend([data["kind"]] * int(data.get("times", 1)))
        return {"queued": len(forced)}

    @app.get("/_sim/health")
    def health():
        return {"ok": True}

    return app
