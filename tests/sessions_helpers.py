"""Opening SSO sessions directly (e.g. at AAL2, which no login method reaches yet) and giving
people officer roles, for tests of the account centre and the officer console."""

from __future__ import annotations

from idp.models import PersonRole

AAL1 = "urn:tongban:aal1"
AAL2 = "urn:tongban:aal2"


def open_session(app, person, *, acr: str = AAL2, ip: str = "203.0.113.9",
                 user_agent: str = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 "
                 "(KHTML, like Gecko) Chrome/126.0 Safari/537.36", channel: str = "web"):
    """Start a session for `person`; returns (sid, cookie value)."""
    from idp.authn import sessions
    from idp.clock import utcnow
    from idp.extensions import db
    from idp.models import Person

    with app.app_context():
        settings = app.extensions["tongban.settings"]
        row = db.session.get(Person, person.id)
        session, cookie = sessions.start(
            sessions.Authentication(person=row, acr=acr, amr=("pwd", "otp")), now=utcnow(),
            settings=settings, previous=None, ip=ip, user_agent=user_agent)
        session.channel = channel
        db.session.commit()
        return session.sid, cookie


def use_session(http, app, cookie: str) -> None:
    http.set_cookie(app.extensions["tongban.settings"].session_cookie_name, cookie)


def give_role(app, person, role: str) -> None:
    from idp.clock import utcnow
    from idp.extensions import db

    with app.app_context():
        db.session.add(PersonRole(person_id=person.id, role=role, granted_at=utcnow()))
        db.session.commit()


def officer(app, http, make_person, role: str, *, acr: str = AAL2):
    """A person holding `role`, signed in on `http` at `acr`; returns the person."""
    person = make_person()
    give_role(app, person, role)
    _sid, cookie = open_session(app, person, acr=acr)
    use_session(http, app, cookie)
    return person
