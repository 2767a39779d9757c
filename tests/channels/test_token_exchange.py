"""Token exchange (RFC 8693) for mini-program back ends, against the WeChat and Alipay
simulators: linked identities get tokens (acr aal1, amr mca, the person's real-name level);
unlinked ones get interaction_required with a binding ticket; nothing is ever issued on the
client's word alone."""

from __future__ import annotations

import dataclasses
from datetime import datetime

import pytest
from joserfc import jwt
from sqlalchemy import func, select

from idp.extensions import db
from idp.models import AccessToken, AuditEvent, BindingTicket, IdentityDocument, PlatformIdentity

from ..platform_fixtures import OTHER_MINIPROGRAM_CLIENT_ID
from .helpers import ALIPAY_CODE, TOKEN_EXCHANGE, WECHAT_CODE, exchange, miniprogram_client


def _claims(app, token: str) -> dict:
    with app.app_context():
        from idp.oidc.provider import provider

        return jwt.decode(token, provider().keys.verification_keys()).claims


def _link(app, person, platform: str, openid: str, unionid: str | None = None,
          appid: str | None = None):
    from clients.miniprogram.platforms import ALIPAY_APPID, WECHAT_APPID

    with app.app_context():
        db.session.add(PlatformIdentity(
            person_id=person.id, platform=platform,
            appid=appid or (WECHAT_APPID if platform == "wechat" else ALIPAY_APPID),
            openid=openid, unionid=unionid, linked_at=datetime(2026, 1, 1)))
        db.session.commit()


def _tokens_issued(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(AccessToken))


def _wechat_ids(user: str):
    from clients.miniprogram.platforms import WECHAT_APPID
    from simulators.wechat.app import openid_of, unionid_of

    return openid_of(WECHAT_APPID, user), unionid_of(user)


def test_linked_wechat_identity_gets_tokens_with_weak_acr_and_the_persons_level(
        app, client, make_person, make_client, platform_simulators):
    person = make_person()
    openid, unionid = _wechat_ids("zhangsan")
    _link(app, person, "wechat", openid, unionid)
    with app.app_context():
        db.session.add(IdentityDocument(person_id=person.id, doc_type="cn_resident_id",
                                        number_sealed="x", number_index="i" * 64,
                                        number_masked="1101**********1234", legal_name="张三",
                                        level=2, created_at=datetime(2026, 1, 1)))
        db.session.commit()
    backend = miniprogram_client(make_client)

    response = exchange(client, backend, platform_simulators.wechat_code("zhangsan"))

    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["issued_token_type"] == "urn:ietf:params:oauth:token-type:access_token"
    assert body["token_type"] == "Bearer"
    assert "refresh_token" not in body
    access = _claims(app, body["access_token"])
    assert access["sub"] == person.sub
    assert access["acr"] == "urn:tongban:aal1"
    assert access["real_name_level"] == 2
    assert access["aud"] == backend.client_id
    id_token = _claims(app, body["id_token"])
    assert id_token["amr"] == ["mca"]
    assert id_token["acr"] == "urn:tongban:aal1"
    assert id_token["real_name_level"] == 2


def test_linked_alipay_identity_gets_tokens(app, client, make_person, make_client,
                                            platform_simulators):
    from clients.miniprogram.platforms import ALIPAY_APPID
    from simulators.alipay.app import open_id_of

    person = make_person()
    _link(app, person, "alipay", open_id_of(ALIPAY_APPID, "lisi"))
    backend = miniprogram_client(make_client)

    response = exchange(client, backend, platform_simulators.alipay_code("lisi"), ALIPAY_CODE)

    assert response.status_code == 200, response.get_json()
    access = _claims(app, response.get_json()["access_token"])
    assert access["sub"] == person.sub
    assert access["real_name_level"] == 0  # no identity document: self-asserted at most


