"""Relying-party registration: the rules every client must meet, however it is registered."""
