"""What the phone shows about the PC before confirming a QR login: roughly where it is and what
browser it runs. Deliberately coarse (never the full address): enough for a person to notice
"that is not my computer", not a tracking record.

Without a geolocation database (none ships with Tongban) the place is the kind of network and a
masked address; an operator who has one can extend :func:`approximate_place`.
"""

from __future__ import annotations

import ipaddress
import re


def approximate_place(ip: str | None) -> dict:
    """{"network": "this_computer"|"local_network"|"internet"|"unknown", "address": masked}."""
    try:
        address = ipaddress.ip_address(ip or "")
    except ValueError:
        return {"network": "unknown", "address": None}
    if address.is_loopback:
        network = "this_computer"
    elif address.is_private or address.is_link_local:
        network = "local_network"
    else:
        network = "internet"
    if address.version == 4:
        masked = ".".join(str(address).split(".")[:3]) + ".*"
    else:
        masked = ":".join(address.exploded.split(":")[:3]) + ":*"
    return {"network": network, "address": masked}


_BROWSERS = (("Edg/", "Edge"), ("OPR/", "Opera"), ("QQBrowser", "QQ Browser"),
             ("360SE", "360 Browser"), ("Firefox/", "Firefox"), ("HeadlessChrome", "Chrome"),
             ("Chrome/", "Chrome"), ("Chromium/", "Chromium"), ("Safari/", "Safari"))
_SYSTEMS = (("Windows", "Windows"), ("Android", "Android"), ("iPhone", "iOS"), ("iPad", "iPadOS"),
            ("Mac OS X", "macOS"), ("CrOS", "ChromeOS"), ("Linux", "Linux"))


def describe_browser(user_agent: str | None) -> str:
    """"Chrome on Windows", or "unknown browser"."""
    ua = user_agent or ""
    browser = next((name for marker, name in _BROWSERS if marker in ua), None)
    system = next((name for marker, name in _SYSTEMS if marker in ua), None)
    if browser and system:
        return f"{browser} on {system}"
    return browser or system or "unknown browser"


def safe_user_agent(value: str | None) -> str:
    return re.sub(r"[^\x20-\x7e]", "", value or "")[:255]
