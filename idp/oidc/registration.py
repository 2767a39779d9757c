"""Dynamic Client Registration (RFC 7591) and its management protocol (RFC 7592), as Authlib
endpoint subclasses.

* Registering needs an initial access token from the developer portal (RFC 7591 §3): it names
  the organisation the client will belong to and whether it is a production client (waits for a
  system admin) or a sandbox client (works at once, for test accounts only).
* The registrant never chooses its `client_id` or secret (RFC 9700 §4.15). The response carries
  a registration access token (stored as SHA-256) and the `registration_client_uri` where the
  client reads, replaces and deletes its registration.
* The metadata goes through the same rules as the portal (idp/developer/clients.py, plus the
  fetches in remote_checks.py) and the same approval rules (idp/developer/approvals.py).
* A `software_statement` (RFC 7591 §2.3) is honoured when the organisation has registered the
  keys that sign its statements; its claims then win over the plain JSON.
* Invalid or missing bearer tokens get RFC 6750 `invalid_token` (401).
"""

from __future__ import annotations

import hashlib
import secrets

from authlib.oauth2.rfc6749 import JsonRequest
from authlib.oauth2.rfc6749.requests import JsonPayload
from authlib.oauth2.rfc6750 import InvalidTokenError
from authlib.oauth2.rfc7591 import (
    ClientRegistrationEndpoint,
    InvalidClientMetadataError,
    InvalidSoftwareStatementError,
    UnapprovedSoftwareStatementError,
)
from authlib.oauth2.rfc7592 import ClientConfigurationEndpoint
from flask import request as flask_request
from joserfc import jwt
from joserfc.errors import JoseError
from sqlalchemy import select, update

from .. import audit
from ..clock import to_timestamp, utcnow
from ..developer import approvals, initial_tokens
from ..developer.clients import ClientRejected, create, problems_of, spec_of
from ..developer.remote_checks import remote_problems
from ..extensions import db
from ..models import AccessToken, Client, Organisation, RefreshToken
from .client_auth import ALGORITHMS
from .client_jwks import ClientKeysError, parse_public_jwks
from .provider import provider
from .registration_metadata import error_for, metadata_of, spec_from_metadata

REGISTRATION_TOKEN_PREFIX = "tbg_"
JSON_HEADERS = [("Content-Type", "application/json"), ("Cache-Control", "no-store"),
                ("Pragma", "no-cache")]


