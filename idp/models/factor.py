"""A person's additional authenticators: a TOTP app, passkeys (WebAuthn credentials), recovery
codes, and the server-side WebAuthn challenges that tie each ceremony to one browser."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, BigInteger, Boolean, DateTime, ForeignKey, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db


class TotpFactor(db.Model):
    """One authenticator app per person (RFC 6238). A row with `confirmed_at` unset is an
    enrolment waiting for its first code."""

    __tablename__ = "totp_factor"

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"),
                                           unique=True)
    #: the base32 secret, AES-256-GCM encrypted (see authn/secretbox.py); never stored plain
    secret_encrypted: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime)
    confirmed_at: Mapped[datetime | None] = mapped_column(DateTime)
    #: the newest time step accepted; a code of this step or an older one is refused, and the
    #: conditional UPDATE that raises it is what makes each code single-use
    last_step: Mapped[int | None] = mapped_column(BigInteger)
    last_used_at: Mapped[datetime | None] = mapped_column(DateTime)


class WebAuthnCredential(db.Model):
    """A passkey or security key registered by a person (W3C WebAuthn Level 3)."""

    __tablename__ = "webauthn_credential"

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"),
                                           index=True)
    #: base64url credential id as the authenticator reports it
    credential_id: Mapped[str] = mapped_column(String(1400), unique=True)
    public_key: Mapped[bytes] = mapped_column(LargeBinary)
    sign_count: Mapped[int] = mapped_column(BigInteger, default=0)
    #: the WebAuthn user.id the credential was created for (random, the same for all of a
    #: person's credentials); checked against userHandle in discoverable logins
    user_handle: Mapped[str] = mapped_column(String(128))
    name: Mapped[str] = mapped_column(String(64))
    transports: Mapped[list] = mapped_column(JSON, default=list)
    aaguid: Mapped[str | None] = mapped_column(String(36))
    #: backup eligible (a synced passkey): reported as `swk`, a device-bound one as `hwk`
    backup_eligible: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(DateTime)
    last_used_at: Mapped[datetime | None] = mapped_column(DateTime)


class WebAuthnChallenge(db.Model):
    """A challenge handed to one browser for one ceremony; consumed atomically, once."""

    __tablename__ = "webauthn_challenge"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: SHA-256 of the challenge bytes
    challenge_hash: Mapped[str] = mapped_column(String(64), unique=True)
    #: "register", "login" (passkey alone) or "second_factor"
    purpose: Mapped[str] = mapped_column(String(16))
    person_id: Mapped[int | None] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"))
    browser_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime)
    expires_at: Mapped[datetime] = mapped_column(DateTime, index=True)
    used_at: Mapped[datetime | None] = mapped_column(DateTime)


class RecoveryCode(db.Model):
    """One of ten single-use codes a person keeps on paper; stored as a keyed hash."""

    __tablename__ = "recovery_code"

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"),
                                           index=True)
    code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime)
    used_at: Mapped[datetime | None] = mapped_column(DateTime)
