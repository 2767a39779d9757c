"""A sample "government app": a first-party native client that confirms QR logins on a PC."""
