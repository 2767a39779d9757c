"""`python -m clients.terminal --issuer URL --client-id ID`: sign one citizen in on a terminal.

    flask --app wsgi clients create --name "自助终端" --type terminal
"""

from __future__ import annotations

import argparse
import os
import sys

from .app import Terminal, TerminalError


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--issuer", default=os.environ.get("TONGBAN_ISSUER",
                                                           "http://127.0.0.1:5000"))
    parser.add_argument("--client-id", required=True)
    args = parser.parse_args()
    terminal = Terminal(args.issuer, args.client_id, show=lambda text: print(text, flush=True))
    try:
        tokens = terminal.sign_in()
    except TerminalError as exc:
        print(f"not signed in: {exc.error}", flush=True)
        return 1
    who = terminal.userinfo(tokens)
    print(f"欢迎 Welcome, {who.get('name') or who.get('preferred_username') or who['sub']}",
          flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