def test_unlinked_identity_gets_interaction_required_with_a_binding_ticket(
        app, client, make_client, platform_simulators):
    backend = miniprogram_client(make_client)

    response = exchange(client, backend, platform_simulators.wechat_code("wangwu"))

    assert response.status_code == 400
    body = response.get_json()
    assert body["error"] == "interaction_required"
    assert body["expires_in"] == 60
    assert body["binding_uri"].startswith("http://127.0.0.1:5000/bind?ticket=")
    assert f"client_id={backend.client_id}" in body["binding_uri"]
    assert "access_token" not in body
    assert _tokens_issued(app) == 0
    with app.app_context():
        ticket = db.session.scalar(select(BindingTicket))
        assert ticket.client_id == backend.client_id
        assert (ticket.expires_at - ticket.created_at).total_seconds() == 60
        assert ticket.ticket_hash != body["binding_ticket"]  # stored hashed


def test_a_disabled_account_gets_nothing_and_no_binding_ticket(
        app, client, make_person, make_client, platform_simulators):
    person = make_person(status="disabled")
    _link(app, person, "wechat", _wechat_ids("zhangsan")[0])
    backend = miniprogram_client(make_client)

    response = exchange(client, backend, platform_simulators.wechat_code("zhangsan"))

    assert response.status_code == 400
    assert response.get_json() == {"error": "invalid_grant",
                                   "error_description": "The linked account is not active."}
    assert _tokens_issued(app) == 0
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(BindingTicket)) == 0


def test_unionid_link_in_one_app_is_recognised_in_a_sibling_app(
        app, client, make_person, make_client, platform_simulators):
    person = make_person()
    _openid, unionid = _wechat_ids("zhangsan")
    _link(app, person, "wechat", "o-from-another-app", unionid, appid="wx-sibling-app")
    backend = miniprogram_client(make_client)

    response = exchange(client, backend, platform_simulators.wechat_code("zhangsan"))

    assert response.status_code == 200, response.get_json()
    assert _claims(app, response.get_json()["access_token"])["sub"] == person.sub


def test_platform_code_used_twice_is_invalid_grant_and_issues_nothing(
        app, client, make_person, make_client, platform_simulators):
    person = make_person()
    _link(app, person, "wechat", _wechat_ids("zhangsan")[0])
    backend = miniprogram_client(make_client)
    code = platform_simulators.wechat_code("zhangsan")
    assert exchange(client, backend, code).status_code == 200
    issued = _tokens_issued(app)

    again = exchange(client, backend, code)

    assert again.status_code == 400
    assert again.get_json() == {"error": "invalid_grant",
                                "error_description": "The platform did not accept the code "
                                                     "(already used)."}
    assert _tokens_issued(app) == issued


def test_alipay_code_used_twice_is_invalid_grant(app, client, make_person, make_client,
                                                  platform_simulators):
    backend = miniprogram_client(make_client)
    code = platform_simulators.alipay_code("zhangsan")
    assert exchange(client, backend, code, ALIPAY_CODE).get_json()["error"] == \
        "interaction_required"

    again = exchange(client, backend, code, ALIPAY_CODE)

    assert again.status_code == 400
    assert again.get_json()["error"] == "invalid_grant"


def test_a_made_up_code_is_invalid_grant(app, client, make_client, platform_simulators):
    backend = miniprogram_client(make_client)
    response = exchange(client, backend, "not-a-code-wechat-ever-issued")
    assert response.status_code == 400
    assert response.get_json() == {"error": "invalid_grant",
                                   "error_description": "The platform did not accept the code."}


def test_a_code_from_an_app_the_client_may_not_use_is_refused(
        app, client, make_person, make_client, platform_simulators):
    person = make_person()
    _link(app, person, "wechat", _wechat_ids("zhangsan")[0])
    stranger = miniprogram_client(make_client, client_id="tbc_not_in_platform_file")

    response = exchange(client, stranger, platform_simulators.wechat_code("zhangsan"))

    assert response.status_code == 400
    assert response.get_json()["error"] == "unauthorized_client"
    assert _tokens_issued(app) == 0


