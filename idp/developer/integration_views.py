"""The integration page of a client (discovery URL, client id, sample code generated for it)
and its "test login" (see test_login.py)."""

from __future__ import annotations

import json
from urllib.parse import urlencode, urlsplit

from flask import abort, g, redirect, render_template, session, url_for

from .. import audit
from ..clock import utcnow
from ..extensions import db
from ..oidc.provider import provider
from . import test_login
from .blueprint import bp, signed_in
from .client_views import client_for
from .clients import TYPE_RULES

SAMPLES = {
    "web": ("flask_portal.py.txt", "Python (Flask + Authlib)"),
    "spa": ("spa.js.txt", "JavaScript (oidc-client-ts)"),
    "native": ("native.kt.txt", "Kotlin (AppAuth for Android)"),
    "mini_program": ("mini_program.py.txt", "Python (requests)"),
}


def samples_for(client) -> list[dict]:
    prov = provider()
    redirect_uri = next((u for u in client.redirect_uris or []
                         if u != test_login.callback_uri(prov)), "https://portal.example/callback")
    parts = urlsplit(redirect_uri)
    values = {
        "client": client, "issuer": prov.issuer, "site_name": prov.settings.site_name,
        "discovery_url": prov.url("/.well-known/openid-configuration"),
        "token_endpoint": prov.url("/token"), "redirect_uri": redirect_uri,
        "post_logout_uri": (client.post_logout_redirect_uris or [f"{parts.scheme}://"
                                                                 f"{parts.netloc}/"])[0],
        "scope": client.scope or "openid", "port": parts.port or 443,
    }
    # The sample for the client's own type first, then the others.
    kinds = [client.client_type] + [k for k in SAMPLES if k != client.client_type]
    return [{"kind": k, "label": SAMPLES[k][1],
             "code": render_template(f"developer/samples/{SAMPLES[k][0]}", **values)}
            for k in kinds if k in SAMPLES]


@bp.get("/c/<client_id>/integration")
@signed_in
def integration(client_id: str):
    client, org = client_for(client_id)
    prov = provider()
    body = render_template(
        "developer/integration.html", client=client, org=org, samples=samples_for(client),
        discovery_url=prov.url("/.well-known/openid-configuration"),
        test_callback=test_login.callback_uri(prov),
        can_test=client.status == "active" and TYPE_RULES[client.client_type].interactive)
    db.session.commit()
    return body


@bp.post("/c/<client_id>/test-login")
@signed_in
def start_test_login(client_id: str):
    client, _org = client_for(client_id)
    if client.status != "active" or not TYPE_RULES[client.client_type].interactive:
        abort(400)
    prov = provider()
    callback = test_login.callback_uri(prov)
    if callback not in (client.redirect_uris or []):
        # IdP-owned and useless to anyone but this page: added without approval, but visibly.
        client.redirect_uris = [*client.redirect_uris, callback]
        client.updated_at = utcnow()
        audit.record("client.test_login_enabled", person_id=g.person.id,
                     client_id=client.client_id)
    pending, params = test_login.start(client, prov)
    session[test_login.SESSION_KEY] = pending
    db.session.commit()
    return redirect(url_for("oidc.authorize") + "?" + urlencode(params), code=303)


@bp.get("/test-login/callback")
def test_login_callback():
    from flask import request

    pending = session.pop(test_login.SESSION_KEY, None)
    try:
        result = test_login.redeem(pending, request.args, provider(), utcnow())
    except test_login.TestLoginFailed as exc:
        db.session.rollback()
        return render_template("developer/test_login.html", failed=exc.reason), 400
    db.session.commit()
    return render_template("developer/test_login.html", failed=None, result=result,
                           pretty=lambda value: json.dumps(value, indent=2, ensure_ascii=False))
