"""`python -m clients.govapp`: the government app on the command line.

    python -m clients.govapp --state app.json login --issuer URL --client-id ID
    python -m clients.govapp --state app.json scan PAYLOAD [--yes | --no]

`scan` shows the request and asks; --yes / --no answer for you (tests, scripts).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from .app import AppError, GovApp, describe, save_tokens


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--state", type=Path, required=True, help="token file (0600)")
    commands = parser.add_subparsers(dest="command", required=True)
    login = commands.add_parser("login")
    login.add_argument("--issuer", required=True)
    login.add_argument("--client-id", required=True)
    scan = commands.add_parser("scan")
    scan.add_argument("payload")
    answer = scan.add_mutually_exclusive_group()
    answer.add_argument("--yes", action="store_true")
    answer.add_argument("--no", action="store_true")
    args = parser.parse_args()

    if args.command == "login":
        from ..native.app import NativeApp

        app = NativeApp(args.issuer, args.client_id)
        save_tokens(args.state, args.issuer, args.client_id, app.login())
        print("signed in")
        return 0
    app = GovApp(args.state)
    try:
        details = app.scan(args.payload)
        print(describe(details), flush=True)
        yes = args.yes or (not args.no and input("确认登录? Confirm sign-in [y/N] ").lower()
                           .startswith("y"))
        result = app.confirm(args.payload) if yes else app.decline(args.payload)
    except AppError as exc:
        print(json.dumps({"error": exc.error}), file=sys.stderr)
        return 1
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
