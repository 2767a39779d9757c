"""The channels part of `make run`: the WeChat and Alipay simulators on loopback, the settings
that point Tongban at them, and three demo clients (the government app, a mini-program back end
and a service-hall terminal). Ports: WECHAT_SIM_PORT (5010), ALIPAY_SIM_PORT (5011)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

GOVAPP_ID = "tbc_demo_government_app"
MINIPROGRAM_ID = "tbc_demo_miniprogram"
TERMINAL_ID = "tbc_demo_service_hall_terminal"


def _existing_clients(flask: list[str], root: Path) -> set[str]:
    out = subprocess.run([*flask, "clients", "list", "--json"], cwd=root, check=True,
                         capture_output=True, text=True).stdout
    return {c["client_id"] for c in json.loads(out)}


def prepare(root: Path, instance_dir: Path, flask: list[str]) -> tuple[list, dict, str]:
    """Start the simulators and register the demo clients; returns (children, environment for
    the IdP, text telling the person what to try)."""
    from clients.miniprogram.platforms import prepare as prepare_platforms

    directory = instance_dir / "platforms"
    paths = prepare_platforms(directory, [MINIPROGRAM_ID])
    ports = {"wechat": int(os.environ.get("WECHAT_SIM_PORT", "5010")),
             "alipay": int(os.environ.get("ALIPAY_SIM_PORT", "5011"))}
    children = [subprocess.Popen([sys.executable, "-m", f"simulators.{name}", "--port",
                                  str(port), "--seed", str(paths[f"{name}_seed"])], cwd=root)
                for name, port in ports.items()]
    env = {"TONGBAN_WECHAT_API_URL": f"http://127.0.0.1:{ports['wechat']}",
           "TONGBAN_ALIPAY_GATEWAY_URL": f"http://127.0.0.1:{ports['alipay']}/gateway.do",
           "TONGBAN_PLATFORM_APPS_FILE": str(paths["platform_apps"])}

    secrets_file = directory / "miniprogram-client.json"
    known = _existing_clients(flask, root)
    wanted = [
        (GOVAPP_ID, ["--name", "政务服务 App", "--type", "native", "--first-party",
                     "--redirect-uri", "http://127.0.0.1/callback"]),
        (MINIPROGRAM_ID, ["--name", "社保服务小程序", "--type", "mini_program"]),
        (TERMINAL_ID, ["--name", "市民中心 24 小时自助终端", "--type", "terminal"]),
    ]
    for client_id, options in wanted:
        if client_id in known:
            continue
        out = subprocess.run([*flask, "clients", "create", *options, "--client-id", client_id,
                              "--json"], cwd=root, check=True, capture_output=True,
                             text=True).stdout
        secret = json.loads(out).get("client_secret")
        if secret:
            fd = os.open(secrets_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w") as fh:
                json.dump({"client_id": client_id, "client_secret": secret}, fh)
    guide = f"""
  Channels (DESIGN §4), with WeChat and Alipay simulated on ports {ports['wechat']}/{ports['alipay']}:
    Native app:     python -m clients.native --client-id {GOVAPP_ID}
    QR login:       "扫码登录" on the login page, then
                    python -m clients.govapp --state /tmp/app.json login --issuer ISSUER \\
                        --client-id {GOVAPP_ID}
                    python -m clients.govapp --state /tmp/app.json scan PAYLOAD
    Terminal:       python -m clients.terminal --client-id {TERMINAL_ID}
    Mini-program:   back end credentials in {secrets_file}; codes from the simulators'
                    /_sim/login (WeChat) and /_sim/auth (Alipay), users zhangsan, lisi, wangwu
"""
    return children, env, guide
