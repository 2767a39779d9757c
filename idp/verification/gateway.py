"""The signed HTTP client for verification gateways (registry, carrier, bank, face).

Every request carries the app key, a timestamp, a single-use nonce and an HMAC-SHA256 signature
over method, path, timestamp, nonce and the body's SHA-256; every answer must carry a signature
over its status, *our* nonce, its timestamp and its body, so a reply cannot be forged, replayed
from another request or tampered with on the way (the wire format is described in
simulators/common.py, which implements the other side).

Calls are bounded: a connect/read timeout per attempt and a few retries for failures that say
nothing about the person (timeouts, refused connections, 503). Anything that is not a genuine,
well-formed answer is :class:`GatewayUnavailable`: the person is told to try again later and
nothing is concluded about them.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import secrets
import time
from dataclasses import dataclass

import requests

log = logging.getLogger(__name__)

#: an answer's timestamp may be this far from our clock
MAX_SKEW = 300
RETRY_STATUSES = (502, 503, 504)


class GatewayUnavailable(Exception):
    """No usable answer: `reason` is for operators (timeout, connection, http_503, rate_limited,
    malformed, bad_signature, credentials_rejected, not_configured, ...)."""

    def __init__(self, gateway: str, reason: str):
        super().__init__(f"{gateway}: {reason}")
        self.gateway, self.reason = gateway, reason


@dataclass(frozen=True)
class Answer:
    code: str
    data: dict
    request_id: str


def _mac(secret: str, *parts: str) -> str:
    digest = hmac.new(secret.encode(), "\n".join(parts).encode(), hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


class Gateway:
    def __init__(self, name: str, url: str, app_key: str, app_secret: str, *, timeout: float,
                 retries: int, session: requests.Session | None = None):
        self.name, self.url = name, url.rstrip("/")
        self.app_key, self._secret = app_key, app_secret
        self.timeout, self.retries = timeout, retries
        self._session = session

    def signed_headers(self, path: str, body: bytes, now: int, nonce: str) -> dict:
        timestamp = str(now)
        return {
            "Content-Type": "application/json",
            "X-App-Key": self.app_key,
            "X-Timestamp": timestamp,
            "X-Nonce": nonce,
            "X-Signature": _mac(self._secret, "POST", path, timestamp, nonce,
                                hashlib.sha256(body).hexdigest()),
        }

    def call(self, path: str, payload: dict) -> Answer:
        if self._session is not None:
            return self._call(self._session, path, payload)
        with requests.Session() as http:
            # Where the gateway is comes from settings alone, never from proxy variables.
            http.trust_env = False
            return self._call(http, path, payload)

    def _call(self, http: requests.Session, path: str, payload: dict) -> Answer:
        body = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()
        last = "unknown"
        for attempt in range(1 + self.retries):
            nonce = secrets.token_urlsafe(18)
            headers = self.signed_headers(path, body, int(time.time()), nonce)
            try:
                response = http.post(self.url + path, data=body, headers=headers,
                                          timeout=(self.timeout, self.timeout),
                                          allow_redirects=False)
            except requests.Timeout:
                last = "timeout"
            except requests.RequestException:
                last = "connection"
            else:
                if response.status_code in RETRY_STATUSES:
                    last = f"http_{response.status_code}"
                else:
                    return self._answer(response, nonce, path)
            log.warning("gateway %s %s attempt %d failed: %s", self.name, path, attempt + 1, last)
        raise GatewayUnavailable(self.name, last)

    def _answer(self, response: requests.Response, nonce: str, path: str) -> Answer:
        status = response.status_code
        if status == 429:
            raise GatewayUnavailable(self.name, "rate_limited")
        body = response.content
        timestamp = response.headers.get("X-Timestamp", "")
        expected = _mac(self._secret, str(status), nonce, timestamp,
                        hashlib.sha256(body).hexdigest())
        if not hmac.compare_digest(expected.encode(),
                                   response.headers.get("X-Signature", "").encode()):
            # Also what a gateway that rejected *our* signature looks like if it signs with a
            # different secret: either way the credentials need an operator.
            log.error("gateway %s %s: answer signature invalid (status %s)", self.name, path,
                      status)
            raise GatewayUnavailable(self.name, "bad_signature")
        if not timestamp.isdigit() or abs(time.time() - int(timestamp)) > MAX_SKEW:
            raise GatewayUnavailable(self.name, "stale_answer")
        try:
            parsed = json.loads(body)
            code, data = parsed["code"], parsed.get("data") or {}
            if not isinstance(code, str) or not isinstance(data, dict):
                raise TypeError
        except (ValueError, KeyError, TypeError) as exc:
            log.error("gateway %s %s: malformed answer (status %s)", self.name, path, status)
            raise GatewayUnavailable(self.name, "malformed") from exc
        if code in ("4010", "4011", "4012", "4013"):
            log.error("gateway %s refused our request (%s): check its app key, secret and "
                      "our clock", self.name, code)
            raise GatewayUnavailable(self.name, "credentials_rejected")
        if status >= 400 or code.startswith(("4", "5")):
            log.error("gateway %s %s: error %s (status %s)", self.name, path, code, status)
            raise GatewayUnavailable(self.name, f"error_{code}")
        return Answer(code=code, data=data, request_id=str(parsed.get("request_id") or ""))


def from_settings(settings, name: str) -> Gateway:
    """The configured gateway `name`, or :class:`GatewayUnavailable` if it is not configured."""
    url = getattr(settings, f"{name}_url")
    if not url:
        raise GatewayUnavailable(name, "not_configured")
    return Gateway(name, url, getattr(settings, f"{name}_app_key"),
                   getattr(settings, f"{name}_app_secret"),
                   timeout=settings.gateway_timeout_ms / 1000, retries=settings.gateway_retries)
