"""Typed errors with two faces: a public code and message for the person or client, a private
detail for the operator's log. A 5xx page never says anything specific."""

from __future__ import annotations

import logging

from flask import Flask, render_template, request
from werkzeug.exceptions import HTTPException

log = logging.getLogger(__name__)


class TongbanError(Exception):
    """Base of the errors the IdP raises on purpose."""

    status = 400
    public = "The request could not be processed."

    def __init__(self, public: str | None = None, *, detail: str | None = None):
        super().__init__(public or self.public)
        if public:
            self.public = public
        #: for the operator's log only
        self.detail = detail


class UserError(TongbanError):
    """The person got something wrong; they see one plain message."""


class ServiceUnavailable(TongbanError):
    """Something the IdP depends on is down; the person sees "try again later"."""

    status = 503
    public = "The service is temporarily unavailable. Please try again later."


def _wants_json() -> bool:
    best = request.accept_mimetypes.best_match(["application/json", "text/html"])
    return best == "application/json" and not request.accept_mimetypes["text/html"]


def register_error_handlers(app: Flask) -> None:
    @app.errorhandler(TongbanError)
    def tongban_error(exc: TongbanError):
        if exc.detail:
            log.warning("%s: %s", type(exc).__name__, exc.detail)
        if _wants_json():
            return {"error": type(exc).__name__, "message": exc.public}, exc.status
        return render_template("error.html", title=exc.public, message=exc.public), exc.status

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException):
        if _wants_json():
            return {"error": exc.name}, exc.code
        return render_template("error.html", title=exc.name, message=exc.description,
                               status=exc.code), exc.code

    @app.errorhandler(Exception)
    def unexpected(exc: Exception):
        # Never echo the exception: it can hold SQL, paths or secrets.
        log.exception("unhandled error on %s %s", request.method, request.path)
        from .extensions import db

        db.session.rollback()
        if _wants_json():
            return {"error": "server_error"}, 500
        return render_template("error.html", title=None, message=None, status=500), 500
