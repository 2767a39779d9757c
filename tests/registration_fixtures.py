"""Helpers for tests of client registration: organisations, initial access tokens, system
admins, and a loopback HTTP server that serves documents (JWKS, sector identifier lists)."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from idp.clock import utcnow
from idp.extensions import db


def make_org(app, owner, name: str = "市社保局", kind: str = "department") -> int:
    from idp.developer import organisations

    with app.app_context():
        org = organisations.create(name=name, kind=kind, person_id=owner.id, now=utcnow())
        db.session.commit()
        return org.id


def issue_iat(app, org_id: int, owner, *, environment: str = "production", max_uses: int = 1,
              days: int = 1) -> str:
    from idp.developer import initial_tokens

    with app.app_context():
        _row, value = initial_tokens.issue(organisation_id=org_id, label="test",
                                           environment=environment, max_uses=max_uses,
                                           days=days, person_id=owner.id, now=utcnow())
        db.session.commit()
        return value


def grant_role(app, person, role: str = "system_admin") -> None:
    """Give `person` the role; their sessions count as two-factor (administrators' must)."""
    from idp.models import PersonRole

    from .helpers import as_two_factor

    with app.app_context():
        db.session.add(PersonRole(person_id=person.id, role=role, granted_at=utcnow()))
        db.session.commit()
    as_two_factor(app, person)


def approve_pending(app, client_id: str, admin) -> None:
    """Approve the client's pending request as `admin` (the admin page's effect)."""
    from sqlalchemy import select

    from idp.developer import approvals
    from idp.models import Client

    with app.app_context():
        client = db.session.scalar(select(Client).where(Client.client_id == client_id))
        row = approvals.pending_request(client)
        assert row is not None, "no pending request"
        approvals.approve(row, admin_id=admin.id, now=utcnow(), allow_http_loopback=True)
        db.session.commit()


def client_row(app, client_id: str):
    from sqlalchemy import select

    from idp.models import Client

    with app.app_context():
        client = db.session.scalar(select(Client).where(Client.client_id == client_id))
        db.session.expunge(client)
        return client


class DocumentServer:
    """Serves `documents[path] = (status, body, headers)` on 127.0.0.1; `body` may be a dict
    or list (sent as JSON) or bytes. Use as a context manager."""

    def __init__(self):
        self.documents: dict[str, tuple[int, object, dict]] = {}
        self.hits: list[str] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                outer.hits.append(self.path)
                status, body, headers = outer.documents.get(self.path, (404, b"", {}))
                if callable(body):
                    body = body(self)
                    if body is None:
                        return
                if not isinstance(body, bytes):
                    body = json.dumps(body).encode()
                    headers = {"Content-Type": "application/json", **headers}
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                return None

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.base = f"http://127.0.0.1:{self.server.server_address[1]}"

    def url(self, path: str) -> str:
        return self.base + path

    def __enter__(self) -> DocumentServer:
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()