def test_token_exchange_by_a_client_not_allowed_the_grant(
        app, client, make_person, make_client, platform_simulators):
    person = make_person()
    _link(app, person, "wechat", _wechat_ids("zhangsan")[0])
    portal = make_client("web", client_id=OTHER_MINIPROGRAM_CLIENT_ID)  # named in the file

    response = exchange(client, portal, platform_simulators.wechat_code("zhangsan"))

    assert response.status_code == 400
    assert response.get_json() == {
        "error": "unauthorized_client",
        "error_description": f"The client is not authorized to use 'grant_type={TOKEN_EXCHANGE}'."}
    assert _tokens_issued(app) == 0


@pytest.mark.parametrize(("change", "description"), [
    ({"subject_token": None}, "'subject_token' and 'subject_token_type' are required."),
    ({"subject_token_type": None}, "'subject_token' and 'subject_token_type' are required."),
    ({"subject_token_type": "urn:ietf:params:oauth:token-type:access_token"},
     "Unsupported 'subject_token_type'."),
    ({"actor_token": "x", "actor_token_type": WECHAT_CODE},
     "Delegation ('actor_token') is not supported."),
    ({"requested_token_type": "urn:ietf:params:oauth:token-type:refresh_token"},
     "Only access tokens can be requested."),
])
def test_malformed_exchange_requests(app, client, make_client, platform_simulators, change,
                                     description):
    backend = miniprogram_client(make_client)
    response = exchange(client, backend, "whatever", **change)
    assert response.status_code == 400
    assert response.get_json() == {"error": "invalid_request", "error_description": description}


def test_scope_beyond_the_clients_is_invalid_scope(app, client, make_client,
                                                   platform_simulators):
    backend = miniprogram_client(make_client, scope="openid")
    response = exchange(client, backend, "whatever", scope="openid phone")
    assert response.status_code == 400
    assert response.get_json()["error"] == "invalid_scope"


def test_public_clients_cannot_exchange(app, client, make_client, platform_simulators):
    native = make_client("native", redirect_uris=("http://127.0.0.1/cb",),
                         grant_types=[TOKEN_EXCHANGE])
    response = exchange(client, native, platform_simulators.wechat_code())
    assert response.status_code == 401
    assert response.get_json()["error"] == "invalid_client"


@pytest.mark.parametrize(("errcode", "times", "status", "retry_after"), [
    (45011, 1, 503, "60"),
    (-1, 2, 503, "5"),  # busy is retried once
])
def test_wechat_rate_limit_and_busy_are_temporarily_unavailable(
        app, client, make_client, platform_simulators, errcode, times, status, retry_after):
    backend = miniprogram_client(make_client)
    code = platform_simulators.wechat_code("zhangsan")
    platform_simulators.fail_wechat(errcode, times=times)

    response = exchange(client, backend, code)

    assert response.status_code == status
    assert response.headers["Retry-After"] == retry_after
    assert response.get_json()["error"] == "temporarily_unavailable"
    assert _tokens_issued(app) == 0


def test_wechat_busy_once_is_retried_transparently(app, client, make_client,
                                                   platform_simulators):
    backend = miniprogram_client(make_client)
    code = platform_simulators.wechat_code("wangwu")
    platform_simulators.fail_wechat(-1, times=1)

    response = exchange(client, backend, code)

    assert response.get_json()["error"] == "interaction_required"


@pytest.mark.parametrize(("kind", "times"), [("busy", 2), ("rate_limited", 1)])
def test_alipay_busy_and_rate_limit_are_temporarily_unavailable(
        app, client, make_client, platform_simulators, kind, times):
    backend = miniprogram_client(make_client)
    code = platform_simulators.alipay_code("zhangsan")
    platform_simulators.fail_alipay(kind, times=times)

    response = exchange(client, backend, code, ALIPAY_CODE)

    assert response.status_code == 503
    assert response.get_json()["error"] == "temporarily_unavailable"


@pytest.mark.parametrize("settings_overrides", [{"wechat_api_url": "http://127.0.0.1:9"}],
                         indirect=True)
