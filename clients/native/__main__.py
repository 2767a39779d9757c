"""`python -m clients.native --issuer URL --client-id ID`: sign in through the system browser,
refresh once, sign out. Register the app first:

    flask --app wsgi clients create --name "My app" --type native \\
        --redirect-uri http://127.0.0.1/callback
"""

from __future__ import annotations

import argparse
import os

from .app import NativeApp


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--issuer", default=os.environ.get("TONGBAN_ISSUER",
                                                           "http://127.0.0.1:5000"))
    parser.add_argument("--client-id", required=True)
    args = parser.parse_args()
    app = NativeApp(args.issuer, args.client_id)
    print("Opening your browser to sign in…", flush=True)
    app.login()
    who = app.userinfo()
    print(f"Signed in as {who.get('name') or who.get('preferred_username') or who['sub']} "
          f"(acr {app.claims.get('acr')})")
    app.refresh()
    print("Refreshed the tokens.")
    app.logout()
    print("Signed out.")


if __name__ == "__main__":
    main()
