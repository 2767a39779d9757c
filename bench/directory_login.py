"""Department login through the LDAP bridge, against a local OpenLDAP slapd.

    .venv/bin/python -m bench.directory_login [--logins 300] [--threads 1] [--users 50]

Starts a slapd on loopback ports with the test trees (tests/directory/slapd.py), an IdP on a
temporary SQLite database with TONGBAN_DIRECTORIES pointing at it, and measures, side by side:

- `bridge`: POST /login/department through the IdP (resolve the department, StartTLS, service
  bind, search, group search, bind as the user, refresh the account, audit, open the session);
- `directory`: the directory's own part of it, LdapDirectory.authenticate() alone (connect,
  StartTLS, service bind, search, group search, user bind);
- `ping`: connect, StartTLS and service bind only.

Prints p50, p99 and logins/s for each (JSON with --json). The users are finance staff in a
staff-only copy of the finance directory, so each login creates nothing after the warm-up.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.directory import slapd as S  # noqa: E402


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def summary(name: str, samples: list[float], wall: float) -> dict:
    return {"name": name, "n": len(samples), "p50_ms": round(percentile(samples, 50) * 1000, 2),
            "p99_ms": round(percentile(samples, 99) * 1000, 2),
            "mean_ms": round(statistics.fmean(samples) * 1000, 2),
            "per_second": round(len(samples) / wall, 1)}


def run(kind: str, call, n: int, threads: int) -> dict:
    samples: list[float] = []

    def one(i: int) -> None:
        started = time.perf_counter()
        call(i)
        samples.append(time.perf_counter() - started)

    started = time.perf_counter()
    if threads == 1:
        for i in range(n):
            one(i)
    else:
        with ThreadPoolExecutor(threads) as pool:
            list(pool.map(one, range(n)))
    return summary(kind, samples, time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--logins", type=int, default=300)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    from flask_migrate import upgrade

    from idp import create_app
    from idp.directory.config import load
    from idp.directory.ldap import LdapDirectory
    from idp.oidc.keys import KeyStore
    from idp.settings import Settings
    from tests.helpers import csrf_token

    work = Path(tempfile.mkdtemp(prefix="tongban-bench-ldap-"))
    pki = S.make_pki(work)
    server = S.build(work, pki, S.write_data(work / "data"), "primary")
    server.start()
    try:
        password_file = work / "service-password"
        password_file.write_text(S.SERVICE_PASSWORD)
        config = work / "directories.toml"
        # The bench logs in as staff of a staff-only copy of the finance directory.
        config.write_text(S.directories_toml(server, pki, password_file).replace(
            "link_citizens = true", "link_citizens = false"))
        KeyStore(work / "keys").ensure()
        app = create_app(Settings(
            env="test", issuer="http://127.0.0.1:5000", secret_key="bench-" + "x" * 40,
            database_url=f"sqlite:///{work / 'tongban.db'}", instance_dir=work,
            keys_dir=work / "keys", generate_keys=False, directories=str(config)).completed())
        with app.app_context():
            upgrade()
        users = [f"f{n:06d}" for n in range(100, 100 + args.users)]

        def browser():
            http = app.test_client()
            page = http.get("/login/department")
            return http, csrf_token(page.get_data(as_text=True))

        # A fresh browser per login (prepared outside the timing), as when staff arrive one by
        # one: no earlier session to replace.
        browsers = [browser() for _ in range(args.logins + len(users))]

        def bridge(i: int) -> None:
            http, token = browsers[i]
            response = http.post("/login/department", data={
                "csrf_token": token, "department": "finance", "account": users[i % len(users)],
                "password": S.STAFF_PASSWORD})
            assert response.status_code == 303, response.status_code

        for i in range(len(users)):      # warm-up: first logins create the staff accounts
            bridge(args.logins + i)
        directory = LdapDirectory(load(config)[0])

        def direct(i: int) -> None:
            directory.authenticate(users[i % len(users)], S.STAFF_PASSWORD)

        results = [run("bridge", bridge, args.logins, args.threads),
                   run("directory", direct, args.logins, args.threads),
                   run("ping", lambda i: directory.ping(), args.logins, args.threads)]
    finally:
        server.stop()
    if args.json:
        print(json.dumps({"threads": args.threads, "results": results}))
        return
    print(f"department login through the LDAP bridge ({args.logins} logins, "
          f"{args.threads} thread(s), slapd with {len(users)} distinct users, StartTLS)")
    print(f"{'':10} {'p50 ms':>8} {'p99 ms':>8} {'mean ms':>8} {'per s':>8}")
    for r in results:
        print(f"{r['name']:10} {r['p50_ms']:8} {r['p99_ms']:8} {r['mean_ms']:8} "
              f"{r['per_second']:8}")
    bridge_ms, directory_ms = results[0]["p50_ms"], results[1]["p50_ms"]
    print(f"the directory's own bind+search is {directory_ms / bridge_ms:.0%} of a bridge "
          "login at p50")


if __name__ == "__main__":
    main()
