"""The console's landing page; importing this module attaches every console route."""

from __future__ import annotations

from flask import render_template

from ..extensions import db
from . import accounts_views, api, audit_views, sessions_views, system_views  # noqa: F401
from .access import require_role
from .blueprint import AUDITOR, SECURITY, SYSTEM, bp

__all__ = ["bp"]


@bp.get("/")
@require_role(SECURITY, SYSTEM, AUDITOR)
def home():
    page = render_template("admin/home.html")
    db.session.commit()
    return page
