"""The console's one blueprint; the view modules attach their routes to it."""

from flask import Blueprint

bp = Blueprint("admin", __name__, url_prefix="/admin")

SECURITY = "security_officer"
SYSTEM = "system_admin"
AUDITOR = "auditor"
