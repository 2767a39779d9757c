"""Registration rules for the channel client types: native apps (RFC 8252 redirect URIs),
mini-program back ends and terminals."""

from __future__ import annotations

import pytest

from idp.developer.clients import ClientSpec, problems_of
from idp.models.client import PUBLIC_TYPES


def native(uri: str) -> list[str]:
    return problems_of(ClientSpec(name="App", client_type="native", redirect_uris=[uri]),
                       allow_http_loopback=False)


@pytest.mark.parametrize("uri", [
    "http://127.0.0.1/callback",  # loopback, any port at run time
    "http://127.0.0.1:8400/callback",
    "http://[::1]/callback",
    "gov.example.zhengwu:/oauth2redirect",  # RFC 8252 §7.1
    "cn.gov.beijing.app:/callback",
    "https://app.example.gov.cn/oauth/callback",  # claimed https (§7.2)
])
def test_native_redirects_allowed(uri):
    assert native(uri) == []


@pytest.mark.parametrize(("uri", "why"), [
    ("myapp:/callback", "scheme not allowed"),
    ("Gov.Example.App:/callback", "reverse-domain"),
    ("gov.example.app://callback", "path only"),
    ("gov.example.app:callback", "need a path"),
    ("gov.-example.app:/callback", "reverse-domain"),
    ("http://localhost/callback", "http only"),
    ("http://192.168.1.10/callback", "http only"),
    ("javascript:/alert(1)", "scheme not allowed"),
])
def test_native_redirects_refused(uri, why):
    problems = native(uri)
    assert len(problems) == 1 and why in problems[0], problems


def test_web_clients_cannot_register_private_use_schemes():
    problems = problems_of(ClientSpec(name="Portal", client_type="web",
                                      redirect_uris=["gov.example.app:/callback"]),
                           allow_http_loopback=False)
    assert [p.code for p in problems] == ["scheme"]


@pytest.mark.parametrize("client_type", ["mini_program", "terminal"])
def test_channel_types_have_no_redirects(client_type):
    assert problems_of(ClientSpec(name="X", client_type=client_type),
                       allow_http_loopback=False) == []
    problems = problems_of(ClientSpec(name="X", client_type=client_type,
                                      redirect_uris=["https://x.example/cb"]),
                           allow_http_loopback=False)
    assert [(p.field, p.code) for p in problems] == [("redirect_uris", "not_for_type")]


def test_defaults_per_type(make_client):
    backend = make_client("mini_program", redirect_uris=())
    assert backend.grant_types == ["urn:ietf:params:oauth:grant-type:token-exchange"]
    assert backend.token_endpoint_auth_method == "client_secret_basic"
    assert backend.plain_secret
    terminal = make_client("terminal", redirect_uris=())
    assert terminal.grant_types == ["urn:ietf:params:oauth:grant-type:device_code"]
    assert terminal.token_endpoint_auth_method == "none"
    assert terminal.response_types == []
    assert "terminal" in PUBLIC_TYPES
