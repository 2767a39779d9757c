"""Auditor: search the audit trail (every officer's actions included), export it."""

from __future__ import annotations

from flask import Response, abort, g, render_template, request, stream_with_context

from .. import audit
from ..audit_trail import export, search
from ..extensions import db
from . import lookup
from .access import require_role
from .blueprint import AUDITOR, bp


def filter_from(args) -> search.AuditFilter:
    return search.AuditFilter(
        person_id=lookup.person_id_for(args.get("person")),
        client_id=(args.get("client") or "").strip() or None,
        event=(args.get("event") or "").strip() or None,
        ip=(args.get("ip") or "").strip() or None,
        actor_id=lookup.person_id_for(args.get("actor")),
        actors_only=bool(args.get("admins")),
        since=lookup.when(args.get("since")), until=lookup.when(args.get("until")))


@bp.get("/audit")
@require_role(AUDITOR)
def audit_page():
    page = search.search(filter_from(request.args), cursor=request.args.get("cursor"))
    html = render_template("admin/audit.html", rows=page.rows, next_cursor=page.next_cursor,
                           args=request.args)
    db.session.commit()
    return html


@bp.get("/audit/export")
@require_role(AUDITOR)
def audit_export():
    fmt = request.args.get("format", "jsonl")
    if fmt not in ("jsonl", "csv"):
        abort(400)
    f = filter_from(request.args)
    audit.record("audit.exported", actor_id=g.officer.id, format=fmt, filters=f.describe())
    db.session.commit()
    writer = export.jsonl if fmt == "jsonl" else export.csv_lines

    def generate():
        try:
            yield from writer(search.iterate(f))
        finally:
            db.session.rollback()

    mimetype = "application/x-ndjson" if fmt == "jsonl" else "text/csv"
    return Response(stream_with_context(generate()), mimetype=f"{mimetype}; charset=utf-8",
                    headers={"Content-Disposition": f"attachment; filename=audit.{fmt}",
                             "Cache-Control": "no-store"})