def test_platform_unreachable_is_temporarily_unavailable(app, client, make_client,
                                                         platform_simulators):
    backend = miniprogram_client(make_client)
    response = exchange(client, backend, "any-code")
    assert response.status_code == 503
    assert response.get_json()["error"] == "temporarily_unavailable"


def test_repeated_refusals_from_one_source_are_throttled(app, client, make_client,
                                                         platform_simulators):
    from idp.channels.exchange_throttle import MAX_REFUSALS

    backend = miniprogram_client(make_client)
    for n in range(MAX_REFUSALS):
        assert exchange(client, backend, f"bogus-{n}").get_json()["error"] == "invalid_grant"

    # Even a good code waits now: the brake is per client and source, not per code.
    response = exchange(client, backend, platform_simulators.wechat_code("zhangsan"))

    assert response.status_code == 429
    assert response.headers["Retry-After"] == "60"
    assert response.get_json()["error"] == "temporarily_unavailable"
    with app.app_context():
        refused = db.session.scalar(select(func.count()).select_from(AuditEvent).where(
            AuditEvent.event == "token.exchange_refused"))
    assert refused == MAX_REFUSALS


@pytest.fixture(scope="module")
def forged_alipay(tmp_path_factory, platform_simulators):
    """An "Alipay" that signs its replies with a key that is not Alipay's."""
    import json
    import shutil
    import signal

    from simulators.alipay.keys import make_pair

    from ..platform_fixtures import start_simulator

    directory = tmp_path_factory.mktemp("forged-alipay")
    shutil.copy(platform_simulators.directory / "alipay-app-public.pem", directory)
    make_pair(directory, "impostor")
    seed = json.loads((platform_simulators.directory / "alipay-seed.json").read_text())
    seed["alipay_private_key_file"] = "impostor-private.pem"
    (directory / "seed.json").write_text(json.dumps(seed))
    process, url = start_simulator("simulators.alipay", directory / "seed.json",
                                   directory / "log")
    yield url
    process.send_signal(signal.SIGTERM)
    process.wait(timeout=10)


def test_a_reply_not_signed_by_alipay_is_never_believed(app, client, make_person, make_client,
                                                        platform_simulators, forged_alipay):
    import requests

    from clients.miniprogram.platforms import ALIPAY_APPID
    from simulators.alipay.app import open_id_of

    person = make_person()
    _link(app, person, "alipay", open_id_of(ALIPAY_APPID, "zhangsan"))
    backend = miniprogram_client(make_client)
    code = requests.post(forged_alipay + "/_sim/auth", json={"appid": ALIPAY_APPID,
                                                             "user": "zhangsan"},
                         timeout=5).json()["auth_code"]
    settings = dataclasses.replace(app.extensions["tongban.settings"],
                                   alipay_gateway_url=forged_alipay + "/gateway.do")
    app.extensions["tongban.settings"] = app.extensions["tongban.provider"].settings = settings

    response = exchange(client, backend, code, ALIPAY_CODE)

    assert response.status_code == 503
    assert response.get_json()["error"] == "temporarily_unavailable"
    assert _tokens_issued(app) == 0


def test_a_locked_account_is_locked_for_mini_programs_too(app, client, make_person, make_client,
                                                          platform_simulators):
    """CONFORMANCE.md §D row 22: an account locked after too many failed logins refuses every
    path, the platform identity included; nothing is issued."""
    from idp.authn import throttle
    from idp.clock import utcnow
    from idp.models import ThrottleCounter

    person = make_person()
    openid, unionid = _wechat_ids("zhangsan")
    _link(app, person, "wechat", openid, unionid)
    with app.app_context():
        db.session.add(ThrottleCounter(key=throttle.person_key(person.id), failures=100,
                                       locked_at=utcnow(), last_failure_at=utcnow()))
        db.session.commit()
    backend = miniprogram_client(make_client)

    response = exchange(client, backend, platform_simulators.wechat_code("zhangsan"))

    assert response.status_code == 400
    assert response.get_json()["error"] == "invalid_grant"
    assert _tokens_issued(app) == 0
