"""SQLAlchemy models, one module per aggregate. Importing this package registers every table."""

from .audit import AuditEvent
from .authorization import AuthorizationCode, Consent, Interaction
from .client import Client
from .identity import IdentityDocument
from .person import Person
from .role import ROLES, PersonRole
from .session import SessionClient, SsoSession
from .token import AccessToken, RefreshToken
from .verification import DisclosureConsent, VerificationEvidence

__all__ = [
    "ROLES",
    "AccessToken",
    "AuditEvent",
    "AuthorizationCode",
    "Client",
    "Consent",
    "DisclosureConsent",
    "IdentityDocument",
    "Interaction",
    "Person",
    "PersonRole",
    "RefreshToken",
    "SessionClient",
    "SsoSession",
    "VerificationEvidence",
]
