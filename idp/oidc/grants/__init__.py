"""Token grants: authorization_code, refresh_token, client_credentials (Authlib subclasses)."""
