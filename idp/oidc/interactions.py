"""Pending authorization requests, kept server-side while the person logs in or consents.

The ticket in the URL is a capability bound to the first browser that uses it (by a random value
in that browser's signed cookie); the database holds only the ticket's hash.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from sqlalchemy import select

from ..extensions import db
from ..models import Interaction


def _hash(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def create(params: list[tuple[str, str]], now: datetime, ttl: int) -> tuple[Interaction, str]:
    ticket = secrets.token_urlsafe(24)
    row = Interaction(ticket_hash=_hash(ticket), params=[list(p) for p in params], created_at=now,
                      expires_at=now + timedelta(seconds=ttl))
    db.session.add(row)
    db.session.flush()
    return row, ticket


def bind(row: Interaction, browser_key: str) -> None:
    row.browser_hash = _hash(browser_key)


def claim(ticket: str, browser_key: str, now: datetime) -> Interaction | None:
    """The live, unfinished interaction for `ticket`, if this browser may use it."""
    if not ticket or len(ticket) > 64:
        return None
    row = db.session.scalar(select(Interaction).where(Interaction.ticket_hash == _hash(ticket)))
    if row is None or row.completed_at is not None or now >= row.expires_at:
        return None
    binding = _hash(browser_key)
    if row.browser_hash is None:
        row.browser_hash = binding
    elif not secrets.compare_digest(row.browser_hash, binding):
        return None
    return row


def login_context(next_path: str) -> dict | None:
    """For the login page: which client is asking and what it hinted, when `next_path` resumes
    one of our interactions. Read-only; the interaction is claimed only when it resumes."""
    from flask import session as browser

    from ..clock import utcnow
    from ..models import Client

    prefix = "/authorize/continue/"
    if not next_path.startswith(prefix) or "browser" not in browser:
        return None
    ticket = next_path[len(prefix):]
    row = db.session.scalar(select(Interaction).where(Interaction.ticket_hash == _hash(ticket)))
    if row is None or utcnow() >= row.expires_at or row.browser_hash != _hash(browser["browser"]):
        return None
    params = {k: v for k, v in row.params}
    client = db.session.scalar(select(Client).where(Client.client_id == params.get("client_id")))
    return {
        "client_name": client.name if client else None,
        "login_hint": (params.get("login_hint") or "")[:254] or None,
        "ui_locales": params.get("ui_locales"),
    }
