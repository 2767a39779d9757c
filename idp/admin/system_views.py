"""System admin: clients (enable, disable) and signing keys; with the security officer, the
state of back-channel logout deliveries (and another round of attempts for a failed one)."""

from __future__ import annotations

from flask import abort, current_app, g, redirect, render_template, request, url_for
from sqlalchemy import func, select

from .. import audit
from ..clock import to_timestamp, utcnow
from ..extensions import db
from ..models import Client, LogoutDelivery
from ..oidc.logout_worker import requeue
from .access import require_role
from .blueprint import SECURITY, SYSTEM, bp

DELIVERY_PAGE = 100


def delivery_rows(state: str | None, client_id: str | None) -> list[LogoutDelivery]:
    query = select(LogoutDelivery).order_by(LogoutDelivery.id.desc()).limit(DELIVERY_PAGE)
    if state in ("pending", "delivered", "failed"):
        query = query.where(LogoutDelivery.state == state)
    if client_id:
        query = query.join(Client, Client.id == LogoutDelivery.client_id).where(
            Client.client_id == client_id)
    return list(db.session.scalars(query))


def delivery_counts() -> dict[str, int]:
    return dict(db.session.execute(select(LogoutDelivery.state, func.count())
                                   .group_by(LogoutDelivery.state)).all())


@bp.get("/deliveries")
@require_role(SECURITY, SYSTEM)
def deliveries():
    rows = delivery_rows(request.args.get("state"), request.args.get("client"))
    page = render_template("admin/deliveries.html", rows=rows, counts=delivery_counts(),
                           args=request.args)
    db.session.commit()
    return page


@bp.post("/deliveries/<int:delivery_id>/retry")
@require_role(SECURITY, SYSTEM)
def retry_delivery(delivery_id: int):
    row = db.session.get(LogoutDelivery, delivery_id) or abort(404)
    if row.state != "failed":
        abort(409)
    requeue(row, utcnow())
    audit.record("logout.requeued", person_id=row.person_id, client_id=row.client.client_id,
                 sid=row.sid, actor_id=g.officer.id)
    db.session.commit()
    return redirect(url_for("admin.deliveries", state="pending"), code=303)


@bp.get("/clients")
@require_role(SYSTEM)
def clients():
    failed = dict(db.session.execute(
        select(LogoutDelivery.client_id, func.count()).where(LogoutDelivery.state == "failed")
        .group_by(LogoutDelivery.client_id)).all())
    rows = list(db.session.scalars(select(Client).order_by(Client.name)))
    page = render_template("admin/clients.html", rows=rows, failed=failed)
    db.session.commit()
    return page


def _set_status(client_id: str, status: str):
    client = db.session.scalar(select(Client).where(Client.client_id == client_id)) or abort(404)
    client.status, client.updated_at = status, utcnow()
    audit.record(f"client.{'enabled' if status == 'active' else 'disabled'}",
                 client_id=client.client_id, actor_id=g.officer.id, via="console")
    db.session.commit()
    return redirect(url_for("admin.clients"), code=303)


@bp.post("/clients/<client_id>/disable")
@require_role(SYSTEM)
def disable_client(client_id: str):
    return _set_status(client_id, "disabled")


@bp.post("/clients/<client_id>/enable")
@require_role(SYSTEM)
def enable_client(client_id: str):
    return _set_status(client_id, "active")


@bp.get("/keys")
@require_role(SYSTEM)
def keys():
    store = current_app.extensions["tongban.provider"].keys
    now = to_timestamp(utcnow())
    signing = {alg: k.kid for alg in ("RS256", "PS256", "ES256")
               if (k := store.signing_key(alg, now))}
    rows = [{"kid": k.kid, "alg": k.alg,
             "state": ("signing" if signing.get(k.alg) == k.kid else "pending"
                       if k.activates_at > now else "retired" if k.published(now) else "expired")}
            for k in sorted(store.keys(), key=lambda k: (k.alg, k.activates_at))]
    page = render_template("admin/keys.html", rows=rows)
    db.session.commit()
    return page
