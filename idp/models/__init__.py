"""SQLAlchemy models, one module per aggregate. Importing this package registers every table."""

from .audit import AuditEvent
from .authorization import AuthorizationCode, Consent, Interaction
from .client import Client
from .identity import IdentityDocument
from .person import Person
from .role import ROLES, PersonRole
from .session import SessionClient, SsoSession
from .token import AccessToken, RefreshToken

__all__ = [
    "AccessToken",
    "AuditEvent",
    "AuthorizationCode",
    "Client",
    "Consent",
    "IdentityDocument",
    "Interaction",
    "Person",
    "PersonRole",
    "ROLES",
    "RefreshToken",
    "SessionClient",
    "SsoSession",
]
