"""SQLAlchemy models, one module per aggregate. Importing this package registers every table."""

from .audit import AuditEvent
from .authorization import AuthorizationCode, Consent, Interaction
from .client import Client
from .factor import RecoveryCode, TotpFactor, WebAuthnChallenge, WebAuthnCredential
from .person import Person
from .role import ROLES, PersonRole
from .session import SessionClient, SsoSession
from .throttle import ThrottleCounter
from .token import AccessToken, RefreshToken

__all__ = [
    "AccessToken",
    "AuditEvent",
    "AuthorizationCode",
    "Client",
    "Consent",
    "Interaction",
    "Person",
    "PersonRole",
    "ROLES",
    "RecoveryCode",
    "RefreshToken",
    "SessionClient",
    "SsoSession",
    "ThrottleCounter",
    "TotpFactor",
    "WebAuthnChallenge",
    "WebAuthnCredential",
]
