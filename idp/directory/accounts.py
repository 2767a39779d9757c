"""Directory accounts and the person each belongs to (DESIGN.md §3, "Linking").

An account is keyed by (directory, the entry's stable id). It links to the one person whose
*verified* identity number equals the directory's identity-number attribute; without that
attribute the person links it once by proving both (signed in to Tongban, and binding to the
directory). Everything else that is unclear opens a review for a security officer: nothing is
ever merged or re-pointed automatically.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import exists, select

from .. import audit
from ..authn import sessions
from ..extensions import db
from ..models import (
    DirectoryAccount,
    DirectoryLinkReview,
    DirectorySession,
    Person,
    SsoSession,
)
from ..models.directory import LIVE_STATES
from ..verification import documents
from .base import DirectoryIdentity
from .config import DirectoryConfig


class NotLinked(Exception):
    """The directory said yes, but the account has no person to log in as (yet).

    reason: "needs_link" (the person must link it while signed in) or "review_pending"."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


def find(directory: str, external_id: str) -> DirectoryAccount | None:
    return db.session.scalar(select(DirectoryAccount).where(
        DirectoryAccount.directory == directory, DirectoryAccount.external_id == external_id))


def apply(account: DirectoryAccount, config: DirectoryConfig, identity: DirectoryIdentity,
          now: datetime, roles: list[str] | None = None, keep_state: bool = False) -> None:
    """Copy what the directory says about the entry onto the account (its state too, unless
    the caller handles a change of state itself)."""
    account.login = identity.login[:256]
    account.dn = identity.dn
    account.display_name = (identity.display_name or "")[:200] or None
    account.mail = (identity.mail or "")[:254] or None
    account.phone = (identity.phone or "")[:32] or None
    account.employee_number = (identity.employee_number or "")[:64] or None
    account.id_number_index = (documents.number_index(identity.id_number)
                               if identity.id_number else None)
    account.roles = roles if roles is not None else config.roles_for(identity.groups)
    if not keep_state:
        account.entry_state = identity.state
    account.updated_at = now


def upsert(config: DirectoryConfig, identity: DirectoryIdentity, now: datetime
           ) -> DirectoryAccount:
    account = find(config.id, identity.external_id)
    if account is None:
        account = DirectoryAccount(directory=config.id, external_id=identity.external_id,
                                   created_at=now)
        db.session.add(account)
    apply(account, config, identity, now)
    db.session.flush()
    return account


# --- reviews -------------------------------------------------------------------------------------

def open_review_of(account: DirectoryAccount) -> DirectoryLinkReview | None:
    return db.session.scalar(select(DirectoryLinkReview).where(
        DirectoryLinkReview.account_id == account.id, DirectoryLinkReview.status == "open"))


def open_review(account: DirectoryAccount, reason: str, now: datetime, *,
                candidate: Person | None = None, requested_by: Person | None = None
                ) -> DirectoryLinkReview:
    existing = open_review_of(account)
    if existing is not None:
        return existing
    review = DirectoryLinkReview(account_id=account.id, reason=reason,
                                 candidate_person_id=candidate.id if candidate else None,
                                 requested_by_person_id=requested_by.id if requested_by else None,
                                 status="open", created_at=now)
    db.session.add(review)
    db.session.flush()
    audit.record("directory.review_opened", person_id=requested_by.id if requested_by else None,
                 directory=account.directory, account_id=account.id, review_id=review.id,
                 reason=reason, candidate_person_id=review.candidate_person_id)
    return review


# --- linking -------------------------------------------------------------------------------------

def _other_live_account(person: Person, directory: str, account: DirectoryAccount) -> bool:
    return db.session.scalar(select(exists().where(
        DirectoryAccount.person_id == person.id, DirectoryAccount.directory == directory,
        DirectoryAccount.id != account.id,
        DirectoryAccount.entry_state.in_(LIVE_STATES)))) or False


def link(account: DirectoryAccount, person: Person, via: str, now: datetime,
         *, officer: Person | None = None) -> None:
    account.person_id = person.id
    account.linked_via = via
    account.linked_at = now
    audit.record("directory.account_linked", person_id=person.id, directory=account.directory,
                 account_id=account.id, via=via, officer_id=officer.id if officer else None)


def _staff_person(account: DirectoryAccount, now: datetime) -> Person:
    """A staff-only directory: the account is its own person, with no password and no citizen
    identity; it can only ever log in through its directory."""
    person = Person(display_name=(account.display_name or "")[:100] or None, created_at=now,
                    updated_at=now)
    db.session.add(person)
    db.session.flush()
    audit.record("person.registered", person_id=person.id, via="directory",
                 directory=account.directory)
    return person


