"""Remote face verification against the registry portrait (人脸核身), H5 flavour.

1. The relying service calls ``POST /v1/face/certify/init`` with ``{"name", "id_number",
   "return_url"}`` and gets ``{"certify_id", "capture_url"}`` (or 1002/1003/1004 when the registry
   holds no usable portrait for that number).
2. It sends the person's browser to ``capture_url``: the provider's own page does the liveness
   capture (here: a page with one button standing in for the camera) and sends the browser back
   to ``return_url?certify_id=...``.
3. The service asks ``POST /v1/face/certify/query`` with ``{"certify_id"}``: ``{"status":
   "passed" | "failed" | "pending", "liveness", "similarity"}``; 1007 for an unknown or expired id.

Each seeded record says how that person's capture turns out (``liveness`` pass/fail and the
``similarity`` to the registry portrait).
"""

from __future__ import annotations

import html
import secrets
import threading
import time
from typing import ClassVar
from urllib.parse import urlencode, urlsplit

from .common import Reply, Simulator, main
from .registry import lookup

PASS_SIMILARITY = 0.8
LIFETIME = 600


class Face(Simulator):
    name = "face"

    def __init__(self, records: list[dict], **kwargs):
        super().__init__(**kwargs)
        self.records = {r["id_number"].upper(): r for r in records}
        self.certifications: dict[str, dict] = {}
        self.cert_lock = threading.Lock()

    def _certification(self, certify_id: str) -> dict | None:
        with self.cert_lock:
            found = self.certifications.get(certify_id)
        if found is None or time.time() - found["created"] > LIFETIME:
            return None
        return found

    def init(self, body: dict) -> dict:
        record = lookup(self.records, body)
        return_url = body.get("return_url")
        if not isinstance(return_url, str) or urlsplit(return_url).scheme not in ("http", "https"):
            raise Reply("4001", "return_url must be an absolute http(s) URL")
        certify_id = "fc" + secrets.token_hex(16)
        with self.cert_lock:
            self.certifications[certify_id] = {"record": record, "return_url": return_url,
                                               "created": time.time(), "status": "pending"}
        return {"certify_id": certify_id,
                "capture_url": f"{self.base_url}/h5/capture/{certify_id}"}

    def query(self, body: dict) -> dict:
        found = self._certification(str(body.get("certify_id") or ""))
        if found is None:
            raise Reply("1007", "unknown or expired certify_id")
        if found["status"] == "pending":
            return {"status": "pending"}
        return {"status": found["status"], "liveness": found["liveness"],
                "similarity": found["similarity"]}

    routes: ClassVar[dict] = {"/v1/face/certify/init": init, "/v1/face/certify/query": query}

    def page(self, path: str, query: dict, form: dict | None):
        prefix = "/h5/capture/"
        if not path.startswith(prefix):
            return None
        certify_id = path[len(prefix):]
        found = self._certification(certify_id)
        if found is None:
            return 404, _page("<p>This face check has expired. 本次核验已过期。</p>"), {}
        if form is None:
            return 200, _page(
                f"<p>模拟摄像头 · Simulated camera</p>"
                f"<form method='post' action='{prefix}{html.escape(certify_id)}'>"
                "<button id='capture' type='submit' style='font-size:1.2rem;min-height:52px;"
                "width:100%'>开始刷脸 Start the face check</button></form>"), {}
        record = found["record"]
        liveness = record.get("liveness", "pass") == "pass"
        similarity = float(record.get("similarity", 0.95))
        with self.cert_lock:
            found.update(liveness=liveness, similarity=similarity,
                         status="passed" if liveness and similarity >= PASS_SIMILARITY
                         else "failed")
        separator = "&" if "?" in found["return_url"] else "?"
        target = found["return_url"] + separator + urlencode({"certify_id": certify_id})
        return 303, "", {"Location": target}


def _page(body: str) -> str:
    return ("<!doctype html><html lang='zh-CN'><head><meta charset='utf-8'><meta name='viewport'"
            " content='width=device-width, initial-scale=1'><title>人脸核身 Face check</title>"
            "</head><body style='font-family:system-ui;max-width:30rem;margin:2rem auto;"
            f"padding:0 1rem'><h1>人脸核身 Face check</h1>{body}</body></html>")


if __name__ == "__main__":
    main(Face, "face.json")
