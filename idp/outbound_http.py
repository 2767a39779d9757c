"""The IdP's outbound HTTP calls to relying parties (today: back-channel logout tokens).

One function, :func:`post_form`, so that every call the IdP makes to a URL a client registered
has the same limits: connect and read timeouts, no redirects followed, a cap on how much of the
answer is read, and a result that never raises. The SSRF-guarded fetcher for URLs that clients
ask the IdP to *fetch* (jwks_uri, sector_identifier_uri, request_uri) lives in idp/fetch.py; the
two are meant to share one guarded transport.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import requests

log = logging.getLogger(__name__)

#: More than any answer to a logout token needs; the rest is never read.
MAX_RESPONSE_BYTES = 16 * 1024
USER_AGENT = "Tongban-IdP"


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
              max_response_bytes: int = MAX_RESPONSE_BYTES) -> Outcome:
    """POST an application/x-www-form-urlencoded body; never follow a redirect."""
    try:
        with requests.post(url, data=data, timeout=(min(timeout, 3.0), timeout),
                           allow_redirects=False, stream=True,
                           headers={"User-Agent": USER_AGENT, "Accept": "*/*"}) as response:
            received = 0
            for chunk in response.iter_content(4096):
                received += len(chunk)
                if received > max_response_bytes:
                    return Outcome(response.status_code, "answer too large")
            if 300 <= response.status_code < 400:
                return Outcome(response.status_code, "redirected (not followed)")
            if not 200 <= response.status_code < 300:
                return Outcome(response.status_code, f"HTTP {response.status_code}")
            return Outcome(response.status_code)
    except requests.Timeout:
        return Outcome(None, "timed out")
    except requests.ConnectionError:
        return Outcome(None, "connection failed")
    except requests.RequestException as exc:
        log.warning("outbound POST failed: %s", type(exc).__name__)
        return Outcome(None, f"request failed ({type(exc).__name__})")
