"""Keeping issued tokens out of the logs (STYLE rule 10).

Authlib's grants log every token response they issue at DEBUG ("Issue token {...} to <client>"),
access, refresh and ID tokens in full. An operator who turns on DEBUG to chase a problem must not
thereby write live credentials to disk, so those records are dropped at the source loggers.
"""

from __future__ import annotations

import logging

#: Authlib modules that log whole token responses.
ISSUING_LOGGERS = (
    "authlib.oauth2.rfc6749.grants.authorization_code",
    "authlib.oauth2.rfc6749.grants.refresh_token",
    "authlib.oauth2.rfc6749.grants.client_credentials",
    "authlib.oauth2.rfc6749.grants.implicit",
    "authlib.oauth2.rfc6749.grants.resource_owner_password_credentials",
    "authlib.oauth2.rfc7523.jwt_bearer",
    "authlib.oauth2.rfc8628.device_code",
    "authlib.oauth2.drafts.id_jag",
    "authlib.oidc.core.grants.implicit",
)


class DropTokenRecords(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith(("Issue token", "Grant token"))


def install() -> None:
    """Attach the filter once per logger (create_app may run many times in one process)."""
    for name in ISSUING_LOGGERS:
        logger = logging.getLogger(name)
        if not any(isinstance(f, DropTokenRecords) for f in logger.filters):
            logger.addFilter(DropTokenRecords())
