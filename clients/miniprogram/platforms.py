"""Demo and test set-up of the two platforms a mini-program lives on: seeds for the WeChat and
Alipay simulators, the Alipay key pairs, and Tongban's TONGBAN_PLATFORM_APPS_FILE naming which
Tongban clients may exchange each app's codes. A real deployment writes the platform file by
hand with the credentials from the WeChat and Alipay consoles."""

from __future__ import annotations

import json
import os
from pathlib import Path

WECHAT_APPID = "wx5e1f0c2a9b7d3e4f"
WECHAT_SECRET = "demo-wechat-appsecret-0123456789abcdef"
ALIPAY_APPID = "2021004123456789"
USERS = ("zhangsan", "lisi", "wangwu")


def _write_json(path: Path, data: dict, private: bool = False) -> Path:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600 if private else 0o644)
    with os.fdopen(fd, "w") as fh:
        json.dump(data, fh, indent=2, ensure_ascii=False)
    return path


def prepare(directory: Path, client_ids: list[str]) -> dict[str, Path]:
    """Write everything into `directory`; returns the paths of the three files that matter."""
    from simulators.alipay.keys import make_pair

    directory.mkdir(parents=True, exist_ok=True)
    make_pair(directory, "alipay-app")
    make_pair(directory, "alipay")
    wechat_seed = _write_json(directory / "wechat-seed.json", {
        "apps": {WECHAT_APPID: {"secret": WECHAT_SECRET, "unionid": True}},
        "users": list(USERS), "rate_limit_per_minute": 100})
    alipay_seed = _write_json(directory / "alipay-seed.json", {
        "apps": {ALIPAY_APPID: {"public_key_file": "alipay-app-public.pem"}},
        "alipay_private_key_file": "alipay-private.pem", "users": list(USERS),
        "rate_limit_per_minute": 100})
    apps = _write_json(directory / "platform-apps.json", {"apps": [
        {"platform": "wechat", "appid": WECHAT_APPID, "name": "通办 微信小程序",
         "secret": WECHAT_SECRET, "client_ids": client_ids},
        {"platform": "alipay", "appid": ALIPAY_APPID, "name": "通办 支付宝小程序",
         "private_key_file": "alipay-app-private.pem",
         "alipay_public_key_file": "alipay-public.pem", "client_ids": client_ids},
    ]}, private=True)
    return {"wechat_seed": wechat_seed, "alipay_seed": alipay_seed, "platform_apps": apps}
