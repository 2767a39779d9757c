"""Linking platform identities to people.

A verified platform identity (what WeChat/Alipay said about a code a moment ago) is either linked
to a person already, or becomes a binding ticket: a one-time capability, valid for
`binding_ticket_ttl` seconds, for the client that asked (its audience). The person opens it in
the mini-program's web-view, logs in to Tongban there, confirms, and the identity is linked.

The ticket is bound to (client, platform, appid, openid): it can link exactly the identity the
platform vouched for, for exactly that client's mini-program, once (cf. CVE-2026-9087, where a
link proof keyed too loosely let another upstream account consume it).
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from .. import audit
from ..extensions import db
from ..models import BindingTicket, Person, PlatformIdentity
from .platforms import VerifiedPlatformUser

#: once opened, a ticket's browser has this long to log in and confirm
COMPLETE_WITHIN = timedelta(minutes=10)


def _hash(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


class LinkedAccountInactive(Exception):
    """The identity is linked to an account that is disabled."""


def linked_person(user: VerifiedPlatformUser, now: datetime) -> Person | None:
    """The person this platform identity is linked to, None if it is not linked; raises
    LinkedAccountInactive if that person may not sign in.

    A WeChat unionid is the same user across every app of one open-platform account, so a link
    made through one of them is recognised in the others (and recorded for this app too)."""
    link = db.session.scalar(select(PlatformIdentity).where(
        PlatformIdentity.platform == user.platform, PlatformIdentity.appid == user.appid,
        PlatformIdentity.openid == user.openid))
    if link is None and user.unionid:
        sibling = db.session.scalar(select(PlatformIdentity).where(
            PlatformIdentity.platform == user.platform,
            PlatformIdentity.unionid == user.unionid).order_by(PlatformIdentity.id))
        if sibling is not None:
            link = PlatformIdentity(person_id=sibling.person_id, platform=user.platform,
                                    appid=user.appid, openid=user.openid, unionid=user.unionid,
                                    client_id=sibling.client_id, linked_at=now)
            db.session.add(link)
            db.session.flush()
            audit.record("platform_identity.linked", person_id=sibling.person_id,
                         platform=user.platform, appid=user.appid, via="unionid")
    if link is None:
        return None
    person = db.session.get(Person, link.person_id)
    if person is None or not person.is_active:
        # Linked, but to an account that may not sign in: never offer to link it elsewhere.
        raise LinkedAccountInactive(f"person {link.person_id}")
    if link.unionid is None and user.unionid:
        link.unionid = user.unionid
    link.last_used_at = now
    return person


def issue_ticket(user: VerifiedPlatformUser, client_id: str, now: datetime, ttl: int) -> str:
    ticket = secrets.token_urlsafe(32)
    db.session.add(BindingTicket(
        ticket_hash=_hash(ticket), client_id=client_id, platform=user.platform,
        appid=user.appid, openid=user.openid, unionid=user.unionid, created_at=now,
        expires_at=now + timedelta(seconds=ttl)))
    audit.record("binding_ticket.issued", client_id=client_id, platform=user.platform,
                 appid=user.appid)
    return ticket


def open_ticket(ticket: str, client_id: str, browser_key: str, now: datetime
                ) -> BindingTicket | None:
    """The ticket this browser may complete: claimed now (first opening, within its lifetime,
    for its audience) or claimed earlier by this same browser and not finished."""
    if not ticket or len(ticket) > 64 or not client_id:
        return None
    ticket_hash, browser = _hash(ticket), _hash(browser_key)
    claimed = db.session.execute(
        update(BindingTicket)
        .where(BindingTicket.ticket_hash == ticket_hash, BindingTicket.client_id == client_id,
               BindingTicket.claimed_at.is_(None), BindingTicket.expires_at > now)
        .values(claimed_at=now, browser_hash=browser)
        .execution_options(synchronize_session=False))
    row = db.session.scalar(select(BindingTicket).where(BindingTicket.ticket_hash == ticket_hash))
    if claimed.rowcount == 1:
        audit.record("binding_ticket.claimed", client_id=client_id, platform=row.platform,
                     appid=row.appid)
        return row
    if (row is not None and row.client_id == client_id and row.completed_at is None
            and row.claimed_at is not None and row.browser_hash is not None
            and secrets.compare_digest(row.browser_hash, browser)
            and now < row.claimed_at + COMPLETE_WITHIN):
        return row
    audit.record("binding_ticket.refused", client_id=client_id,
                 reason="unknown" if row is None else "audience" if row.client_id != client_id
                 else "expired" if row.claimed_at is None else "replayed")
    return None


class AlreadyLinked(Exception):
    """This platform identity is linked to somebody (else) already."""


def complete(row: BindingTicket, person: Person, now: datetime) -> PlatformIdentity:
    """Link the ticket's identity to `person`; the ticket is spent whatever happens."""
    done = db.session.execute(
        update(BindingTicket)
        .where(BindingTicket.id == row.id, BindingTicket.completed_at.is_(None))
        .values(completed_at=now, person_id=person.id)
        .execution_options(synchronize_session=False))
    if done.rowcount != 1:
        raise AlreadyLinked("ticket already used")
    existing = db.session.scalar(select(PlatformIdentity).where(
        PlatformIdentity.platform == row.platform, PlatformIdentity.appid == row.appid,
        PlatformIdentity.openid == row.openid))
    if existing is not None:
        raise AlreadyLinked("identity already linked")
    link = PlatformIdentity(person_id=person.id, platform=row.platform, appid=row.appid,
                            openid=row.openid, unionid=row.unionid, client_id=row.client_id,
                            linked_at=now)
    db.session.add(link)
    try:
        db.session.flush()
    except IntegrityError as exc:  # a concurrent link of the same identity won
        raise AlreadyLinked("identity already linked") from exc
    audit.record("platform_identity.linked", person_id=person.id, client_id=row.client_id,
                 platform=row.platform, appid=row.appid, via="binding_ticket")
    return link


def decline(row: BindingTicket, person: Person | None, now: datetime) -> None:
    row.completed_at = now
    audit.record("binding_ticket.declined", person_id=person.id if person else None,
                 client_id=row.client_id, platform=row.platform, appid=row.appid)


def links_of(person_id: int) -> list[PlatformIdentity]:
    return list(db.session.scalars(select(PlatformIdentity).where(
        PlatformIdentity.person_id == person_id).order_by(PlatformIdentity.linked_at)))


def unlink(person_id: int, link_id: int, now: datetime) -> bool:
    """Remove one of `person_id`'s links (never anyone else's); True if it existed."""
    link = db.session.scalar(select(PlatformIdentity).where(
        PlatformIdentity.id == link_id, PlatformIdentity.person_id == person_id))
    if link is None:
        return False
    doomed = [link]
    if link.unionid:
        # The same platform account seen by sibling apps: unlinking one unlinks them all,
        # or the next exchange would re-link it through the unionid.
        doomed += [other for other in links_of(person_id)
                   if other.id != link.id and other.platform == link.platform
                   and other.unionid == link.unionid]
    for row in doomed:
        db.session.delete(row)
        audit.record("platform_identity.unlinked", person_id=person_id, client_id=row.client_id,
                     platform=row.platform, appid=row.appid)
    return True
