"""The government app's side of QR login (扫码登录).

The app is a first-party native client signed in with Tongban (see clients/native). Scanning a
QR code on a PC gives it the payload; it shows the person which portal asks, roughly where the
PC is and which browser it runs, and only if the person says yes does it confirm. The API calls
carry the app's access token: Tongban checks that the very session that scanned confirms.

Tokens are kept in a file (0600) so `login`, `scan` and `confirm` can be separate runs.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import requests


class AppError(Exception):
    def __init__(self, error: str, status: int):
        super().__init__(f"{error} (HTTP {status})")
        self.error, self.status = error, status


def save_tokens(path: Path, issuer: str, client_id: str, tokens: dict) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        json.dump({"issuer": issuer, "client_id": client_id, "tokens": tokens}, fh)


class GovApp:
    def __init__(self, state_file: Path):
        data = json.loads(Path(state_file).read_text())
        self.issuer, self.client_id = data["issuer"], data["client_id"]
        self.access_token = data["tokens"]["access_token"]
        self.http = requests.Session()

    def _post(self, path: str, data: dict) -> dict:
        response = self.http.post(self.issuer + path, data=data, timeout=10, headers={
            "Authorization": f"Bearer {self.access_token}"})
        body = response.json()
        if response.status_code != 200:
            raise AppError(body.get("error", "error"), response.status_code)
        return body

    def scan(self, payload: str) -> dict:
        """What the phone shows before the person decides."""
        return self._post("/qr/scan", {"payload": payload})

    def confirm(self, payload: str) -> dict:
        return self._post("/qr/confirm", {"payload": payload, "decision": "confirm"})

    def decline(self, payload: str) -> dict:
        return self._post("/qr/confirm", {"payload": payload, "decision": "decline"})


def describe(details: dict) -> str:
    place = details.get("place") or {}
    where = {"this_computer": "本机 this computer", "local_network": "局域网 local network",
             "internet": "互联网 internet"}.get(place.get("network"), "未知 unknown")
    return (f"门户 Portal: {details.get('portal') or '通办'}\n"
            f"位置 Place: {where} ({place.get('address') or '-'})\n"
            f"浏览器 Browser: {details.get('browser')}")
