"""SQLAlchemy models, one module per aggregate. Importing this package registers every table."""

from .audit import AuditEvent
from .authorization import AuthorizationCode, Consent, Interaction
from .client import Client
from .device_authorization import DeviceAuthorization
from .identity import IdentityDocument
from .person import Person
from .platform_identity import BindingTicket, PlatformIdentity
from .qr_login import QrLogin
from .role import ROLES, PersonRole
from .session import SessionClient, SsoSession
from .token import AccessToken, RefreshToken

__all__ = [
    "AccessToken",
    "AuditEvent",
    "AuthorizationCode",
    "BindingTicket",
    "Client",
    "Consent",
    "DeviceAuthorization",
    "IdentityDocument",
    "Interaction",
    "Person",
    "PersonRole",
    "PlatformIdentity",
    "QrLogin",
    "ROLES",
    "RefreshToken",
    "SessionClient",
    "SsoSession",
]
