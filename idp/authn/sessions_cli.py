"""`flask --app wsgi sessions expire`: end sessions past their limits, so that their relying
parties are told (back-channel logout) even if the person never comes back. The logout worker
runs the same sweep every minute; this command is for cron or a one-off."""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import AppGroup

from ..clock import utcnow
from ..extensions import db
from . import session_admin

sessions_cli = AppGroup("sessions", help="SSO sessions: end the expired ones.")


@sessions_cli.command("expire")
@click.option("--batch", type=int, default=500, show_default=True,
              help="Sessions ended per transaction.")
def expire(batch):
    settings = current_app.extensions["tongban.settings"]
    total = 0
    while True:
        ended = session_admin.expire_due(utcnow(), settings, limit=batch)
        db.session.commit()
        total += ended
        if ended < batch:
            break
    click.echo(f"ended {total} expired session(s)")
