"""What every grant does once it has decided to issue: mint, record, answer."""

from __future__ import annotations

import secrets

from ...clock import utcnow
from ...extensions import db
from .. import issuance
from ..issuance import GrantContext
from ..provider import provider


def issue_tokens(ctx: GrantContext, *, include_refresh: bool, refresh_value: str | None = None,
                 parent=None, store_refresh: bool = True,
                 refresh_scope: str | None = None, ttl: int | None = None) -> dict:
    """Mint the token response for `ctx`; rows go into the current transaction.

    `refresh_value`/`parent` carry a rotation; `store_refresh=False` re-sends a successor that
    already exists (the refresh grace); `ttl` shortens the access token (terminals).
    """
    prov = provider()
    now = utcnow()
    if include_refresh and ctx.family_id is None:
        ctx.family_id = secrets.token_urlsafe(16)
    ttl = ttl or (prov.settings.access_token_ttl if ctx.person is not None
                  else prov.settings.client_credentials_ttl)
    access_value, access_row = issuance.access_token(prov, ctx, now, ttl)
    db.session.add(access_row)
    token = {"access_token": access_value, "token_type": "Bearer", "expires_in": ttl,
             "scope": ctx.scope}
    if include_refresh:
        value = refresh_value or issuance.new_refresh_value()
        if store_refresh:
            db.session.add(issuance.refresh_token(prov, ctx, now, value, parent=parent,
                                                  scope=refresh_scope))
        token["refresh_token"] = value
    if ctx.person is not None and "openid" in ctx.scope.split():
        token["id_token"] = issuance.id_token(prov, ctx, now, access_value)
    return token


class NoAuthlibTokenStore:
    """Authlib calls save_token() after generate_token(); our rows are already in the
    transaction, which the view commits once the whole response is ready."""

    def save_token(self, token):
        return None
