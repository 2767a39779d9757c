"""Helpers for the channel tests."""

from __future__ import annotations

from ..helpers import token_call
from ..platform_fixtures import MINIPROGRAM_CLIENT_ID

TOKEN_EXCHANGE = "urn:ietf:params:oauth:grant-type:token-exchange"
WECHAT_CODE = "urn:tongban:params:oauth:token-type:wechat-code"
ALIPAY_CODE = "urn:tongban:params:oauth:token-type:alipay-auth-code"


def miniprogram_client(make_client, client_id: str = MINIPROGRAM_CLIENT_ID, **fields):
    return make_client("mini_program", redirect_uris=(), client_id=client_id,
                       name=fields.pop("name", "社保小程序后端"), **fields)


def exchange(http, client, code: str, token_type: str = WECHAT_CODE, **extra):
    data = {"grant_type": TOKEN_EXCHANGE, "subject_token": code,
            "subject_token_type": token_type, "scope": "openid profile"}
    data.update(extra)
    return token_call(http, client, {k: v for k, v in data.items() if v is not None})


def bind_via_browser(http, binding_uri: str, account: str, *, decision: str = "link"):
    """Open the binding URI in `http` (a browser), log in there, and confirm; the last page."""
    from urllib.parse import urlsplit

    from ..helpers import csrf_token, login

    parts = urlsplit(binding_uri)
    path = parts.path + "?" + parts.query
    opened = http.get(path)
    assert opened.status_code == 302, opened.get_data(as_text=True)[:300]
    assert opened.headers["Location"].startswith("/login")
    logged_in = login(http, account, next_path=path)
    assert logged_in.status_code == 303
    page = http.get(path)
    assert page.status_code == 200, page.get_data(as_text=True)[:500]
    form = {k: v for k, v in (p.split("=", 1) for p in parts.query.split("&"))}
    from urllib.parse import unquote

    return http.post("/bind", data={"csrf_token": csrf_token(page.get_data(as_text=True)),
                                    "ticket": unquote(form["ticket"]),
                                    "client_id": unquote(form["client_id"]),
                                    "decision": decision})
