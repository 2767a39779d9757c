"""The separate consent (PIPL art. 29 单独同意) a person gives one client to receive their full
legal name and full document number. Only clients an operator approved may ask
(Client.may_receive_full_identity: an operator's flag or an approved registration that
asked for these sensitive claims); only an active grant releases the full values; the person can
withdraw it at any time from their account page. Every decision is audited."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from .. import audit
from ..extensions import db
from ..models import Client, DisclosureConsent

DECISIONS = ("granted", "declined", "withdrawn")


def consent_of(person_id: int, client_id: int) -> DisclosureConsent | None:
    return db.session.scalar(select(DisclosureConsent).where(
        DisclosureConsent.person_id == person_id, DisclosureConsent.client_id == client_id))


def releases_full(person_id: int, client: Client) -> bool:
    if not client.may_receive_full_identity:
        return False
    consent = consent_of(person_id, client.id)
    return consent is not None and consent.active


def undecided(person_id: int, client: Client) -> bool:
    """Whether the person should be asked: the client may receive full values and the person has
    not decided (a withdrawal counts as undecided: the next request asks again)."""
    if not client.may_receive_full_identity:
        return False
    consent = consent_of(person_id, client.id)
    return consent is None or consent.state == "withdrawn"


def decide(person_id: int, client: Client, decision: str, now: datetime) -> DisclosureConsent:
    if decision not in DECISIONS:
        raise ValueError(decision)
    if decision == "granted" and not client.may_receive_full_identity:
        raise PermissionError("client not approved for full identity data")
    consent = consent_of(person_id, client.id)
    if consent is None:
        consent = DisclosureConsent(person_id=person_id, client_id=client.id)
        db.session.add(consent)
    consent.state = decision
    consent.decided_at = now
    audit.record(f"disclosure.{decision}", person_id=person_id, client_id=client.client_id)
    return consent


def consents_of(person_id: int) -> list[tuple[DisclosureConsent, Client]]:
    rows = db.session.execute(select(DisclosureConsent, Client).join(
        Client, Client.id == DisclosureConsent.client_id).where(
        DisclosureConsent.person_id == person_id).order_by(DisclosureConsent.id))
    return [(consent, client) for consent, client in rows]
