"""One rule for every privileged page (idp/authz.py): the role, held by a real person, at AAL2,
authenticated within 12 h. Pages outside the officer console follow it too."""

from __future__ import annotations

import pytest

from idp.clock import utcnow
from idp.extensions import db
from idp.models import PersonRole

from .helpers import as_two_factor, signed_in

PAGES = [("system_admin", "/developer/admin/requests"),
         ("hall_officer", "/staff/hall"),
         ("security_officer", "/admin/sessions")]


def _grant(app, person, role):
    with app.app_context():
        db.session.add(PersonRole(person_id=person.id, role=role, granted_at=utcnow()))
        db.session.commit()


@pytest.mark.parametrize("role, path", PAGES)
def test_role_at_aal1_is_refused_and_at_aal2_admitted(app, client, make_person, role, path):
    person = signed_in(client, make_person)
    _grant(app, person, role)          # granted after a password-only sign-in
    refused = client.get(path, headers={"Accept-Language": "en"})
    assert refused.status_code == 403
    as_two_factor(app, person)
    assert client.get(path).status_code == 200


@pytest.mark.parametrize("role, path", PAGES)
def test_no_role_no_entry_even_at_aal2(app, client, make_person, role, path):
    person = signed_in(client, make_person)
    as_two_factor(app, person)
    assert client.get(path).status_code == 403


def test_stale_authentication_is_refused(app, client, make_person, frozen_clock):
    person = signed_in(client, make_person)
    _grant(app, person, "system_admin")
    as_two_factor(app, person)
    assert client.get("/developer/admin/requests").status_code == 200
    frozen_clock.advance(13 * 3600)
    assert client.get("/developer/admin/requests").status_code in (302, 403)
