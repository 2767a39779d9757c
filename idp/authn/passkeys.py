"""Passkeys and security keys (W3C WebAuthn, via py_webauthn).

* RP ID and origin come from the issuer setting, never from the request (settings.py).
* Every ceremony's challenge is created and kept server-side, bound to one browser and one
  purpose, expires after two minutes and is consumed by one conditional UPDATE before the
  response is believed: a challenge is good for exactly one ceremony.
* Registration asks for a discoverable credential and user verification, so the same passkey
  can later log in alone; several named credentials per person, each with its last use.
* Authentication checks the signature, the user handle (for discoverable logins), user
  verification (passkey-only login) and the sign counter, which only ever rises.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
from collections.abc import Mapping
from datetime import datetime, timedelta

import webauthn
from sqlalchemy import select, update
from webauthn.helpers import base64url_to_bytes, bytes_to_base64url
from webauthn.helpers.exceptions import WebAuthnException
from webauthn.helpers.structs import (
    AuthenticatorSelectionCriteria,
    AuthenticatorTransport,
    CredentialDeviceType,
    PublicKeyCredentialDescriptor,
    ResidentKeyRequirement,
    UserVerificationRequirement,
)

from .. import audit
from ..errors import UserError
from ..extensions import db
from ..models import Person, WebAuthnChallenge, WebAuthnCredential
from ..settings import Settings
from . import secretbox

CHALLENGE_TTL = 120
MAX_PER_PERSON = 20
NAME_MAX = 64
PURPOSES = ("register", "login", "second_factor")


class PasskeyError(UserError):
    """Any failed ceremony; the person sees one message, the log the reason."""

    public = "The passkey could not be verified. Please try again."


def _hash(value: bytes | str) -> str:
    if isinstance(value, str):
        value = value.encode()
    return hashlib.sha256(value).hexdigest()


# --- challenges ----------------------------------------------------------------------------------

def _new_challenge(purpose: str, *, person_id: int | None, browser_key: str,
                   now: datetime) -> bytes:
    challenge = secrets.token_bytes(32)
    db.session.add(WebAuthnChallenge(
        challenge_hash=_hash(challenge), purpose=purpose, person_id=person_id,
        browser_hash=_hash(browser_key), created_at=now,
        expires_at=now + timedelta(seconds=CHALLENGE_TTL)))
    return challenge


def _client_challenge(credential: Mapping) -> bytes:
    try:
        raw = base64url_to_bytes(credential["response"]["clientDataJSON"])
        return base64url_to_bytes(json.loads(raw)["challenge"])
    except (KeyError, TypeError, ValueError) as exc:
        raise PasskeyError(detail="malformed clientDataJSON") from exc


def _consume_challenge(credential: Mapping, purpose: str, *, person_id: int | None,
                       browser_key: str, now: datetime) -> bytes:
    """The challenge the response answers, if it is ours, live, unused, for this purpose, this
    browser (and this person); marks it used in the same statement."""
    challenge = _client_challenge(credential)
    conditions = [WebAuthnChallenge.challenge_hash == _hash(challenge),
                  WebAuthnChallenge.purpose == purpose,
                  WebAuthnChallenge.browser_hash == _hash(browser_key),
                  WebAuthnChallenge.used_at.is_(None),
                  WebAuthnChallenge.expires_at > now]
    if person_id is not None:
        conditions.append(WebAuthnChallenge.person_id == person_id)
    claimed = db.session.execute(update(WebAuthnChallenge).where(*conditions)
                                 .values(used_at=now).execution_options(synchronize_session=False))
    if claimed.rowcount != 1:
        raise PasskeyError(detail=f"challenge not usable for {purpose}")
    return challenge


# --- credentials ---------------------------------------------------------------------------------

def credentials_of(person_id: int) -> list[WebAuthnCredential]:
    return list(db.session.scalars(select(WebAuthnCredential).where(
        WebAuthnCredential.person_id == person_id).order_by(WebAuthnCredential.created_at)))


def _descriptors(creds: list[WebAuthnCredential]) -> list[PublicKeyCredentialDescriptor]:
    out = []
    for cred in creds:
        transports = []
        for t in cred.transports or []:
            try:
                transports.append(AuthenticatorTransport(t))
            except ValueError:
                continue
        out.append(PublicKeyCredentialDescriptor(id=base64url_to_bytes(cred.credential_id),
                                                 transports=transports or None))
    return out


def _user_handle(person_id: int, existing: list[WebAuthnCredential], settings: Settings) -> str:
    # One opaque handle per person, shared by all of their credentials: a keyed hash, so it says
    # nothing about them and the options and the registration agree on it without storing it.
    if existing:
        return existing[0].user_handle
    digest = secretbox.keyed_hash(settings, "webauthn-user", str(person_id))
    return bytes_to_base64url(bytes.fromhex(digest))


def registration_options(person: Person, *, settings: Settings, browser_key: str,
                         now: datetime) -> dict:
    existing = credentials_of(person.id)
    challenge = _new_challenge("register", person_id=person.id, browser_key=browser_key, now=now)
    options = webauthn.generate_registration_options(
        rp_id=settings.webauthn_rp_id, rp_name=settings.site_name,
        user_id=base64url_to_bytes(_user_handle(person.id, existing, settings)),
        user_name=person.username or person.email or person.phone or person.sub,
        user_display_name=person.display_name or person.username or "",
        challenge=challenge, timeout=CHALLENGE_TTL * 1000,
        authenticator_selection=AuthenticatorSelectionCriteria(
            resident_key=ResidentKeyRequirement.REQUIRED,
            user_verification=UserVerificationRequirement.REQUIRED),
        exclude_credentials=_descriptors(existing))
    return json.loads(webauthn.options_to_json(options))


def clean_name(name: str | None, fallback: str) -> str:
    name = " ".join((name or "").split())[:NAME_MAX]
    return name or fallback


def register(person: Person, credential: Mapping, name: str | None, *, settings: Settings,
             browser_key: str, now: datetime) -> WebAuthnCredential:
    existing = credentials_of(person.id)
    if len(existing) >= MAX_PER_PERSON:
        raise PasskeyError("You have registered the maximum number of passkeys.",
                           detail="too many credentials")
    challenge = _consume_challenge(credential, "register", person_id=person.id,
                                   browser_key=browser_key, now=now)
    try:
        verified = webauthn.verify_registration_response(
            credential=dict(credential), expected_challenge=challenge,
            expected_rp_id=settings.webauthn_rp_id, expected_origin=settings.webauthn_origin,
            require_user_verification=True)
    except (WebAuthnException, ValueError, KeyError, TypeError) as exc:
        raise PasskeyError(detail=f"registration: {exc}") from exc
    credential_id = bytes_to_base64url(verified.credential_id)
    if db.session.scalar(select(WebAuthnCredential.id).where(
            WebAuthnCredential.credential_id == credential_id)):
        raise PasskeyError(detail="credential already registered")
    transports = credential.get("response", {}).get("transports") or []
    row = WebAuthnCredential(
        person_id=person.id, credential_id=credential_id,
        public_key=verified.credential_public_key, sign_count=verified.sign_count,
        user_handle=_user_handle(person.id, existing, settings),
        name=clean_name(name, f"Passkey {len(existing) + 1}"),
        transports=[str(t) for t in transports if isinstance(t, str)][:8],
        aaguid=verified.aaguid,
        backup_eligible=verified.credential_device_type == CredentialDeviceType.MULTI_DEVICE,
        created_at=now)
    db.session.add(row)
    db.session.flush()
    audit.record("passkey.registered", person_id=person.id, credential=row.id)
    return row


# --- authentication ------------------------------------------------------------------------------

def authentication_options(*, settings: Settings, browser_key: str, now: datetime,
                           person_id: int | None = None) -> dict:
    """Options for a passkey-only login (`person_id` None: discoverable, user verification
    required) or for a passkey as the second factor of `person_id`."""
    purpose = "login" if person_id is None else "second_factor"
    challenge = _new_challenge(purpose, person_id=person_id, browser_key=browser_key, now=now)
    options = webauthn.generate_authentication_options(
        rp_id=settings.webauthn_rp_id, challenge=challenge, timeout=CHALLENGE_TTL * 1000,
        allow_credentials=_descriptors(credentials_of(person_id)) if person_id else [],
        user_verification=(UserVerificationRequirement.REQUIRED if person_id is None
                           else UserVerificationRequirement.PREFERRED))
    return json.loads(webauthn.options_to_json(options))


def credential_for(credential: Mapping) -> WebAuthnCredential | None:
    """The stored credential a response names (before verifying anything)."""
    raw_id = credential.get("id") if isinstance(credential, Mapping) else None
    if not isinstance(raw_id, str) or len(raw_id) > 1400:
        return None
    return db.session.scalar(select(WebAuthnCredential).where(
        WebAuthnCredential.credential_id == raw_id))


def authenticate(credential: Mapping, *, settings: Settings, browser_key: str, now: datetime,
                 person_id: int | None = None) -> tuple[WebAuthnCredential, bool]:
    """Verify an assertion; returns the credential and whether the user was verified.

    Passkey-only login (`person_id` None) requires a discoverable credential whose user handle
    matches and user verification; as a second factor the credential must be the person's.
    """
    purpose = "login" if person_id is None else "second_factor"
    challenge = _consume_challenge(credential, purpose, person_id=person_id,
                                   browser_key=browser_key, now=now)
    stored = credential_for(credential)
    if stored is None or (person_id is not None and stored.person_id != person_id):
        raise PasskeyError(detail="unknown credential")
    if person_id is None:
        handle = (credential.get("response") or {}).get("userHandle")
        if not isinstance(handle, str) or not secrets.compare_digest(
                _b64_canonical(handle), _b64_canonical(stored.user_handle)):
            raise PasskeyError(detail="user handle does not match the credential")
    try:
        verified = webauthn.verify_authentication_response(
            credential=dict(credential), expected_challenge=challenge,
            expected_rp_id=settings.webauthn_rp_id, expected_origin=settings.webauthn_origin,
            credential_public_key=stored.public_key,
            credential_current_sign_count=stored.sign_count,
            require_user_verification=person_id is None)
    except (WebAuthnException, ValueError, KeyError, TypeError) as exc:
        raise PasskeyError(detail=f"assertion: {exc}") from exc
    # The counter only rises (a copy of the authenticator would fall behind); authenticators
    # that do not count report 0 every time.
    new_count = verified.new_sign_count
    moved = db.session.execute(
        update(WebAuthnCredential)
        .where(WebAuthnCredential.id == stored.id,
               (WebAuthnCredential.sign_count < new_count)
               | ((WebAuthnCredential.sign_count == 0) & (new_count == 0)))
        .values(sign_count=new_count, last_used_at=now)
        .execution_options(synchronize_session=False))
    if moved.rowcount != 1:
        raise PasskeyError(detail="sign counter did not increase")
    db.session.refresh(stored)
    return stored, bool(verified.user_verified)


def _b64_canonical(value: str) -> str:
    try:
        return base64.urlsafe_b64encode(base64url_to_bytes(value)).decode()
    except ValueError:
        return ""


# --- management ----------------------------------------------------------------------------------

def rename(person_id: int, credential_row_id: int, name: str) -> WebAuthnCredential | None:
    row = db.session.get(WebAuthnCredential, credential_row_id)
    if row is None or row.person_id != person_id:
        return None
    row.name = clean_name(name, row.name)
    audit.record("passkey.renamed", person_id=person_id, credential=row.id)
    return row


def remove(person_id: int, credential_row_id: int) -> bool:
    row = db.session.get(WebAuthnCredential, credential_row_id)
    if row is None or row.person_id != person_id:
        return False
    db.session.delete(row)
    audit.record("passkey.removed", person_id=person_id, credential=row.id)
    return True
