"""Telling a person which device and place a session is on, from what the IdP recorded.

The device comes from the User-Agent header (a few dozen patterns cover the browsers, in-app
browsers and systems people here use; an unknown one is shown as such). The place: no address
database ships with the IdP, so a public address is shown as is; loopback and private addresses
are named. A deployment with an offline geolocation database can register a locator
(``app.extensions["tongban.ip_locator"] = callable(ip) -> str | None``).
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass

from flask import current_app
from flask_babel import gettext as _

#: first match wins: in-app and derived browsers before the engines they are built on
BROWSERS = (
    (re.compile(r"MicroMessenger/([\d.]+)"), "WeChat"),
    (re.compile(r"AlipayClient/([\d.]+)"), "Alipay"),
    (re.compile(r"DingTalk/([\d.]+)"), "DingTalk"),
    (re.compile(r"Edg(?:e|A|iOS)?/([\d.]+)"), "Edge"),
    (re.compile(r"OPR/([\d.]+)"), "Opera"),
    (re.compile(r"QQBrowser/([\d.]+)"), "QQ Browser"),
    (re.compile(r"UCBrowser/([\d.]+)"), "UC Browser"),
    (re.compile(r"HuaweiBrowser/([\d.]+)"), "Huawei Browser"),
    (re.compile(r"HeadlessChrome/([\d.]+)"), "Chrome (headless)"),
    (re.compile(r"(?:Chrome|CriOS)/([\d.]+)"), "Chrome"),
    (re.compile(r"(?:Firefox|FxiOS)/([\d.]+)"), "Firefox"),
    (re.compile(r"Version/([\d.]+).*Safari/"), "Safari"),
    (re.compile(r"curl/([\d.]+)"), "curl"),
)
SYSTEMS = (
    (re.compile(r"HarmonyOS"), "HarmonyOS", "phone"),
    (re.compile(r"iPhone"), "iPhone", "phone"),
    (re.compile(r"iPad"), "iPad", "tablet"),
    (re.compile(r"Android.*Mobile"), "Android", "phone"),
    (re.compile(r"Android"), "Android", "tablet"),
    (re.compile(r"Windows NT"), "Windows", "computer"),
    (re.compile(r"Mac OS X|Macintosh"), "macOS", "computer"),
    (re.compile(r"CrOS"), "ChromeOS", "computer"),
    (re.compile(r"Linux"), "Linux", "computer"),
)


@dataclass(frozen=True)
class Device:
    browser: str | None
    system: str | None
    #: "phone", "tablet", "computer" or None
    kind: str | None

    def label(self) -> str:
        parts = [p for p in (self.browser, self.system) if p]
        return " · ".join(parts) if parts else _("Unknown device")


def describe(user_agent: str | None) -> Device:
    ua = user_agent or ""
    browser = next((name for pattern, name in BROWSERS if pattern.search(ua)), None)
    system, kind = next(((name, k) for pattern, name, k in SYSTEMS if pattern.search(ua)),
                        (None, None))
    return Device(browser, system, kind)


def place(ip: str | None) -> str | None:
    if not ip:
        return None
    locator = current_app.extensions.get("tongban.ip_locator")
    if locator is not None:
        found = locator(ip)
        if found:
            return found
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        return None
    if address.is_loopback:
        return _("This computer")
    if address.is_private:
        return _("Local network")
    return None