def _hash(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def _bearer() -> str | None:
    header = flask_request.headers.get("Authorization", "")
    if header[:7].lower() != "bearer ":
        return None
    value = header[7:].strip()
    return value if 0 < len(value) <= 200 else None


class _Payload(JsonPayload):
    def __init__(self, data):
        self._data = data

    @property
    def data(self):
        return self._data


def json_request() -> JsonRequest:
    """The current request as Authlib sees it, its URI built from the issuer (never the Host)."""
    req = JsonRequest(flask_request.method, provider().url(flask_request.path),
                      flask_request.headers)
    body = flask_request.get_json(silent=True) if flask_request.method in ("POST", "PUT") else {}
    req.payload = _Payload(body)
    return req


def _allow_http_loopback() -> bool:
    return not provider().settings.is_production


def _validated(spec) -> None:
    problems = problems_of(spec, allow_http_loopback=_allow_http_loopback())
    if not problems:
        problems = remote_problems(spec, provider().settings)
    if problems:
        raise error_for(problems)


def _registration_info(client: Client, token: str) -> dict:
    return {"registration_client_uri": provider().url(f"/connect/register/{client.client_id}"),
            "registration_access_token": token}


def _status_of(client: Client) -> str:
    if client.status == "active" and approvals.pending_request(client) is not None:
        return "change_pending"
    return client.status


class ClientRegistration(ClientRegistrationEndpoint):
    """POST /register (RFC 7591 §3)."""

    def create_endpoint_request(self, request):
        return json_request()

    def create_registration_response(self, request):
        now = utcnow()
        token = initial_tokens.find(_bearer(), now)
        if token is None:
            raise InvalidTokenError("A valid initial access token is required.",
                                    realm="tongban")
        data = request.payload.data
        if not isinstance(data, dict):
            raise InvalidClientMetadataError("The request body must be a JSON object.")
        organisation = db.session.get(Organisation, token.organisation_id)
        data = self._with_software_statement(dict(data), organisation)
        spec = spec_from_metadata(data, environment=token.environment)
        _validated(spec)
        if not initial_tokens.consume(token, now):
            raise InvalidTokenError("The initial access token is used up.", realm="tongban")
        status = "active" if token.environment == "sandbox" else "pending"
        try:
            client, secret = create(spec, now=now, allow_http_loopback=_allow_http_loopback(),
                                    status=status, organisation_id=organisation.id, via="dcr")
        except ClientRejected as exc:
            raise error_for(exc.problems) from exc
        registration_token = REGISTRATION_TOKEN_PREFIX + secrets.token_urlsafe(32)
        client.registration_token_hash = _hash(registration_token)
        if status == "pending":
            approvals.submit_registration(client, via="dcr", person_id=None, now=now)
        body = {"client_id": client.client_id,
                "client_id_issued_at": to_timestamp(client.created_at),
                **metadata_of(client), **_registration_info(client, registration_token),
                "approval_status": _status_of(client)}
        if secret:
            body.update(client_secret=secret, client_secret_expires_at=0)
        return 201, body, JSON_HEADERS

    def _with_software_statement(self, data: dict, organisation: Organisation) -> dict:
        statement = data.pop("software_statement", None)
        if statement is None:
            return data
        if not organisation.software_statement_jwks:
            raise UnapprovedSoftwareStatementError(
                "This organisation has no keys for software statements.")
        try:
            keys = parse_public_jwks(organisation.software_statement_jwks)
            token = jwt.decode(statement, keys, algorithms=list(ALGORITHMS))
            jwt.JWTClaimsRegistry(leeway=60).validate(token.claims)
        except (JoseError, ValueError, ClientKeysError) as exc:
            raise InvalidSoftwareStatementError(
                "The software statement is not valid or not signed by this organisation's "
                "keys.") from exc
        if not isinstance(token.claims, dict) or "software_statement" in token.claims:
            raise InvalidSoftwareStatementError("The software statement is malformed.")
        # RFC 7591 §2.3: the statement's values win over the same fields in the JSON.
        claims = {k: v for k, v in token.claims.items()
                  if k not in ("iss", "iat", "exp", "nbf", "jti", "aud")}
        return {**data, **claims}

    def get_server_metadata(self):
        return None


class _RegistrationToken:
    def __init__(self, client: Client | None, value: str):
        self.client = client
        self.value = value

    def check_client(self, client) -> bool:
        return self.client is not None and self.client.id == client.id


class ClientConfiguration(ClientConfigurationEndpoint):
    """GET/PUT/DELETE /register/<client_id> (RFC 7592 §2)."""

    def create_endpoint_request(self, request):
        return json_request()

    def create_configuration_response(self, request):
        token = self.authenticate_token(request)
        client_id = flask_request.view_args.get("client_id")
        if token is None or token.client is None or token.client.client_id != client_id:
            # RFC 7592 §2: an unknown client or a token for another client both answer 401,
            # so nobody learns which client ids exist.
            raise InvalidTokenError("The registration access token is not valid for this "
                                    "client.", realm="tongban")
        request.credential = token
        request.client = token.client
        if request.method == "GET":
            return self.create_read_client_response(token.client, request)
        if request.method == "DELETE":
            return self.create_delete_client_response(token.client, request)
        if not isinstance(request.payload.data, dict):
            raise InvalidClientMetadataError("The request body must be a JSON object.")
        return self.create_update_client_response(token.client, request)

    def authenticate_token(self, request):
        value = _bearer()
        if not value or not value.startswith(REGISTRATION_TOKEN_PREFIX):
            return None
        client = db.session.scalar(select(Client).where(
            Client.registration_token_hash == _hash(value)))
        if client is None or client.status == "disabled":
            return None
        return _RegistrationToken(client, value)

    def introspect_client(self, client):
        return {"client_id": client.client_id,
                "client_id_issued_at": to_timestamp(client.created_at),
                **metadata_of(client), "approval_status": _status_of(client)}

    def generate_client_registration_info(self, client, request):
        return _registration_info(client, request.credential.value)

    def extract_client_metadata(self, request):
        data = {k: v for k, v in request.payload.data.items()
                if k not in ("client_id", "client_secret")}
        current = spec_of(request.client)
        spec = spec_from_metadata(data, environment=current.environment)
        _validated(spec)
        return spec

    def update_client(self, client, spec, request):
        try:
            approvals.propose(client, spec, via="dcr", person_id=None, now=utcnow(),
                              allow_http_loopback=_allow_http_loopback())
        except ClientRejected as exc:
            raise error_for(exc.problems) from exc
        except approvals.ApprovalRefused as exc:
            raise InvalidClientMetadataError(exc.public) from exc
        return client

    def create_read_client_response(self, client, request):
        status, body, _ = super().create_read_client_response(client, request)
        return status, body, JSON_HEADERS

    def delete_client(self, client, request):
        delete_registration(client, now=utcnow(), via="dcr")

    def revoke_access_token(self, request, token):
        return None

    def check_permission(self, client, request):
        return True

    def get_server_metadata(self):
        return None


def delete_registration(client: Client, *, now, via: str, person_id: int | None = None) -> None:
    """RFC 7592 §2.3: the client id, its secrets, its registration token and every token it
    holds stop working. The row stays (disabled) so the audit trail keeps its meaning."""
    client.status = "disabled"
    client.secret_hash = None
    client.previous_secret_hash = None
    client.registration_token_hash = None
    client.updated_at = now
    for model in (AccessToken, RefreshToken):
        db.session.execute(update(model).where(model.client_id == client.id,
                                               model.revoked_at.is_(None))
                           .values(revoked_at=now).execution_options(synchronize_session=False))
    audit.record("client.deleted", person_id=person_id, client_id=client.client_id, via=via)

