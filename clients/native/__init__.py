"""A sample native app (RFC 8252): system browser, loopback redirect, PKCE."""
