"""What the authorization endpoint must do next for a validated request: ask the person to log
in, ask for consent, or issue the code. OIDC Core §3.1.2.3–§3.1.2.4: `prompt`, `max_age` and
`id_token_hint` (Authlib leaves `max_age` and `id_token_hint` to us)."""

from __future__ import annotations

import enum
from datetime import datetime, timedelta

from authlib.oidc.core.errors import (
    ConsentRequiredError,
    InteractionRequiredError,
    LoginRequiredError,
)
from sqlalchemy import select

from ..extensions import db
from ..models import Consent, Interaction, SsoSession
from . import assurance
from . import claims as claims_mod


class Next(enum.Enum):
    LOGIN = "login"
    VERIFY = "verify"
    CONSENT = "consent"
    ISSUE = "issue"


def prompts_of(data) -> set[str]:
    return set((data.get("prompt") or "").split())


def consent_needed_for(grant) -> tuple[set[str], set[str]]:
    scope = grant.request.scope or ""
    return set(scope.split()), claims_mod.consented_claim_names(scope, grant.claims_request)


def decide(grant, session: SsoSession | None, interaction: Interaction | None, now: datetime,
           pairwise_key: bytes) -> Next:
    data = grant.request.payload.data
    prompts = prompts_of(data)
    silent = "none" in prompts

    def must_log_in() -> Next:
        if silent:
            raise LoginRequiredError(redirect_uri=grant.redirect_uri, state=data.get("state"))
        return Next.LOGIN

    if session is None:
        return must_log_in()
    # A login that happened after this request arrived satisfies prompt=login and max_age.
    fresh = interaction is not None and session.auth_time >= interaction.created_at
    if not fresh:
        if prompts & {"login", "select_account"}:
            return Next.LOGIN
        max_age = data.get("max_age")
        if max_age is not None and now - session.auth_time > timedelta(seconds=int(max_age)):
            return must_log_in()
        client = grant.request.client
        hinted = getattr(grant, "hinted_subject", None)
        if hinted and hinted != claims_mod.subject_for(session.person, client, pairwise_key):
            return must_log_in()

    if needs_verification(grant, session, silent):
        return Next.VERIFY
    client = grant.request.client
    consented_here = interaction is not None and interaction.consent_at is not None
    if "consent" in prompts and not consented_here:
        return Next.CONSENT
    if client.first_party or consented_here:
        return Next.ISSUE
    scopes, claim_names = consent_needed_for(grant)
    consent = db.session.scalar(select(Consent).where(Consent.person_id == session.person_id,
                                                      Consent.client_id == client.id))
    if consent is not None and consent.covers(scopes, claim_names):
        return Next.ISSUE
    if silent:
        raise ConsentRequiredError(redirect_uri=grant.redirect_uri, state=data.get("state"))
    return Next.CONSENT


def needs_verification(grant, session: SsoSession, silent: bool) -> bool:
    """Whether the person must reach a real-name level (or answer a disclosure question) first;
    with prompt=none that is interaction_required (OIDC Core §3.1.2.6)."""
    if assurance.verification_step(grant, session.person_id, silent=silent) is None:
        return False
    if silent:
        raise InteractionRequiredError(redirect_uri=grant.redirect_uri,
                                       state=grant.request.payload.data.get("state"))
    return True


def record_consent(person_id: int, client_id: int, scopes: set[str], claim_names: set[str],
                   now: datetime) -> Consent:
    consent = db.session.scalar(select(Consent).where(Consent.person_id == person_id,
                                                      Consent.client_id == client_id))
    if consent is None:
        consent = Consent(person_id=person_id, client_id=client_id, scopes=[], claims=[],
                          granted_at=now)
        db.session.add(consent)
    if consent.revoked_at is not None:
        consent.scopes, consent.claims, consent.revoked_at = [], [], None
    consent.scopes = sorted(set(consent.scopes) | scopes)
    consent.claims = sorted(set(consent.claims) | claim_names)
    consent.granted_at = now
    return consent
