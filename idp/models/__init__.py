"""SQLAlchemy models, one module per aggregate. Importing this package registers every table."""

from .audit import AuditEvent
from .authorization import AuthorizationCode, Consent, Interaction
from .client import Client
from .directory import (
    DirectoryAccount,
    DirectoryHealth,
    DirectoryLinkReview,
    DirectoryLoginFailure,
    DirectorySession,
)
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
    "DirectoryAccount",
    "DirectoryHealth",
    "DirectoryLinkReview",
    "DirectoryLoginFailure",
    "DirectorySession",
    "IdentityDocument",
    "Interaction",
    "Person",
    "PersonRole",
    "ROLES",
    "RefreshToken",
    "SessionClient",
    "SsoSession",
]
