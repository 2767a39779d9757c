"""The guarded fetcher (CONFORMANCE.md §D row 21): no loopback, private, link-local or otherwise
non-public address — checked after DNS resolution and on every redirect — and bounded in time
and size."""

import time

import pytest

from idp import fetch
from idp.fetch import FetchFailed, FetchRefused

from .registration_fixtures import DocumentServer

PRODUCTION = {"allow_loopback": False, "timeout": 2.0, "max_bytes": 4096}
TESTING = {"allow_loopback": True, "timeout": 2.0, "max_bytes": 4096}


def never_resolve(host, port):
    raise AssertionError(f"{host} must be refused before any lookup")


@pytest.mark.parametrize("url", [
    "https://127.0.0.1/jwks",
    "https://127.1.2.3/jwks",
    "https://[::1]/jwks",
    "https://10.0.0.1/jwks",
    "https://172.16.5.4/jwks",
    "https://192.168.1.1/jwks",
    "https://169.254.169.254/latest/meta-data/",
    "https://100.64.0.1/jwks",
    "https://0.0.0.0/jwks",
    "https://224.0.0.1/jwks",
    "https://255.255.255.255/jwks",
    "https://[::ffff:127.0.0.1]/jwks",
    "https://[::ffff:169.254.169.254]/jwks",
    "https://[::ffff:a9fe:a9fe]/jwks",
    "https://[::ffff:10.0.0.1]/jwks",
    "https://[64:ff9b::7f00:1]/jwks",
    "https://[2002:7f00:1::]/jwks",
    "https://[fe80::1]/jwks",
    "https://[fc00::1]/jwks",
    "https://[::]/jwks",
])
def test_non_public_addresses_are_refused_in_production(url):
    with pytest.raises(FetchRefused):
        fetch.fetch(url, resolve=never_resolve, **PRODUCTION)


@pytest.mark.parametrize("url", [
    "http://93.184.216.34/jwks",            # public, but not https
    "ftp://example.org/jwks",
    "file:///etc/passwd",
    "gopher://example.org/",
    "https://user:pw@example.org/jwks",
    "https:///jwks",
])
def test_only_plain_https_urls(url):
    with pytest.raises(FetchRefused):
        fetch.fetch(url, resolve=lambda h, p: ["93.184.216.34"], **PRODUCTION)


@pytest.mark.parametrize("answers", [
    ["127.0.0.1"], ["10.1.2.3"], ["169.254.169.254"], ["::ffff:127.0.0.1"], ["fd12::1"],
    ["93.184.216.34", "192.168.0.10"],      # one bad answer is enough
])
def test_names_are_checked_after_resolution(answers):
    with pytest.raises(FetchRefused):
        fetch.fetch("https://rp.example/jwks", resolve=lambda h, p: answers, **PRODUCTION)


def test_real_resolution_of_localhost_is_refused():
    with pytest.raises(FetchRefused):
        fetch.fetch("https://localhost/jwks", **PRODUCTION)
    with pytest.raises(FetchRefused):
        fetch.fetch("https://2130706433/jwks", **PRODUCTION)    # 127.0.0.1 in decimal


def test_private_addresses_stay_refused_when_loopback_is_allowed():
    for url in ("http://10.0.0.1/", "https://169.254.169.254/", "https://[::ffff:10.0.0.1]/"):
        with pytest.raises(FetchRefused):
            fetch.fetch(url, resolve=never_resolve, **TESTING)


def test_http_is_refused_for_public_addresses_even_when_loopback_is_allowed():
    with pytest.raises(FetchRefused):
        fetch.fetch("http://rp.example/jwks", resolve=lambda h, p: ["93.184.216.34"], **TESTING)


def test_loopback_fetch_when_settings_allow_it():
    with DocumentServer() as server:
        server.documents["/jwks"] = (200, {"keys": []}, {})
        assert fetch.fetch(server.url("/jwks"), **TESTING).json() == {"keys": []}
        with pytest.raises(FetchRefused):
            fetch.fetch(server.url("/jwks"), **PRODUCTION)


def test_connects_to_the_address_it_checked():
    """The name is resolved once and the connection goes to that address (no rebinding)."""
    with DocumentServer() as server:
        server.documents["/doc"] = (200, [1], {})
        port = server.base.rsplit(":", 1)[1]
        calls = []

        def resolve(host, p):
            calls.append(host)
            return ["127.0.0.1"] if len(calls) == 1 else ["10.0.0.1"]

        assert fetch.fetch(f"http://rebind.test:{port}/doc", resolve=resolve,
                           **TESTING).json() == [1]
        assert calls == ["rebind.test"]


@pytest.mark.parametrize("target", [
    "http://10.0.0.1/", "https://169.254.169.254/latest/meta-data/",
    "http://[::ffff:192.168.0.1]/", "ftp://127.0.0.1/",
])
def test_every_redirect_is_checked(target):
    with DocumentServer() as server:
        server.documents["/start"] = (302, b"", {"Location": target})
        with pytest.raises(FetchRefused):
            fetch.fetch(server.url("/start"), **TESTING)


def test_redirects_are_followed_a_few_times_only():
    with DocumentServer() as server:
        for i in range(5):
            server.documents[f"/r{i}"] = (302, b"", {"Location": f"/r{i + 1}"})
        server.documents["/r5"] = (200, [], {})
        with pytest.raises(FetchFailed):
            fetch.fetch(server.url("/r0"), **TESTING)
        assert fetch.fetch(server.url("/r2"), **TESTING).json() == []


def test_size_is_bounded():
    with DocumentServer() as server:
        server.documents["/big"] = (200, b"x" * 5000, {})

        def unannounced(handler):
            handler.send_response(200)
            handler.end_headers()
            handler.wfile.write(b"y" * 10_000)
            return None

        server.documents["/stream"] = (200, unannounced, {})
        for path in ("/big", "/stream"):
            with pytest.raises(FetchFailed, match="too large"):
                fetch.fetch(server.url(path), **TESTING)


def test_time_is_bounded_even_for_a_trickling_server():
    with DocumentServer() as server:
        def trickle(handler):
            handler.send_response(200)
            handler.send_header("Content-Length", "100")
            handler.end_headers()
            for _ in range(100):
                handler.wfile.write(b"x")
                handler.wfile.flush()
                time.sleep(0.1)
            return None

        server.documents["/slow"] = (200, trickle, {})
        started = time.monotonic()
        with pytest.raises(FetchFailed, match="too long"):
            fetch.fetch(server.url("/slow"), **{**TESTING, "timeout": 1.0})
        assert time.monotonic() - started < 2.0


def test_errors_and_non_json_are_failures_not_refusals():
    with DocumentServer() as server:
        server.documents["/html"] = (200, b"<html>", {})
        with pytest.raises(FetchFailed):
            fetch.fetch(server.url("/missing"), **TESTING)
        with pytest.raises(FetchFailed):
            fetch.fetch(server.url("/html"), **TESTING).json()


def test_production_settings_refuse_to_allow_loopback():
    from idp.settings import ConfigError, Settings

    settings = Settings(env="production", issuer="https://id.example.gov.cn",
                        secret_key="s" * 40, fetch_allow_loopback=True).completed()
    with pytest.raises(ConfigError, match="FETCH_ALLOW_LOOPBACK"):
        settings.validate()
