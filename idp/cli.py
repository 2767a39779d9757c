"""Operator commands (`flask --app wsgi <group> <command>`): keys, clients, users, demo data."""

from __future__ import annotations

import json
import sys

import click
from flask import Flask, current_app
from flask.cli import AppGroup
from sqlalchemy import select

from .clock import to_timestamp, utcnow
from .extensions import db

keys_cli = AppGroup("keys", help="Signing keys: create, rotate, list, prune.")
clients_cli = AppGroup("clients", help="Relying parties: create, list, disable.")
users_cli = AppGroup("users", help="People: create.")
demo_cli = AppGroup("demo", help="Demo data for the local embedded default.")


def _provider():
    return current_app.extensions["tongban.provider"]


# --- keys ----------------------------------------------------------------------------------------

@keys_cli.command("init")
def keys_init():
    """Create an active key for every algorithm that has none."""
    created = _provider().keys.ensure()
    click.echo("created: " + (", ".join(created) if created else "nothing (all present)"))


@keys_cli.command("rotate")
@click.option("--alg", "algs", multiple=True, help="RS256, PS256 or ES256 (default: all).")
@click.option("--publish-ahead", type=int, default=None,
              help="Seconds between publishing the new key and signing with it.")
def keys_rotate(algs, publish_ahead):
    """Publish new keys; they sign after the publish-ahead delay, the old keys stay published
    until every token they signed has expired."""
    from .oidc.keys import SIGNING_ALGS

    prov = _provider()
    settings = prov.settings
    ahead = settings.key_publish_ahead if publish_ahead is None else publish_ahead
    for alg in algs or SIGNING_ALGS:
        new = prov.keys.rotate(alg, publish_ahead=ahead, token_ttl=settings.max_token_ttl)
        click.echo(f"{alg}: new key {new.kid} signs from {new.activates_at} (unix time)")


@keys_cli.command("list")
def keys_list():
    now = to_timestamp(utcnow())
    keys = _provider().keys
    signing = {alg: k.kid for alg in ("RS256", "PS256", "ES256")
               if (k := keys.signing_key(alg, now))}
    for k in sorted(keys.keys(), key=lambda k: (k.alg, k.activates_at)):
        state = ("signing" if signing.get(k.alg) == k.kid else
                 "pending" if k.activates_at > now else
                 "retired" if k.published(now) else "expired")
        click.echo(f"{k.alg}  {k.kid}  {state}  activates={k.activates_at} "
                   f"retires={k.retires_at or '-'}")


@keys_cli.command("prune")
def keys_prune():
    """Delete key files that are no longer published."""
    removed = _provider().keys.prune()
    click.echo("removed: " + (", ".join(removed) if removed else "nothing"))


# --- clients -------------------------------------------------------------------------------------

@clients_cli.command("create")
@click.option("--name", required=True)
@click.option("--type", "client_type", default="web",
              type=click.Choice(["web", "spa", "native", "service", "mini_program", "terminal"]))
@click.option("--redirect-uri", "redirect_uris", multiple=True)
@click.option("--post-logout-redirect-uri", "post_logout", multiple=True)
@click.option("--frontchannel-logout-uri", default=None)
@click.option("--backchannel-logout-uri", default=None)
@click.option("--scope", default=None, help="Space-separated scopes the client may ask for.")
@click.option("--first-party", is_flag=True, help="A government portal: no consent page.")
@click.option("--auth-method", default=None,
              type=click.Choice(["client_secret_basic", "client_secret_post"]))
@click.option("--id-token-alg", default="RS256", type=click.Choice(["RS256", "PS256", "ES256"]))
@click.option("--pairwise", is_flag=True, help="Pairwise subject identifiers.")
@click.option("--no-pkce", is_flag=True, help="Confidential clients only: allow requests "
              "without PKCE (some certified relying parties send none).")
@click.option("--require-nonce", is_flag=True)
@click.option("--min-acr", default=None,
              type=click.Choice(["urn:tongban:aal1", "urn:tongban:aal2"]),
              help="Lowest authentication level the client accepts (aal2: two factors).")
@click.option("--release-employee-number", is_flag=True,
              help="Release department staff's employee_number (scope 'department').")
@click.option("--client-id", default=None, help="Fixed client id (demo and tests).")
@click.option("--client-secret", default=None, help="Fixed client secret (demo and tests).")
@click.option("--min-real-name-level", type=click.IntRange(0, 4), default=0,
              help="Real-name level (0-4) a person must reach before signing in here.")
