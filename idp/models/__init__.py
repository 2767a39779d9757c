"""SQLAlchemy models, one module per aggregate. Importing this package registers every table."""

from .audit import AuditArchive, AuditEvent
from .authorization import AuthorizationCode, Consent, Interaction
from .client import Client
from .device_authorization import DeviceAuthorization
from .directory import (
    DirectoryAccount,
    DirectoryHealth,
    DirectoryLinkReview,
    DirectorySession,
)
from .identity import IdentityDocument
from .client_assertion import UsedClientAssertion
from .organisation import Invitation, Membership, Organisation
from .factor import RecoveryCode, TotpFactor, WebAuthnChallenge, WebAuthnCredential
from .logout_delivery import LogoutDelivery
from .person import Person
from .registration import ClientRequest, InitialAccessToken
from .platform_identity import BindingTicket, PlatformIdentity
from .qr_login import QrLogin
from .role import ROLES, PersonRole
from .session import SessionClient, SsoSession
from .throttle import ThrottleCounter
from .token import AccessToken, RefreshToken
from .verification import DisclosureConsent, VerificationEvidence

__all__ = [
    "ROLES",
    "AccessToken",
    "AuditArchive",
    "AuditEvent",
    "AuthorizationCode",
    "BindingTicket",
    "Client",
    "ClientRequest",
    "Consent",
    "DeviceAuthorization",
    "DirectoryAccount",
    "DirectoryHealth",
    "DirectoryLinkReview",
    "DirectorySession",
    "DisclosureConsent",
    "IdentityDocument",
    "InitialAccessToken",
    "Interaction",
    "Invitation",
    "Membership",
    "Organisation",
    "LogoutDelivery",
    "Person",
    "PersonRole",
    "PlatformIdentity",
    "QrLogin",
    "ROLES",
    "RecoveryCode",
    "RefreshToken",
    "SessionClient",
    "SsoSession",
    "UsedClientAssertion",
    "ThrottleCounter",
    "TotpFactor",
    "WebAuthnChallenge",
    "WebAuthnCredential",
    "VerificationEvidence",
]
