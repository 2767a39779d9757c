"""Verifying a platform identity against the platform's own API (WeChat, Alipay).

A mini-program back end hands Tongban the short-lived code the platform gave its front end
(`wx.login`, `my.getAuthCode`); Tongban redeems it with the platform itself, never taking the
client's word for who the user is. What comes back is a :class:`VerifiedPlatformUser`, or one of
two error types that keep "the user's code is no good" apart from "the platform is unwell".
"""

from __future__ import annotations

from dataclasses import dataclass

PLATFORMS = ("wechat", "alipay")


@dataclass(frozen=True)
class VerifiedPlatformUser:
    platform: str
    appid: str
    openid: str
    unionid: str | None = None


class PlatformRejected(Exception):
    """The platform says the code is not good (invalid, used, expired): the client's problem.

    `reason` is one of: invalid_code, code_used, risky_user."""

    def __init__(self, reason: str, detail: str = ""):
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        self.detail = detail


class PlatformUnavailable(Exception):
    """The platform could not answer usefully (rate limit, busy, down, malformed or unsigned
    reply, our credentials refused): nobody's fault but nobody can be signed in.

    `reason` is one of: rate_limited, busy, unreachable, bad_response, misconfigured."""

    def __init__(self, reason: str, detail: str = ""):
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        self.detail = detail


def verify(app, code: str, *, settings) -> VerifiedPlatformUser:
    """Redeem `code` with the platform that issued it to `app` (a PlatformApp)."""
    if app.platform == "wechat":
        from .wechat import code2session

        return code2session(settings.wechat_api_url, app, code, timeout=settings.platform_timeout)
    from .alipay import oauth_token

    return oauth_token(settings.alipay_gateway_url, app, code, timeout=settings.platform_timeout)
