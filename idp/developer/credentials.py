"""A client's credentials after registration: secret rotation with an overlap window, and the
keys of private_key_jwt clients.

Rotating a secret shows the new one once. The old one keeps working until the overlap ends, so a
portal running on several servers can be switched over without an outage; a rotation during an
overlap ends the older secret at once (at most two secrets are ever valid).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from .. import audit
from ..errors import UserError
from ..models import Client
from .clients import SECRET_METHODS, new_client_secret

#: overlap choices the portal offers, in seconds
OVERLAPS = (0, 3600, 24 * 3600, 7 * 24 * 3600)
MAX_OVERLAP = 30 * 24 * 3600


class CannotRotate(UserError):
    public = "This client does not use a client secret."


def rotate_secret(client: Client, *, overlap: int, person_id: int | None, now: datetime) -> str:
    if client.token_endpoint_auth_method not in SECRET_METHODS:
        raise CannotRotate()
    overlap = max(0, min(int(overlap), MAX_OVERLAP))
    secret = new_client_secret()
    if overlap and client.secret_hash:
        client.previous_secret_hash = client.secret_hash
        client.previous_secret_expires_at = now + timedelta(seconds=overlap)
    else:
        client.previous_secret_hash = None
        client.previous_secret_expires_at = None
    client.set_secret(secret)
    client.updated_at = now
    audit.record("client.secret_rotated", person_id=person_id, client_id=client.client_id,
                 overlap=overlap)
    return secret


def end_overlap(client: Client, *, person_id: int | None, now: datetime) -> None:
    """Stop accepting the previous secret now (e.g. once every server has the new one)."""
    if client.previous_secret_hash:
        client.previous_secret_hash = None
        client.previous_secret_expires_at = None
        client.updated_at = now
        audit.record("client.secret_overlap_ended", person_id=person_id,
                     client_id=client.client_id)
