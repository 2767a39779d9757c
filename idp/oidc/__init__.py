"""The OpenID Connect provider engine. :func:`init_app` is its table of contents: every grant,
extension, endpoint and route is wired here and nowhere else."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    from ..authn.sessions import session_ended
    from . import backchannel, logout, registration_views, token_logs, views
    from .authorization_checks import AuthorizationRequestChecks
    from .client_auth import PrivateKeyJWT
    from .client_jwks import JwksCache
    from .device_authorization import DeviceAuthorizationEndpoint
    from .endpoints import EndSession, Introspection, Revocation
    from .grants.authorization_code import AuthorizationCodeGrant
    from .grants.client_credentials import ClientCredentialsGrant
    from .grants.device_code import DeviceCodeGrant
    from .grants.refresh_token import RefreshTokenGrant
    from .grants.token_exchange import TokenExchangeGrant
    from .pkce import S256CodeChallenge
    from .provider import Provider
    from .registration import ClientConfiguration, ClientRegistration
    from .server import TongbanAuthorizationServer

    settings = app.extensions["tongban.settings"]
    app.extensions["tongban.provider"] = Provider.create(settings)

    server = TongbanAuthorizationServer()
    server.init_app(app)
    # Authlib logs whole token responses at DEBUG: drop those records.
    token_logs.install()
    # Client authentication beyond Authlib's secret-based methods.
    app.extensions["tongban.jwks_cache"] = JwksCache()
    server.register_client_auth_method("private_key_jwt",
                                       PrivateKeyJWT(app.extensions["tongban.jwks_cache"]))
    # Grants. Order of extensions matters: request checks run before PKCE.
    server.register_grant(AuthorizationCodeGrant,
                          [AuthorizationRequestChecks(), S256CodeChallenge(required=True)])
    server.register_grant(RefreshTokenGrant)
    server.register_grant(ClientCredentialsGrant)
    server.register_grant(DeviceCodeGrant)  # RFC 8628, terminals
    server.register_grant(TokenExchangeGrant)  # RFC 8693, mini-program back ends
    # Endpoints beside the token endpoint.
    server.register_endpoint(Introspection)
    server.register_endpoint(Revocation)
    server.register_endpoint(EndSession)
    server.register_endpoint(ClientRegistration)
    server.register_endpoint(ClientConfiguration)
    server.register_endpoint(DeviceAuthorizationEndpoint)
    app.extensions["tongban.authorization_server"] = server

    # Ending an SSO session ends its tokens.
    session_ended.connect(logout.on_session_ended, weak=False)
    # ...and every client that joined it is told, through the back-channel logout outbox.
    session_ended.connect(backchannel.on_session_ended, weak=False)

    app.register_blueprint(views.bp)
    app.register_blueprint(registration_views.bp)
