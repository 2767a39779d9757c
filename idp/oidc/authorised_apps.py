"""The relying parties that hold something of a person: a remembered consent, a live token, or
a place in one of the person's live sessions; what data each receives; and the person's
withdrawal, which ends all of it for that client.

Consent is not tied to a session. What a session grants ends with it (its access tokens and its
refresh tokens, see revocation.py; offline_access tokens excepted, as the person asked); a
consent is the person's standing decision about a client (PIPL art. 14: given freely, withdrawn
as easily), kept across logins so they are not asked again every time, and it ends only when
the person withdraws it here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select, update

from .. import audit
from ..extensions import db
from ..models import (
    AccessToken,
    Client,
    Consent,
    Person,
    RefreshToken,
    SessionClient,
    SsoSession,
)
from . import backchannel
from .claims import SCOPE_CLAIMS


@dataclass
class AuthorisedApp:
    client: Client
    scopes: set[str] = field(default_factory=set)
    claims: set[str] = field(default_factory=set)
    consented_at: datetime | None = None
    #: live sessions of the person this client joined
    sessions: int = 0
    #: refresh tokens that keep it connected without the person (offline_access)
    offline: bool = False


def apps_of(person: Person, now: datetime) -> list[AuthorisedApp]:
    found: dict[int, AuthorisedApp] = {}

    def app_for(client: Client) -> AuthorisedApp:
        return found.setdefault(client.id, AuthorisedApp(client=client))

    for consent in db.session.scalars(select(Consent).where(
            Consent.person_id == person.id, Consent.revoked_at.is_(None))):
        item = app_for(db.session.get(Client, consent.client_id))
        item.scopes |= set(consent.scopes or [])
        item.claims |= set(consent.claims or [])
        item.consented_at = consent.granted_at
    for token in db.session.scalars(select(RefreshToken).where(
            RefreshToken.person_id == person.id, RefreshToken.revoked_at.is_(None),
            RefreshToken.rotated_at.is_(None), RefreshToken.expires_at > now,
            RefreshToken.family_expires_at > now)):
        item = app_for(db.session.get(Client, token.client_id))
        item.scopes |= set(token.scope.split())
        item.offline = item.offline or "offline_access" in token.scope.split()
    for token in db.session.scalars(select(AccessToken).where(
            AccessToken.person_id == person.id, AccessToken.revoked_at.is_(None),
            AccessToken.expires_at > now)):
        app_for(db.session.get(Client, token.client_id)).scopes |= set(token.scope.split())
    for joined in db.session.scalars(
            select(SessionClient).join(SsoSession, SsoSession.id == SessionClient.session_id)
            .where(SsoSession.person_id == person.id, SsoSession.ended_at.is_(None),
                   SsoSession.expires_at > now)):
        app_for(joined.client).sessions += 1
    for item in found.values():
        item.claims |= {c for s in item.scopes for c in SCOPE_CLAIMS.get(s, ())}
    return sorted(found.values(), key=lambda a: a.client.name)


def withdraw(person: Person, client: Client, now: datetime) -> None:
    """The person takes back what `client` was given: consent, every token (offline ones too),
    and its place in the person's sessions, which it is told to end by back-channel logout."""
    db.session.execute(update(Consent).where(
        Consent.person_id == person.id, Consent.client_id == client.id,
        Consent.revoked_at.is_(None)).values(revoked_at=now)
        .execution_options(synchronize_session=False))
    for model in (AccessToken, RefreshToken):
        db.session.execute(update(model).where(
            model.person_id == person.id, model.client_id == client.id,
            model.revoked_at.is_(None)).values(revoked_at=now)
            .execution_options(synchronize_session=False))
    joined = db.session.scalars(
        select(SessionClient).join(SsoSession, SsoSession.id == SessionClient.session_id)
        .where(SsoSession.person_id == person.id, SsoSession.ended_at.is_(None),
               SessionClient.client_id == client.id)).all()
    for row in joined:
        if client.backchannel_logout_uri:
            backchannel.enqueue(client, row.session, "consent_withdrawn", now)
        db.session.delete(row)
    audit.record("consent.withdrawn", person_id=person.id, client_id=client.client_id,
                 sessions=len(joined))
