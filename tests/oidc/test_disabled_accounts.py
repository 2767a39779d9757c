"""A disabled person or client loses its tokens everywhere at once: UserInfo, introspection and
the token endpoint agree (not only the endpoint that happens to check)."""

import pytest
from sqlalchemy import update

from idp.extensions import db
from idp.models import Client, Person

from ..helpers import Flow, bearer, introspect, refresh, signed_in


@pytest.fixture
def rp(make_client):
    return make_client()


@pytest.fixture
def setup(client, make_person, rp):
    person = signed_in(client, make_person)
    return person, Flow(client, rp, scope="openid profile").tokens()


def _disable(app, model, row_id):
    with app.app_context():
        db.session.execute(update(model).where(model.id == row_id).values(status="disabled"))
        db.session.commit()


def test_disabled_person(app, client, rp, setup):
    person, tokens = setup
    _disable(app, Person, person.id)
    info = client.get("/userinfo", headers=bearer(tokens["access_token"]))
    assert info.status_code == 401
    assert info.get_json()["error"] == "invalid_token"
    for kind in ("access_token", "refresh_token"):
        assert introspect(client, rp, tokens[kind]).get_json() == {"active": False}
    assert refresh(client, rp, tokens["refresh_token"]).get_json()["error"] == "invalid_grant"


def test_disabled_client(app, client, rp, setup):
    _person, tokens = setup
    _disable(app, Client, rp.id)
    info = client.get("/userinfo", headers=bearer(tokens["access_token"]))
    assert info.status_code == 401
    assert info.get_json()["error"] == "invalid_token"
    assert refresh(client, rp, tokens["refresh_token"]).get_json()["error"] == "invalid_client"