def person_for_login(config: DirectoryConfig, account: DirectoryAccount,
                     identity: DirectoryIdentity, now: datetime) -> Person:
    """The person a successful directory login logs in as; raises NotLinked."""
    if open_review_of(account) is not None:
        raise NotLinked("review_pending")
    holder = (documents.person_with_verified_number(identity.id_number)
              if identity.id_number and config.link_citizens else None)
    if account.person_id is not None:
        if holder is not None and holder.id != account.person_id:
            # The directory's number now belongs to someone else: stop and ask an officer.
            open_review(account, "number_changed", now, candidate=holder)
            raise NotLinked("review_pending")
        return db.session.get(Person, account.person_id)
    if not config.link_citizens:
        person = _staff_person(account, now)
        link(account, person, "staff", now)
        return person
    if identity.id_number:
        if holder is None:
            open_review(account, "number_unverified", now)
            raise NotLinked("review_pending")
        if _other_live_account(holder, config.id, account):
            open_review(account, "person_already_linked", now, candidate=holder)
            raise NotLinked("review_pending")
        link(account, holder, "verified_number", now)
        return holder
    raise NotLinked("needs_link")


def link_by_proof(config: DirectoryConfig, account: DirectoryAccount,
                  identity: DirectoryIdentity, person: Person, now: datetime) -> str:
    """`person` is signed in and has just bound to the directory as `account`.

    Returns "linked", "already" or "review"; raises NotLinked("not_allowed") for staff-only
    directories."""
    if account.person_id == person.id:
        return "already"
    if not config.link_citizens:
        raise NotLinked("not_allowed")
    if open_review_of(account) is not None:
        return "review"
    if account.person_id is not None:
        open_review(account, "linked_elsewhere", now,
                    candidate=db.session.get(Person, account.person_id), requested_by=person)
        return "review"
    if identity.id_number:
        holder = documents.person_with_verified_number(identity.id_number)
        if holder is None or holder.id != person.id:
            open_review(account, "number_mismatch" if holder else "number_unverified", now,
                        candidate=holder, requested_by=person)
            return "review"
    if _other_live_account(person, config.id, account):
        open_review(account, "person_already_linked", now, candidate=person,
                    requested_by=person)
        return "review"
    link(account, person, "proved_both", now)
    return "linked"


# --- sessions ------------------------------------------------------------------------------------

def remember_session(session: SsoSession, account: DirectoryAccount, now: datetime) -> None:
    known = db.session.scalar(select(exists().where(
        DirectorySession.session_id == session.id, DirectorySession.account_id == account.id)))
    if not known:
        db.session.add(DirectorySession(session_id=session.id, account_id=account.id,
                                        created_at=now))


def end_sessions(account: DirectoryAccount, now: datetime, reason: str) -> int:
    """End every live session this account took part in (sessions.end sends session_ended, so
    logout propagation and token revocation follow)."""
    live = db.session.scalars(select(SsoSession).join(
        DirectorySession, DirectorySession.session_id == SsoSession.id).where(
        DirectorySession.account_id == account.id, SsoSession.ended_at.is_(None))).all()
    for session in live:
        sessions.end(session, now, reason)
    return len(live)


def mark_inactive(account: DirectoryAccount, state: str, now: datetime) -> int:
    """The entry is disabled or deleted: the link stops counting and its sessions end."""
    changed = account.entry_state != state
    account.entry_state = state
    account.updated_at = now
    ended = end_sessions(account, now, f"directory_{state}")
    if changed:
        audit.record("directory.account_disabled", person_id=account.person_id,
                     directory=account.directory, account_id=account.id, state=state,
                     sessions_ended=ended)
    return ended


# --- claims --------------------------------------------------------------------------------------

def live_accounts(person_id: int) -> list[DirectoryAccount]:
    """The person's accounts whose entries are live and whose link nobody questions, most
    recently used first."""
    pending = exists().where(DirectoryLinkReview.account_id == DirectoryAccount.id,
                             DirectoryLinkReview.status == "open")
    rows = db.session.scalars(select(DirectoryAccount).where(
        DirectoryAccount.person_id == person_id,
        DirectoryAccount.entry_state.in_(LIVE_STATES), ~pending)).all()
    return sorted(rows, key=lambda a: (a.last_login_at or a.linked_at or a.created_at, a.id),
                  reverse=True)


def claims_for(person: Person, client) -> dict:
    """`department`, `roles` and (for clients allowed it) `employee_number`: the department
    of the account used most recently, the roles of every live account."""
    accounts = live_accounts(person.id)
    if not accounts:
        return {}
    claims = {"department": accounts[0].directory,
              "roles": sorted({role for a in accounts for role in a.roles or []})}
    if client is not None and getattr(client, "release_employee_number", False) \
            and accounts[0].employee_number:
        claims["employee_number"] = accounts[0].employee_number
    return claims
