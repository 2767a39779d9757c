"""Approval of clients by a system admin.

* A new production client starts ``pending`` and cannot be used until approved.
* A change to an approved production client that *widens* what it can reach — more scopes,
  more redirect or post-logout redirect URIs, more sensitive claims (or a new purpose or legal
  basis for them), public instead of pairwise subjects, promotion from sandbox to production —
  waits as a change request; the client keeps working with what was approved. Other changes
  apply at once, unless a change request is already waiting (then the newer proposal replaces it,
  so an approval never undoes a later edit).
* Sandbox clients work at once, for test accounts only (see idp/oidc/authorize.py), and every
  change to them applies at once except promotion to production.

The portal and the registration endpoint (RFC 7591/7592) both go through here.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update

from .. import audit
from ..errors import UserError
from ..extensions import db
from ..models import Client, ClientRequest
from .clients import ClientRejected, ClientSpec, apply, problems_of, spec_of


class ApprovalRefused(UserError):
    public = "This request cannot be decided."


@dataclass(frozen=True)
class Outcome:
    #: "applied" (in force now) or "pending" (waiting for a system admin)
    state: str
    request: ClientRequest | None = None


def widening(old: ClientSpec, new: ClientSpec) -> list[str]:
    """The fields in which `new` reaches further than `old`."""
    fields = []
    if set(new.effective_scope.split()) - set(old.effective_scope.split()):
        fields.append("scope")
    for name in ("redirect_uris", "post_logout_redirect_uris", "sensitive_claims"):
        if set(getattr(new, name)) - set(getattr(old, name)):
            fields.append(name)
    if new.sensitive_claims and (new.sensitive_purpose != old.sensitive_purpose
                                 or new.sensitive_legal_basis != old.sensitive_legal_basis):
        fields.append("sensitive_purpose")
    if old.subject_type == "pairwise" and new.subject_type != "pairwise":
        fields.append("subject_type")
    if old.environment == "sandbox" and new.environment == "production":
        fields.append("environment")
    if new.client_type != old.client_type:
        fields.append("client_type")
    return fields


def diff(baseline: dict, proposed: dict) -> list[tuple[str, object, object]]:
    """(field, before, after) for every field that differs."""
    names = sorted(set(baseline) | set(proposed))
    return [(n, baseline.get(n), proposed.get(n)) for n in names
            if baseline.get(n) != proposed.get(n)]


def pending_request(client: Client) -> ClientRequest | None:
    return db.session.scalar(select(ClientRequest).where(
        ClientRequest.client_id == client.id, ClientRequest.status == "pending"))


def _open(client: Client, kind: str, proposed: ClientSpec, *, via: str,
          person_id: int | None, now: datetime, baseline: dict | None = None) -> ClientRequest:
    earlier = pending_request(client)
    if earlier is not None:
        earlier.status = "superseded"
        earlier.decided_at = now
    if baseline is None:
        baseline = spec_of(client).as_metadata()
    row = ClientRequest(client_id=client.id, kind=kind, status="pending", baseline=baseline,
                        proposed=proposed.as_metadata(), via=via, requested_by=person_id,
                        created_at=now)
    db.session.add(row)
    db.session.flush()
    audit.record("client_request.submitted", person_id=person_id, client_id=client.client_id,
                 kind=kind, request_id=row.id, via=via)
    return row


def submit_registration(client: Client, *, via: str, person_id: int | None,
                        now: datetime) -> ClientRequest:
    """Queue a just-created (pending) client for approval."""
    return _open(client, "registration", spec_of(client), via=via, person_id=person_id, now=now,
                 baseline={})


def propose(client: Client, spec: ClientSpec, *, via: str, person_id: int | None,
            now: datetime, allow_http_loopback: bool) -> Outcome:
    """Change `client` to `spec`, now or after approval (see the module docstring)."""
    if client.status == "disabled":
        raise ApprovalRefused("A disabled client cannot be changed.")
    problems = problems_of(spec, allow_http_loopback=allow_http_loopback)
    if problems:
        raise ClientRejected(problems)
    current = spec_of(client)
    # Only operators decide what is first-party.
    spec.first_party = current.first_party
    if client.status in ("pending", "rejected"):
        apply(client, spec, now)
        client.status = "pending"
        return Outcome("pending", _open(client, "registration", spec, via=via,
                                        person_id=person_id, now=now, baseline={}))
    widened = widening(current, spec)
    if client.environment == "sandbox":
        # Sandbox clients only ever meet test accounts: nothing but promotion needs a look.
        widened = [name for name in widened if name == "environment"]
    waiting = pending_request(client)
    if widened or waiting is not None:
        return Outcome("pending", _open(client, "change", spec, via=via, person_id=person_id,
                                        now=now))
    apply(client, spec, now)
    audit.record("client.updated", person_id=person_id, client_id=client.client_id, via=via)
    return Outcome("applied")


def approve(row: ClientRequest, *, admin_id: int, now: datetime,
            allow_http_loopback: bool) -> Client:
    client = _decidable(row, admin_id)
    spec = ClientSpec.from_metadata(row.proposed)
    problems = problems_of(spec, allow_http_loopback=allow_http_loopback)
    if problems:
        raise ClientRejected(problems)
    _claim(row, "approved", admin_id, now, None)
    apply(client, spec, now)
    if client.status in ("pending", "rejected"):
        client.status = "active"
    audit.record("client_request.approved", person_id=admin_id, client_id=client.client_id,
                 kind=row.kind, request_id=row.id)
    return client


def reject(row: ClientRequest, *, admin_id: int, reason: str, now: datetime) -> Client:
    reason = (reason or "").strip()
    if not reason:
        raise ApprovalRefused("Say why the request is rejected.")
    client = _decidable(row, admin_id)
    _claim(row, "rejected", admin_id, now, reason[:2000])
    if row.kind == "registration":
        client.status = "rejected"
        client.updated_at = now
    audit.record("client_request.rejected", person_id=admin_id, client_id=client.client_id,
                 kind=row.kind, request_id=row.id)
    return client


def _decidable(row: ClientRequest, admin_id: int) -> Client:
    if row.status != "pending":
        raise ApprovalRefused("This request has already been decided.")
    if row.requested_by is not None and row.requested_by == admin_id:
        # Separation of duties: nobody approves what they asked for themselves.
        raise ApprovalRefused("You cannot decide a request you made yourself.")
    return db.session.get(Client, row.client_id)


def _claim(row: ClientRequest, status: str, admin_id: int, now: datetime,
           reason: str | None) -> None:
    """Decide `row` once, even if two admins press the button at the same moment."""
    result = db.session.execute(
        update(ClientRequest).where(ClientRequest.id == row.id,
                                    ClientRequest.status == "pending")
        .values(status=status, decided_by=admin_id, decided_at=now, reason=reason)
        .execution_options(synchronize_session=False))
    if result.rowcount != 1:
        raise ApprovalRefused("This request has already been decided.")
    db.session.refresh(row)
