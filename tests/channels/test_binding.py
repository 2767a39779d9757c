"""Linking a platform identity with a binding ticket: one-time, 60 seconds, for its audience,
completed only after a login in the browser that opened it; unlinking from the account page."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import func, select

from idp.extensions import db
from idp.models import AuditEvent, PlatformIdentity

from ..helpers import csrf_token, login
from .helpers import bind_via_browser, exchange, miniprogram_client


def _binding_uri(client, backend, sims, user="wangwu") -> str:
    response = exchange(client, backend, sims.wechat_code(user))
    assert response.get_json()["error"] == "interaction_required", response.get_json()
    return response.get_json()["binding_uri"]


def _path(uri: str) -> str:
    parts = urlsplit(uri)
    return parts.path + "?" + parts.query


def _links(app) -> list[PlatformIdentity]:
    with app.app_context():
        return list(db.session.scalars(select(PlatformIdentity)))


def _events(app, name: str) -> list[AuditEvent]:
    with app.app_context():
        return list(db.session.scalars(select(AuditEvent).where(AuditEvent.event == name)))


def test_unlinked_bind_then_linked(app, client, make_person, make_client, platform_simulators):
    person = make_person()
    backend = miniprogram_client(make_client)
    uri = _binding_uri(client, backend, platform_simulators)
    browser = app.test_client()  # the mini-program's web-view

    done = bind_via_browser(browser, uri, person.username)

    assert done.status_code == 200
    assert "Linked" in done.get_data(as_text=True) or "已关联" in done.get_data(as_text=True)
    [link] = _links(app)
    assert (link.person_id, link.platform, link.client_id) == (person.id, "wechat",
                                                               backend.client_id)
    again = exchange(client, backend, platform_simulators.wechat_code("wangwu"))
    assert again.status_code == 200, again.get_json()
    assert [e.person_id for e in _events(app, "platform_identity.linked")] == [person.id]


def test_replayed_ticket_is_refused_and_links_nothing(app, client, make_person, make_client,
                                                      platform_simulators):
    make_person()
    backend = miniprogram_client(make_client)
    uri = _binding_uri(client, backend, platform_simulators)
    first = app.test_client()
    assert first.get(_path(uri)).status_code == 302  # claimed by the first browser

    replay = app.test_client().get(_path(uri))

    assert replay.status_code == 400
    assert _links(app) == []
    assert [e.detail["reason"] for e in _events(app, "binding_ticket.refused")] == ["replayed"]


def test_ticket_spent_after_linking_cannot_link_again(app, client, make_person, make_client,
                                                      platform_simulators):
    person = make_person()
    backend = miniprogram_client(make_client)
    uri = _binding_uri(client, backend, platform_simulators)
    browser = app.test_client()
    assert bind_via_browser(browser, uri, person.username).status_code == 200

    again = browser.get(_path(uri))

    assert again.status_code == 400
    assert len(_links(app)) == 1


def test_expired_ticket_is_refused(app, client, make_person, make_client, platform_simulators,
                                   frozen_clock):
    make_person()
    backend = miniprogram_client(make_client)
    uri = _binding_uri(client, backend, platform_simulators)
    frozen_clock.advance(61)

    late = app.test_client().get(_path(uri))

    assert late.status_code == 400
    assert _links(app) == []
    assert [e.detail["reason"] for e in _events(app, "binding_ticket.refused")] == ["expired"]


def test_ticket_opened_within_its_minute_may_finish_after_it(
        app, client, make_person, make_client, platform_simulators, frozen_clock):
    person = make_person()
    backend = miniprogram_client(make_client)
    uri = _binding_uri(client, backend, platform_simulators)
    frozen_clock.advance(59)
    browser = app.test_client()
    assert browser.get(_path(uri)).status_code == 302
    frozen_clock.advance(120)  # the person takes two minutes to type their password

    assert bind_via_browser_after_open(browser, uri, person.username).status_code == 200
    assert len(_links(app)) == 1


def bind_via_browser_after_open(browser, uri, account):
    path = _path(uri)
    assert login(browser, account, next_path=path).status_code == 303
    page = browser.get(path)
    query = parse_qs(urlsplit(uri).query)
    return browser.post("/bind", data={"csrf_token": csrf_token(page.get_data(as_text=True)),
                                       "ticket": query["ticket"][0],
                                       "client_id": query["client_id"][0], "decision": "link"})


def test_ticket_for_another_audience_is_refused(app, client, make_person, make_client,
                                                platform_simulators):
    make_person()
    backend = miniprogram_client(make_client)
    uri = _binding_uri(client, backend, platform_simulators)
    query = parse_qs(urlsplit(uri).query)

    wrong = app.test_client().get("/bind", query_string={"ticket": query["ticket"][0],
                                                         "client_id": "tbc_someone_else"})

    assert wrong.status_code == 400
    assert [e.detail["reason"] for e in _events(app, "binding_ticket.refused")] == ["audience"]
    # ...and the real audience can still use it: a wrong guess does not burn the ticket.
    assert app.test_client().get(_path(uri)).status_code == 302


def test_an_older_session_in_the_browser_is_not_enough(app, client, make_person, make_client,
                                                       platform_simulators, frozen_clock):
    person = make_person()
    browser = app.test_client()
    assert login(browser, person.username).status_code == 303  # logged in before the ticket
    frozen_clock.advance(5)
    backend = miniprogram_client(make_client)
    uri = _binding_uri(client, backend, platform_simulators)

    opened = browser.get(_path(uri))

    assert opened.status_code == 302
    assert opened.headers["Location"].startswith("/login")
    query = parse_qs(urlsplit(uri).query)
    page = browser.get("/login")
    posted = browser.post("/bind", data={"csrf_token": csrf_token(page.get_data(as_text=True)),
                                         "ticket": query["ticket"][0],
                                         "client_id": query["client_id"][0],
                                         "decision": "link"})
    assert posted.status_code == 400
    assert _links(app) == []


def test_declining_links_nothing_and_spends_the_ticket(app, client, make_person, make_client,
                                                       platform_simulators):
    person = make_person()
    backend = miniprogram_client(make_client)
    uri = _binding_uri(client, backend, platform_simulators)
    browser = app.test_client()

    done = bind_via_browser(browser, uri, person.username, decision="cancel")

    assert done.status_code == 200
    assert _links(app) == []
    assert browser.get(_path(uri)).status_code == 400


def test_an_identity_linked_meanwhile_cannot_be_linked_twice(
        app, client, make_person, make_client, platform_simulators):
    first, second = make_person(), make_person()
    backend = miniprogram_client(make_client)
    uri_a = _binding_uri(client, backend, platform_simulators)
    uri_b = _binding_uri(client, backend, platform_simulators)
    assert bind_via_browser(app.test_client(), uri_a, first.username).status_code == 200

    taken = bind_via_browser(app.test_client(), uri_b, second.username)

    assert taken.status_code == 409
    assert [link.person_id for link in _links(app)] == [first.id]


def test_unlink_from_the_account_page(app, client, make_person, make_client,
                                      platform_simulators):
    person = make_person()
    backend = miniprogram_client(make_client)
    browser = app.test_client()
    bind_via_browser(browser, _binding_uri(client, backend, platform_simulators),
                     person.username)
    page = browser.get("/account/linked-apps")
    assert page.status_code == 200
    [link] = _links(app)

    done = browser.post(f"/account/linked-apps/{link.id}/unlink",
                        data={"csrf_token": csrf_token(page.get_data(as_text=True))})

    assert done.status_code == 303
    assert _links(app) == []
    assert len(_events(app, "platform_identity.unlinked")) == 1
    relogin = exchange(client, backend, platform_simulators.wechat_code("wangwu"))
    assert relogin.get_json()["error"] == "interaction_required"


def test_unlinking_removes_the_unionid_siblings_too(app, client, make_person, make_client,
                                                    platform_simulators):
    person = make_person()
    backend = miniprogram_client(make_client)
    browser = app.test_client()
    bind_via_browser(browser, _binding_uri(client, backend, platform_simulators, "zhangsan"),
                     person.username)
    [link] = _links(app)
    with app.app_context():
        db.session.add(PlatformIdentity(person_id=person.id, platform="wechat", appid="wx-other",
                                        openid="o-other", unionid=link.unionid,
                                        linked_at=link.linked_at))
        db.session.commit()
    page = browser.get("/account/linked-apps")

    browser.post(f"/account/linked-apps/{link.id}/unlink",
                 data={"csrf_token": csrf_token(page.get_data(as_text=True))})

    assert _links(app) == []
    relogin = exchange(client, backend, platform_simulators.wechat_code("zhangsan"))
    assert relogin.get_json()["error"] == "interaction_required"


def test_nobody_can_unlink_someone_elses_link(app, client, make_person, make_client,
                                              platform_simulators):
    owner, other = make_person(), make_person()
    backend = miniprogram_client(make_client)
    bind_via_browser(app.test_client(), _binding_uri(client, backend, platform_simulators),
                     owner.username)
    [link] = _links(app)
    browser = app.test_client()
    login(browser, other.username)
    assert "no-links" in browser.get("/account/linked-apps").get_data(as_text=True)
    page = browser.get("/")  # any page with a CSRF token

    browser.post(f"/account/linked-apps/{link.id}/unlink",
                 data={"csrf_token": csrf_token(page.get_data(as_text=True))})

    assert len(_links(app)) == 1


@pytest.mark.parametrize("path", ["/bind", "/bind?ticket=nothing&client_id=x"])
def test_bind_without_a_valid_ticket(client, path):
    assert client.get(path).status_code == 400


def test_binding_tickets_are_counted_nowhere_near_the_secret(app, client, make_client,
                                                              platform_simulators):
    backend = miniprogram_client(make_client)
    ticket = exchange(client, backend, platform_simulators.wechat_code()).get_json()[
        "binding_ticket"]
    with app.app_context():
        rows = db.session.scalar(select(func.count()).select_from(AuditEvent).where(
            AuditEvent.detail.cast(db.String).contains(ticket)))
    assert rows == 0
