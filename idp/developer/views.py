"""Developer portal pages for organisations: founding one, inviting and removing developers,
initial access tokens for dynamic registration, and test accounts for sandbox clients."""

from __future__ import annotations

from flask import abort, g, redirect, render_template, request, url_for
from sqlalchemy import select

from ..authn.registration import RegistrationRefused
from ..clock import utcnow
from ..extensions import db
from ..models import Client, InitialAccessToken, Organisation
from ..oidc.provider import provider
from . import initial_tokens, organisations
from .blueprint import bp, signed_in


@bp.get("/")
@signed_in
def home():
    mine = organisations.organisations_of(g.person)
    db.session.commit()
    return render_template("developer/home.html", organisations=mine)


@bp.post("/organisations")
@signed_in
def create_organisation():
    try:
        org = organisations.create(name=request.form.get("name", ""),
                                   kind=request.form.get("kind", ""), person_id=g.person.id,
                                   now=utcnow())
    except organisations.InvalidOrganisation as exc:
        db.session.rollback()
        return render_template("developer/home.html", error=exc.public,
                               organisations=organisations.organisations_of(g.person)), 400
    db.session.commit()
    return redirect(url_for("developer.organisation", org_id=org.id), code=303)


def _organisation(org_id: int, *, owner: bool = False) -> tuple[Organisation, object]:
    org = db.session.get(Organisation, org_id)
    if org is None:
        abort(404)
    member = organisations.require_member(g.person, org_id, owner=owner)
    return org, member


def render_organisation(org, member, status=200, **shown):
    clients = db.session.scalars(select(Client).where(Client.organisation_id == org.id)
                                 .order_by(Client.created_at.desc())).all()
    tokens = db.session.scalars(select(InitialAccessToken).where(
        InitialAccessToken.organisation_id == org.id)
        .order_by(InitialAccessToken.created_at.desc())).all()
    body = render_template(
        "developer/organisation.html", org=org, member=member, clients=clients, tokens=tokens,
        members=organisations.members(org.id), test_accounts=organisations.test_accounts(org.id),
        now=utcnow(), usable=initial_tokens.usable,
        registration_endpoint=provider().url("/connect/register"), **shown)
    db.session.commit()
    return body, status


@bp.get("/o/<int:org_id>")
@signed_in
def organisation(org_id: int):
    org, member = _organisation(org_id)
    return render_organisation(org, member)


@bp.post("/o/<int:org_id>/invitations")
@signed_in
def invite(org_id: int):
    org, member = _organisation(org_id)
    _row, value = organisations.invite(organisation_id=org.id, note=request.form.get("note", ""),
                                       person_id=g.person.id, now=utcnow())
    link = url_for("developer.join", token=value, _external=False)
    return render_organisation(org, member, invitation_link=link)


@bp.route("/join/<token>", methods=["GET", "POST"])
@signed_in
def join(token: str):
    row = organisations.find_invitation(token, utcnow())
    if row is None:
        db.session.commit()
        return render_template("developer/join.html", org=None), 404
    org = db.session.get(Organisation, row.organisation_id)
    if request.method == "POST":
        organisations.accept(row, g.person, utcnow())
        db.session.commit()
        return redirect(url_for("developer.organisation", org_id=org.id), code=303)
    db.session.commit()
    return render_template("developer/join.html", org=org, token=token)


@bp.post("/o/<int:org_id>/members/<int:person_id>/remove")
@signed_in
def remove_member(org_id: int, person_id: int):
    org, _member = _organisation(org_id, owner=True)
    organisations.remove_member(organisation_id=org.id, person_id=person_id, by=g.person.id,
                                now=utcnow())
    db.session.commit()
    return redirect(url_for("developer.organisation", org_id=org.id), code=303)


@bp.post("/o/<int:org_id>/tokens")
@signed_in
def issue_token(org_id: int):
    org, member = _organisation(org_id)
    environment = request.form.get("environment")
    try:
        max_uses = int(request.form.get("max_uses", "1"))
        days = int(request.form.get("days", "7"))
        _row, value = initial_tokens.issue(
            organisation_id=org.id, label=request.form.get("label", ""),
            environment=environment, max_uses=max_uses, days=days, person_id=g.person.id,
            now=utcnow())
    except ValueError:
        db.session.rollback()
        return render_organisation(org, member, status=400, token_error=True)
    return render_organisation(org, member, new_token=value)


@bp.post("/o/<int:org_id>/tokens/<int:token_id>/revoke")
@signed_in
def revoke_token(org_id: int, token_id: int):
    org, _member = _organisation(org_id)
    row = db.session.get(InitialAccessToken, token_id)
    if row is None or row.organisation_id != org.id:
        abort(404)
    initial_tokens.revoke(row, person_id=g.person.id, now=utcnow())
    db.session.commit()
    return redirect(url_for("developer.organisation", org_id=org.id), code=303)


@bp.post("/o/<int:org_id>/test-accounts")
@signed_in
def create_test_account(org_id: int):
    org, member = _organisation(org_id)
    try:
        person = organisations.create_test_account(
            organisation_id=org.id, username=request.form.get("username", ""),
            password=request.form.get("password", ""),
            display_name=request.form.get("display_name", ""), person_id=g.person.id,
            now=utcnow())
    except RegistrationRefused as exc:
        db.session.rollback()
        return render_organisation(org, member, status=400, test_account_problems=exc.problems)
    return render_organisation(org, member, new_test_account=person.username)
