"""WSGI entry point: `gunicorn wsgi:app`, `flask --app wsgi ...`.

A configuration problem prints one clear message and exits, instead of a traceback.
"""

import logging
import sys

from idp import ConfigError, create_app

logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
# Alembic announces each of its plugins at INFO when imported: noise at every start.
logging.getLogger("alembic.runtime.plugins").setLevel(logging.WARNING)

try:
    app = create_app()
except ConfigError as exc:
    print(exc, file=sys.stderr)
    sys.exit(78)  # EX_CONFIG
