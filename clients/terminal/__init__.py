"""A sample self-service terminal using the device authorization grant (RFC 8628)."""
