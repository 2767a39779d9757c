"""SQLAlchemy models, one module per aggregate. Importing this package registers every table."""

from .audit import AuditArchive, AuditEvent
from .authorization import AuthorizationCode, Consent, Interaction
from .client import Client
from .client_assertion import UsedClientAssertion
from .device_authorization import DeviceAuthorization
from .directory import (
    DirectoryAccount,
    DirectoryHealth,
    DirectoryLinkReview,
    DirectorySession,
)
from .factor import RecoveryCode, TotpFactor, WebAuthnChallenge, WebAuthnCredential
from .identity import IdentityDocument
from .logout_delivery import LogoutDelivery
from .organisation import Invitation, Membership, Organisation
from .person import Person
from .platform_identity import BindingTicket, PlatformIdentity
from .qr_login import QrLogin
from .registration import ClientRequest, InitialAccessToken
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
    "LogoutDelivery",
    "Membership",
    "Organisation",
    "Person",
    "PersonRole",
    "PlatformIdentity",
    "QrLogin",
    "RecoveryCode",
    "RefreshToken",
    "SessionClient",
    "SsoSession",
    "ThrottleCounter",
    "TotpFactor",
    "UsedClientAssertion",
    "VerificationEvidence",
    "WebAuthnChallenge",
    "WebAuthnCredential",
]
