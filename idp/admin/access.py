"""Who may enter which part of the officer console: one function, :func:`require_role`.

A page or API is open to a person who (1) has a live SSO session, (2) holds one of the roles the
page names, and (3) authenticated strongly enough and recently enough: administrators need AAL2
(DESIGN §5). Every entry is audited (`admin.viewed`) and so is every refusal (`admin.refused`).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import wraps

from flask import g, jsonify, redirect, render_template, request, url_for
from sqlalchemy import inspect

from .. import audit
from ..authn import sessions
from ..authz import (  # noqa: F401 (re-exported: the console's vocabulary)
    ACR_LADDER,
    ADMIN_MAX_AUTH_AGE,
    ADMIN_MAX_IDLE,
    ADMIN_MIN_ACR,
    Refusal,
    acr_at_least,
    refusal_for,
)
from ..clock import utcnow
from ..extensions import db
from ..models import Person, SsoSession
from .roles import roles_of

#: Query parameters worth keeping in the audit record of a page view.
AUDITED_QUERY = ("person", "client", "ip", "channel", "since", "until", "state", "event",
                 "actor", "admins", "format", "q")


@dataclass(frozen=True)
class Officer:
    person: Person
    roles: frozenset[str]
    session: SsoSession

    @property
    def id(self) -> int:
        return self.person.id


def _is_api() -> bool:
    return request.path.startswith("/admin/api/")


def _refuse(refusal: Refusal):
    if _is_api():
        return jsonify({"error": refusal.value}), 403
    return render_template("admin/refused.html", refusal=refusal.value), 403


def require_role(*needed: str):
    """Decorate a console view: only people holding one of `needed`, at AAL2, get in."""
    def decorate(view):
        @wraps(view)
        def wrapper(*args, **kwargs):
            session = sessions.current()
            if session is None:
                db.session.commit()
                if _is_api():
                    return jsonify({"error": "login_required"}), 401
                return redirect(url_for("authn.login", next=request.path))
            # When the session was used before this request (sessions.current() has just moved
            # last_seen_at forward; the old value is still in the unflushed change).
            changed = inspect(session).attrs.last_seen_at.history
            last_used = changed.deleted[0] if changed.deleted else session.last_seen_at
            held = roles_of(session.person_id)
            refusal = refusal_for(session, held, needed, utcnow(), last_used)
            if refusal is not None:
                audit.record("admin.refused", actor_id=session.person_id, sid=session.sid,
                             page=request.endpoint, reason=refusal.value)
                db.session.commit()
                return _refuse(refusal)
            g.officer = Officer(person=session.person, roles=frozenset(held), session=session)
            if request.method == "GET":
                query = {k: request.args[k][:100] for k in AUDITED_QUERY if request.args.get(k)}
                audit.record("admin.viewed", actor_id=session.person_id, sid=session.sid,
                             page=request.endpoint, query=query)
            return view(*args, **kwargs)
        wrapper.required_roles = needed
        return wrapper
    return decorate
