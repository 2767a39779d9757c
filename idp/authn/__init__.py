"""How a person proves who they are. Nothing in this package knows about OAuth: a login ends in
an SSO session and a redirect to a local `next` path, whoever asked for it."""
