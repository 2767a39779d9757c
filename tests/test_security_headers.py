"""Transport-level protections on every page (RFC 9700 §4.16 clickjacking, §4.2.4 no
third-party resources and no referrer), HSTS on https issuers, and 500 pages that say nothing."""

import re

import pytest

from .helpers import Flow, csrf_token, signed_in

#: sources a directive may list without loading anything from a third party
OWN = re.compile(r"^('self'|'none'|'nonce-[A-Za-z0-9_-]+'|data:)$")
#: directives that legitimately name a relying party (where the page sends the browser)
TOWARDS_CLIENTS = {"form-action", "frame-src"}


@pytest.fixture
def settings_overrides(request):
    return getattr(request, "param", {})


def csp_of(response) -> dict[str, list[str]]:
    policy = response.headers["Content-Security-Policy"]
    directives = {}
    for part in policy.split(";"):
        name, *sources = part.split()
        directives[name] = sources
    return directives


def assert_protected(response):
    assert response.mimetype == "text/html"
    csp = csp_of(response)
    assert csp["frame-ancestors"] == ["'none'"]
    assert csp["base-uri"] == ["'none'"]
    assert "default-src" in csp
    for name, sources in csp.items():
        if name in TOWARDS_CLIENTS:
            continue
        assert all(OWN.match(s) for s in sources), (name, sources)
        assert "'unsafe-inline'" not in sources and "'unsafe-eval'" not in sources
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "no-referrer"
    assert response.headers["Cache-Control"] == "no-store"
    assert "Strict-Transport-Security" not in response.headers
    body = response.get_data(as_text=True)
    # Every script, stylesheet, image and frame of our own comes from us.
    for tag, url in re.findall(r'<(script|link|img|iframe)\b[^>]*\b(?:src|href)="([^"]*)"', body):
        if tag != "iframe":
            assert url.startswith("/") and not url.startswith("//"), (tag, url)


@pytest.fixture
def pages(app, client, make_person, make_client):
    """Every kind of HTML page the IdP renders, as name → response."""
    out = {"login": client.get("/login"), "register": client.get("/register"),
           "not_found": client.get("/no-such-page")}
    third_party = make_client(name="Third party", redirect_uris=["https://rp.example/cb"],
                              post_logout_redirect_uris=["https://rp.example/bye"],
                              frontchannel_logout_uri="https://rp.example/fc")
    out["authorize_error"] = client.get("/authorize", query_string={
        "client_id": "tbc_unknown", "response_type": "code", "scope": "openid",
        "redirect_uri": "https://rp.example/cb"})
    signed_in(client, make_person)
    out["account"] = client.get("/")
    response = Flow(client, third_party).authorize()
    while response.status_code in (302, 303) and response.headers["Location"].startswith("/"):
        response = client.get(response.headers["Location"])
    assert response.request.path.startswith("/consent/")
    out["consent"] = response
    client.post(response.request.path, data={
        "csrf_token": csrf_token(response.get_data(as_text=True)), "decision": "allow"})
    first_party = make_client(name="Portal", first_party=True)
    out["form_post"] = Flow(client, first_party).authorize(response_mode="form_post")
    out["logout_confirm"] = client.get("/logout")
    tokens = Flow(client, third_party).tokens()
    out["logout_bad_hint"] = client.get("/logout", query_string={"id_token_hint": "x.y.z"})
    out["logged_out"] = client.get("/logout", query_string={
        "id_token_hint": tokens["id_token"], "post_logout_redirect_uri": "https://rp.example/bye"})
    return out


def test_every_html_page_is_protected(pages):
    expected = {"login": 200, "register": 200, "not_found": 404, "authorize_error": 400,
                "account": 200, "consent": 200, "form_post": 200, "logout_confirm": 200,
                "logout_bad_hint": 400, "logged_out": 200}
    assert {name: r.status_code for name, r in pages.items()} == expected
    for name, response in pages.items():
        try:
            assert_protected(response)
        except AssertionError as exc:
            raise AssertionError(f"{name}: {exc}") from exc


def test_form_post_page_submits_only_to_the_client(pages):
    assert csp_of(pages["form_post"])["form-action"] == ["https://rp.example"]


def test_logged_out_page_frames_only_the_clients(pages):
    assert csp_of(pages["logged_out"])["frame-src"] == ["https://rp.example"]


def test_json_endpoints_are_not_cached(client):
    response = client.post("/token", data={"grant_type": "client_credentials"})
    assert response.status_code == 401
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["X-Content-Type-Options"] == "nosniff"


@pytest.mark.parametrize("settings_overrides", [{"issuer": "https://idp.example"}],
                         indirect=True)
def test_hsts_on_https_issuers(app):
    http = app.test_client()
    http.environ_base.update({"wsgi.url_scheme": "https", "HTTP_HOST": "idp.example"})
    for path in ("/login", "/.well-known/openid-configuration", "/jwks"):
        response = http.get(path)
        assert response.headers["Strict-Transport-Security"] == (
            "max-age=31536000; includeSubDomains")


def test_no_hsts_on_http_issuers(client):
    for path in ("/login", "/.well-known/openid-configuration"):
        assert "Strict-Transport-Security" not in client.get(path).headers


SECRET_DETAIL = "psycopg.OperationalError: password=hunter2 at /srv/tongban/secret.py"


@pytest.fixture
def crashing(app):
    @app.get("/crash")
    def crash():
        raise RuntimeError(SECRET_DETAIL)

    return app.test_client()


def test_500_page_says_nothing_specific(crashing, caplog):
    response = crashing.get("/crash")
    assert response.status_code == 500
    body = response.get_data(as_text=True)
    for leak in ("hunter2", "psycopg", "/srv/tongban", "RuntimeError", "Traceback"):
        assert leak not in body
    assert_protected(response)
    # The operator still sees it.
    assert any("unhandled error on GET /crash" in r.getMessage() for r in caplog.records)


def test_500_json_says_only_server_error(crashing):
    response = crashing.get("/crash", headers={"Accept": "application/json"})
    assert response.status_code == 500
    assert response.get_json() == {"error": "server_error"}
