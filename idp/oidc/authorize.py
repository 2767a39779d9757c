"""What the authorization endpoint must do next for a validated request: ask the person to log
in, ask for consent, or issue the code. OIDC Core §3.1.2.3–§3.1.2.4: `prompt`, `max_age` and
`id_token_hint` (Authlib leaves `max_age` and `id_token_hint` to us); `acr_values` and the
client's `min_acr`, met by stepping the session up (asking only for the missing factor)."""

from __future__ import annotations

import enum
from datetime import datetime, timedelta

from authlib.oauth2.rfc6749 import AccessDeniedError
from authlib.oidc.core.errors import (
    ConsentRequiredError,
    InteractionRequiredError,
    LoginRequiredError,
)
from sqlalchemy import select

from ..authn import assurance
from ..extensions import db
from ..models import Consent, Interaction, SsoSession
from . import claims as claims_mod
from . import realname


class Next(enum.Enum):
    LOGIN = "login"
    #: the session is too weak for this request: ask only for the missing factor
    STEP_UP = "step_up"
    #: the person has not reached the real-name level this request needs
    VERIFY = "verify"
    CONSENT = "consent"
    ISSUE = "issue"


def prompts_of(data) -> set[str]:
    return set((data.get("prompt") or "").split())


def consent_needed_for(grant) -> tuple[set[str], set[str]]:
    scope = grant.request.scope or ""
    return set(scope.split()), claims_mod.consented_claim_names(scope, grant.claims_request)


def sandbox_admits(client, session: SsoSession) -> bool:
    """Sandbox clients have not been approved: they meet test accounts only."""
    return client.environment != "sandbox" or session.person.is_test_account


def required_acr(grant) -> str | None:
    """The level a code for this request needs: the request's and the client's, whichever is
    higher."""
    return assurance.highest(getattr(grant, "requested_acr", None),
                             grant.request.client.min_acr)


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
    if not sandbox_admits(grant.request.client, session):
        if silent or not fresh:
            return must_log_in()
        # Logged in just now, and still not with a test account: say so, and never redirect
        # to a sandbox client's unvetted redirect URI.
        raise AccessDeniedError("This application is in testing: only test accounts can "
                                "sign in to it.")
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

    if not assurance.meets(session.acr, required_acr(grant)):
        if silent:
            raise LoginRequiredError(redirect_uri=grant.redirect_uri, state=data.get("state"))
        return Next.STEP_UP

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
    if realname.verification_step(grant, session.person_id, silent=silent) is None:
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
