"""Authlib's Flask authorization server, adapted: clients come from the database, requests can
be rebuilt from a stored interaction, and URLs come from the issuer, never from the Host header."""

from __future__ import annotations

from authlib.integrations.flask_oauth2 import AuthorizationServer
from authlib.oauth2.rfc6749 import OAuth2Request
from authlib.oauth2.rfc6749.requests import BasicOAuth2Payload
from flask import request as flask_request
from sqlalchemy import select
from werkzeug.datastructures import MultiDict

from ..extensions import db
from ..models import Client
from .provider import provider


def _without_empty(values: MultiDict) -> MultiDict:
    # RFC 6749 §3.1: "Parameters sent without a value MUST be treated as if they were omitted",
    # so an empty `code` is invalid_request rather than a lookup, and `prompt=` means no prompt.
    return MultiDict([(k, v) for k, v in values.items(multi=True) if v])


class _Payload(BasicOAuth2Payload):
    def __init__(self, params: MultiDict):
        self._data = params
        self._datalist = {k: params.getlist(k) for k in params}


class FlaskRequest(OAuth2Request):
    """The current Flask request, with its URI taken from the issuer."""

    def __init__(self, req):
        super().__init__(method=req.method, uri=provider().url(req.path), headers=req.headers)
        self._request = req
        self.payload = _Payload(_without_empty(req.values))

    @property
    def args(self):
        return _without_empty(self._request.args)

    @property
    def form(self):
        return _without_empty(self._request.form)


class StoredRequest(OAuth2Request):
    """An authorization request rebuilt from an interaction's stored parameters."""

    def __init__(self, params: list[list[str]]):
        super().__init__(method="GET", uri=provider().url("/authorize"))
        self.payload = _Payload(_without_empty(MultiDict([tuple(p) for p in params])))

    @property
    def args(self):
        return self.payload.data

    @property
    def form(self):
        return MultiDict()


class TongbanAuthorizationServer(AuthorizationServer):
    def query_client(self, client_id):
        if not client_id or len(client_id) > 64:
            return None
        client = db.session.scalar(select(Client).where(Client.client_id == client_id))
        return client if client is not None and client.is_active else None

    def save_token(self, token, request):
        # Grants add their rows themselves (see grants/issuing.py).
        return None

    def create_oauth2_request(self, request):
        if isinstance(request, OAuth2Request):
            return request
        return FlaskRequest(flask_request)
