"""`flask --app wsgi logout-worker`: deliver back-channel logout tokens, and end expired sessions
so theirs are delivered too. A deployment runs one per node (they share the work safely);
`make run` starts one."""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import with_appcontext

from ..authn import session_admin
from ..clock import utcnow
from ..extensions import db
from . import logout_worker
from .provider import provider


def _sweep(now) -> None:
    settings = current_app.extensions["tongban.settings"]
    while session_admin.expire_due(now, settings, limit=500) == 500:
        db.session.commit()
    db.session.commit()


@click.command("logout-worker")
@click.option("--once", is_flag=True, help="One sweep and one pass over what is due, then exit.")
@click.option("--until-idle", is_flag=True, help="Exit when nothing is due now.")
@click.option("--max-seconds", type=float, default=None, help="Exit after this long.")
@click.option("--poll-interval", type=float, default=1.0, show_default=True)
@click.option("--sweep-interval", type=float, default=60.0, show_default=True,
              help="Seconds between sweeps for expired sessions.")
@with_appcontext
def logout_worker_command(once, until_idle, max_seconds, poll_interval, sweep_interval):
    """Deliver queued back-channel logout tokens, with retries and backoff."""
    total = logout_worker.run(
        provider(), utcnow, sweep=_sweep, once=once, until_idle=until_idle,
        max_seconds=max_seconds, poll_interval=poll_interval, sweep_interval=sweep_interval)
    click.echo(f"delivered {total.delivered}, retrying {total.retrying}, failed {total.failed}")


