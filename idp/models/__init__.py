"""SQLAlchemy models, one module per aggregate. Importing this package registers every table."""

from .audit import AuditArchive, AuditEvent
from .authorization import AuthorizationCode, Consent, Interaction
from .client import Client
from .logout_delivery import LogoutDelivery
from .person import Person
from .role import ROLES, PersonRole
from .session import SessionClient, SsoSession
from .token import AccessToken, RefreshToken

__all__ = [
    "AccessToken",
    "AuditArchive",
    "AuditEvent",
    "AuthorizationCode",
    "Client",
    "Consent",
    "Interaction",
    "LogoutDelivery",
    "Person",
    "PersonRole",
    "ROLES",
    "RefreshToken",
    "SessionClient",
    "SsoSession",
]
