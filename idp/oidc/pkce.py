"""PKCE (RFC 7636), tightened: S256 only, required for every client unless a confidential
client's settings relax it (never for public clients), and every mismatch is `invalid_grant`.

Authlib's CodeChallenge defaults to `plain`, only forces PKCE on public clients and reports some
token-side failures as `invalid_request`; RFC 9700 §2.1.1 asks for more.
"""

from __future__ import annotations

import hmac

from authlib.oauth2.rfc6749 import InvalidGrantError, InvalidRequestError
from authlib.oauth2.rfc7636 import CodeChallenge
from authlib.oauth2.rfc7636.challenge import (
    CODE_CHALLENGE_PATTERN,
    CODE_VERIFIER_PATTERN,
    create_s256_code_challenge,
)


class S256CodeChallenge(CodeChallenge):
    SUPPORTED_CODE_CHALLENGE_METHOD = ["S256"]

    def validate_code_challenge(self, grant, redirect_uri):
        data = grant.request.payload.data
        challenge = data.get("code_challenge")
        method = data.get("code_challenge_method")
        client = grant.request.client
        if not challenge:
            if method:
                raise InvalidRequestError("Missing 'code_challenge'.")
            if client.is_public or client.require_pkce:
                raise InvalidRequestError("PKCE is required: send 'code_challenge' with "
                                          "'code_challenge_method=S256'.")
            return
        if not method:
            # RFC 7636 would default to "plain"; we refuse rather than guess.
            raise InvalidRequestError("Missing 'code_challenge_method': only 'S256' is supported.")
        if method != "S256":
            raise InvalidRequestError("Unsupported 'code_challenge_method': only 'S256' is "
                                      "supported.")
        if not CODE_CHALLENGE_PATTERN.match(challenge):
            raise InvalidRequestError("Invalid 'code_challenge'.")

    def validate_code_verifier(self, grant, result):
        request = grant.request
        verifier = request.form.get("code_verifier")
        challenge = request.authorization_code.code_challenge
        if not challenge:
            if verifier:
                # RFC 9700 §4.8.2: a verifier for a code issued without a challenge means
                # someone stripped the challenge (PKCE downgrade).
                raise InvalidGrantError("'code_verifier' sent for a code issued without "
                                        "'code_challenge'.")
            return
        if not verifier:
            raise InvalidGrantError("Missing 'code_verifier'.")
        if not CODE_VERIFIER_PATTERN.match(verifier):
            raise InvalidGrantError("Invalid 'code_verifier'.")
        if not hmac.compare_digest(create_s256_code_challenge(verifier), challenge):
            raise InvalidGrantError("'code_verifier' does not match 'code_challenge'.")
