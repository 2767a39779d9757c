"""The IdP's calls to URLs that relying parties registered (today: back-channel logout tokens).

:func:`post_form` reports an :class:`Outcome` instead of raising, for the logout outbox. The
transport is the guarded fetcher's (idp/fetch.py): the same address rules against server-side
request forgery (no private, link-local or — in production — loopback addresses, checked after
DNS resolution and pinned), the same time and size bounds; redirects are never followed.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from . import fetch

log = logging.getLogger(__name__)

#: More than any answer to a logout token needs; the rest is never read.
MAX_RESPONSE_BYTES = 16 * 1024


@dataclass(frozen=True)
class Outcome:
    #: HTTP status, or None when no answer came (refused, timed out, ...)
    status: int | None
    #: short operator-facing reason when the call did not succeed
    error: str | None = None

    @property
    def ok(self) -> bool:
        # A 2xx with an oversized answer is not trusted as a success either.
        return self.error is None and self.status is not None and 200 <= self.status < 300


def post_form(url: str, data: dict[str, str], *, timeout: float,
              allow_loopback: bool | None = None,
              max_response_bytes: int = MAX_RESPONSE_BYTES) -> Outcome:
    """POST an application/x-www-form-urlencoded body; never follow a redirect.

    `allow_loopback` defaults to the deployment's TONGBAN_FETCH_ALLOW_LOOPBACK (off in
    production)."""
    if allow_loopback is None:
        allow_loopback = _settings_allow_loopback()
    try:
        status, _body = fetch.post_form(url, data, allow_loopback=allow_loopback,
                                        timeout=timeout, max_bytes=max_response_bytes)
    except fetch.FetchRefused as exc:
        log.warning("outbound POST refused: %s", exc.detail)
        return Outcome(None, "address not allowed")
    except fetch.FetchFailed as exc:
        return Outcome(None, _FAILURES.get(exc.kind, "request failed"))
    if 300 <= status < 400:
        return Outcome(status, "redirected (not followed)")
    if not 200 <= status < 300:
        return Outcome(status, f"HTTP {status}")
    return Outcome(status)


_FAILURES = {"timeout": "timed out", "connection": "connection failed",
             "too_large": "answer too large"}


def _settings_allow_loopback() -> bool:
    from flask import current_app, has_app_context

    return bool(has_app_context()
                and current_app.extensions["tongban.settings"].fetch_allow_loopback)
