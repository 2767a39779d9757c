"""HTTP routes of Dynamic Client Registration (RFC 7591) and client configuration (RFC 7592).
The decisions are in registration.py; here a request goes in and its transaction is committed
only when the answer is a success."""

from __future__ import annotations

from flask import Blueprint, current_app

from ..extensions import csrf, db

bp = Blueprint("registration", __name__)


def _run(name: str):
    server = current_app.extensions["tongban.authorization_server"]
    try:
        response = server.create_endpoint_response(name)
    except Exception:
        db.session.rollback()
        raise
    if 200 <= response.status_code < 300:
        db.session.commit()
    else:
        db.session.rollback()
    return response


@bp.post("/connect/register")
@csrf.exempt
def register():
    return _run("client_registration")


@bp.route("/connect/register/<client_id>", methods=["GET", "PUT", "DELETE"])
@csrf.exempt
def configure(client_id: str):
    return _run("client_configuration")