@click.option("--full-identity-approved", is_flag=True,
              help="Approved to receive the full legal name and document number (each person "
              "still consents separately).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def clients_create(name, client_type, redirect_uris, post_logout, frontchannel_logout_uri,
                   backchannel_logout_uri, scope,
                   first_party, auth_method, id_token_alg, pairwise, no_pkce, require_nonce,
                   min_acr, release_employee_number, client_id, client_secret,
                   min_real_name_level, full_identity_approved, as_json):
    """Register a client and print its id and secret (the secret is shown only now)."""
    from .developer.clients import ClientRejected, ClientSpec, create, describe

    spec = ClientSpec(name=name, client_type=client_type, redirect_uris=list(redirect_uris),
                      post_logout_redirect_uris=list(post_logout),
                      frontchannel_logout_uri=frontchannel_logout_uri,
                      backchannel_logout_uri=backchannel_logout_uri, scope=scope,
                      first_party=first_party, require_pkce=not no_pkce,
                      require_nonce=require_nonce, auth_method=auth_method,
                      id_token_alg=id_token_alg,
                      subject_type="pairwise" if pairwise else "public", client_id=client_id,
                      client_secret=client_secret, min_acr=min_acr,
                      min_real_name_level=min_real_name_level,
                      full_identity_approved=full_identity_approved,
                      release_employee_number=release_employee_number)
    settings = current_app.extensions["tongban.settings"]
    try:
        client, secret = create(spec, now=utcnow(), allow_http_loopback=not settings.is_production)
    except ClientRejected as exc:
        db.session.rollback()
        raise click.ClickException("client rejected:\n  " + "\n  ".join(exc.problems)) from exc
    db.session.commit()
    if as_json:
        click.echo(json.dumps({**describe(client), "client_secret": secret}))
    else:
        click.echo(f"client_id:     {client.client_id}")
        if secret:
            click.echo(f"client_secret: {secret}   (shown once; stored only as a hash)")


@clients_cli.command("list")
@click.option("--json", "as_json", is_flag=True)
def clients_list(as_json):
    from .developer.clients import describe
    from .models import Client

    rows = [describe(c) for c in db.session.scalars(select(Client).order_by(Client.id))]
    if as_json:
        click.echo(json.dumps(rows))
        return
    for row in rows:
        click.echo(f"{row['client_id']}  {row['status']:8}  {row['type']:7}  {row['name']}")


@clients_cli.command("disable")
@click.argument("client_id")
def clients_disable(client_id):
    from . import audit
    from .models import Client

    client = db.session.scalar(select(Client).where(Client.client_id == client_id))
    if client is None:
        raise click.ClickException(f"no client {client_id}")
    client.status = "disabled"
    client.updated_at = utcnow()
    audit.record("client.disabled", client_id=client.client_id, via="cli")
    db.session.commit()
    click.echo(f"disabled {client_id}")


# --- users ---------------------------------------------------------------------------------------

@users_cli.command("create")
@click.option("--username", required=True)
@click.option("--email", default="")
@click.option("--phone", default="")
@click.option("--name", "display_name", default="")
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True,
              help="Prompted for when omitted (never put it in shell history in production).")
def users_create(username, email, phone, display_name, password):
    from .authn.registration import RegistrationRefused, register

    try:
        person = register(username=username, password=password, email=email, phone=phone,
                          display_name=display_name, now=utcnow(), via="cli")
    except RegistrationRefused as exc:
        db.session.rollback()
        raise click.ClickException(f"refused: {exc.problems}") from exc
    db.session.commit()
    click.echo(f"created person {person.username} (sub {person.sub})")


@users_cli.command("grant-role")
@click.argument("username")
@click.argument("role", type=click.Choice(["system_admin", "security_officer", "auditor",
                                           "hall_officer"]))
def users_grant_role(username, role):
    """Give a person an administrative role (e.g. system_admin, who approves clients)."""
    from . import audit
    from .models import Person, PersonRole

    person = db.session.scalar(select(Person).where(Person.username == username))
    if person is None or person.is_test_account:
        raise click.ClickException(f"no such person: {username}")
    if db.session.scalar(select(PersonRole).where(PersonRole.person_id == person.id,
                                                  PersonRole.role == role)) is None:
        db.session.add(PersonRole(person_id=person.id, role=role, granted_at=utcnow()))
        audit.record("role.granted", person_id=person.id, role=role, via="cli")
    db.session.commit()
    click.echo(f"{username} is {role}")


@users_cli.command("unlock")
@click.argument("account")
@click.option("--officer", required=True, help="Who unlocks (recorded in the audit trail).")
def users_unlock(account, officer):
    """End the brute-force lock of ACCOUNT (username, mobile number or email)."""
    from .authn import throttle
    from .authn.password_login import find_person

    person = find_person(account)
    if person is None:
        raise click.ClickException(f"no account {account}")
    was_locked = throttle.is_locked(person.id)
    throttle.unlock(person.id, now=utcnow(), by=officer)
    db.session.commit()
    click.echo(f"unlocked {person.username}" if was_locked
               else f"{person.username} was not locked; failure counters cleared")


# --- demo ----------------------------------------------------------------------------------------

@demo_cli.command("seed")
@click.option("--portal", "portals", multiple=True, required=True,
              help="NAME=BASE_URL, e.g. 'Portal A=http://127.0.0.1:5001'.")
@click.option("--output", type=click.Path(dir_okay=False), required=True,
              help="Where to write the demo portals' client credentials (JSON, 0600).")
@click.option("--require-level", "required", multiple=True,
              help="NAME=LEVEL: the portal NAME requires this real-name level (0-4).")
def demo_seed(portals, output, required):
    """Create the demo citizen and one first-party client per portal (idempotent). The demo
    citizen starts unverified: the simulated registry knows them, so they can verify."""
    import os

    from .authn.registration import register
    from .developer.clients import ClientSpec, create
    from .models import Client, Person

    now = utcnow()
    if db.session.scalar(select(Person).where(Person.username == "demo")) is None:
        person = register(username="demo", password="tongban-demo-2026", phone="13800138000",
                          email="demo@example.cn", display_name="张三", now=now, via="demo")
        person.email_verified = True
        person.phone_verified = True
    credentials = {}
    try:
        with open(output) as fh:
            credentials = json.load(fh)
    except (FileNotFoundError, ValueError):
        credentials = {}
    levels = dict(item.rsplit("=", 1) for item in required)
    if any(value not in ("0", "1", "2", "3", "4") for value in levels.values()):
        raise click.ClickException("--require-level takes NAME=LEVEL with LEVEL 0-4")
    for item in portals:
        name, _, base = item.partition("=")
        base = base.rstrip("/")
        known = credentials.get(name)
        existing = known and db.session.scalar(select(Client).where(
            Client.client_id == known["client_id"]))
        if existing:
            # Portals seeded before back-channel logout existed learn their endpoint now.
            existing.backchannel_logout_uri = existing.backchannel_logout_uri or (
                base + "/backchannel-logout")
            existing.min_real_name_level = int(levels.get(name, 0))
            continue
        client, secret = create(ClientSpec(
            name=name, client_type="web", redirect_uris=[base + "/callback"],
            post_logout_redirect_uris=[base + "/"], frontchannel_logout_uri=base
            + "/frontchannel-logout", backchannel_logout_uri=base + "/backchannel-logout",
            first_party=True), now=now, allow_http_loopback=True)
        client.min_real_name_level = int(levels.get(name, 0))
        credentials[name] = {"client_id": client.client_id, "client_secret": secret,
                             "base_url": base}
    db.session.commit()
    fd = os.open(output, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        json.dump(credentials, fh, indent=2)
    click.echo(f"demo citizen: demo / tongban-demo-2026; portals written to {output}",
               file=sys.stderr)


@users_cli.command("disable")
@click.argument("username")
def users_disable(username):
    """Disable an account: its sessions end and every portal that joined them is told."""
    from .authn.account_status import disable
    from .models import Person

    person = db.session.scalar(select(Person).where(Person.username == username))
    if person is None:
        raise click.ClickException(f"no person {username}")
    ended = disable(person, utcnow(), actor_id=None, via="cli")
    db.session.commit()
    click.echo(f"disabled {username}; {ended} session(s) ended")


def register(app: Flask) -> None:
    from .admin.roles_cli import roles_cli
    from .audit_trail.cli import audit_cli
    from .authn.sessions_cli import sessions_cli
    from .oidc.logout_worker_cli import logout_worker_command

    for group in (keys_cli, clients_cli, users_cli, demo_cli, audit_cli, roles_cli,
                  sessions_cli):
        app.cli.add_command(group)
    app.cli.add_command(logout_worker_command)
