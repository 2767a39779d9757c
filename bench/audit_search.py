"""Officer searches over a large audit trail on PostgreSQL.

Creates a database of its own, migrates it, seeds N hash-chained audit records (default ten
million, spread over 180 days: 50,000 people, 200 clients, 100,000 addresses, a realistic mix of
events and a few officers' actions), then times the console's own search code (keyset pages,
newest first) for every filter, deep pages included, shows the plan PostgreSQL chose, and
optionally times `audit verify` over the whole chain. The database is dropped at the end, also
on failure or Ctrl-C.

    .venv/bin/python bench/audit_search.py                 # 10 million records
    .venv/bin/python bench/audit_search.py --rows 200000   # a quick run

Bounded: seeding stops at --rows or --max-seed-seconds, whichever comes first; each timed query
runs a fixed number of times. Results are printed and written to bench/results/.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import create_engine, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

EVENTS = [("login.succeeded", 40), ("token.issued", 25), ("code.issued", 12),
          ("session.started", 8), ("session.ended", 7), ("login.failed", 5),
          ("token.refreshed", 2), ("consent.granted", 1)]
PEOPLE, CLIENTS, ADDRESSES, OFFICERS = 50_000, 200, 100_000, 5
INDEXES = [("ix_audit_event_at_id", "at, id"),
           ("ix_audit_event_person_at_id", "person_id, at, id"),
           ("ix_audit_event_client_at_id", "client_id, at, id"),
           ("ix_audit_event_event_at_id", "event, at, id"),
           ("ix_audit_event_ip_at_id", "ip, at, id"),
           ("ix_audit_event_actor_at_id", "actor_id, at, id")]


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


def make_app(url: str, work: Path):
    from idp import create_app
    from idp.settings import Settings

    settings = Settings(env="test", issuer="http://127.0.0.1:5999",
                        secret_key="bench-secret-" + "x" * 32, database_url=url,
                        instance_dir=work, keys_dir=work / "keys",
                        generate_keys=True).completed()
    return create_app(settings)


def seed(app, url: str, rows: int, max_seconds: float, rng: random.Random) -> dict:
    """COPY `rows` chained records in chain order (one writer), indexes built afterwards."""
    import psycopg

    from idp.audit_trail.chain import GENESIS, at_text, canonical_json, record_hash

    key = app.extensions["tongban.audit_key"]
    events = [e for e, w in EVENTS for _ in range(w)]
    clients = [f"tbc_bench{n:04d}" for n in range(CLIENTS)]
    start = datetime.utcnow() - timedelta(days=180)
    step = timedelta(days=180) / rows
    dsn = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    timings = {}
    with psycopg.connect(dsn) as conn:
        with conn.cursor() as cur:
            for name, _ in INDEXES:
                cur.execute(f"DROP INDEX IF EXISTS {name}")
        conn.commit()
        began = time.monotonic()
        prev, written = GENESIS, 0
        with conn.cursor() as cur, cur.copy(
                "COPY audit_event (at, event, person_id, client_id, ip, sid, actor_id, detail, "
                "prev_hash, hash) FROM STDIN") as copy:
            for i in range(rows):
                at = start + step * i
                event = rng.choice(events)
                person = rng.randrange(1, PEOPLE + 1)
                actor = None
                detail: dict = {}
                if rng.random() < 0.001:
                    event, actor, detail = "account.viewed", PEOPLE + rng.randrange(OFFICERS), {}
                elif event.startswith("login."):
                    detail = {"method": "password"}
                    if event == "login.failed":
                        detail["reason"] = "bad_password"
                client = rng.choice(clients) if event in (
                    "token.issued", "code.issued", "token.refreshed", "consent.granted") else None
                ip = f"10.{(n := rng.randrange(ADDRESSES)) >> 16}.{(n >> 8) & 255}.{n & 255}"
                sid = f"sid{person:06d}{i % 7}" if event.startswith("session.") else None
                content = {"at": at_text(at), "event": event, "person_id": person,
                           "client_id": client, "ip": ip, "sid": sid, "actor_id": actor,
                           "detail": detail}
                digest = record_hash(key, content, prev)
                copy.write_row((at, event, person, client, ip, sid, actor, canonical_json(detail),
                                prev, digest))
                prev = digest
                written += 1
                if written % 500_000 == 0:
                    log(f"  {written:,} records ({time.monotonic() - began:.0f} s)")
                    if time.monotonic() - began > max_seconds:
                        log("  seeding time limit reached")
                        break
        conn.commit()
        timings["seed_copy_s"] = round(time.monotonic() - began, 1)
        began = time.monotonic()
        with conn.cursor() as cur:
            for name, columns in INDEXES:
                cur.execute(f"CREATE INDEX {name} ON audit_event ({columns})")
            cur.execute("ANALYZE audit_event")
        conn.commit()
        timings["index_build_s"] = round(time.monotonic() - began, 1)
        with conn.cursor() as cur:
            cur.execute("SELECT pg_total_relation_size('audit_event')")
            timings["table_and_indexes_mb"] = round(cur.fetchone()[0] / 1e6)
    timings["rows"] = written
    return timings


def timed(fn, repeats: int) -> dict:
    samples = []
    for _ in range(repeats):
        began = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - began) * 1000)
    samples.sort()
    return {"median_ms": round(statistics.median(samples), 2),
            "p95_ms": round(samples[max(int(len(samples) * 0.95) - 1, 0)], 2),
            "max_ms": round(samples[-1], 2)}


def searches(app, rng: random.Random, repeats: int) -> list[dict]:
    from idp.audit_trail import search
    from idp.extensions import db

    results = []
    now = datetime.utcnow()

    def case(name: str, make_filter, deep: int = 0):
        def run():
            f = make_filter()
            page = search.search(f)
            for _ in range(deep):
                if page.next_cursor is None:
                    break
                page = search.search(f, cursor=page.next_cursor)
            db.session.rollback()
        with app.app_context():
            stats = timed(run, repeats)
            plan = _plan(make_filter())
        results.append({"search": name, "pages": deep + 1, **stats, "plan": plan})
        log(f"  {name:<44} median {stats['median_ms']:>8} ms  p95 {stats['p95_ms']:>8} ms"
            f"  [{plan}]")

    person = lambda: rng.randrange(1, PEOPLE + 1)  # noqa: E731
    client = lambda: f"tbc_bench{rng.randrange(CLIENTS):04d}"  # noqa: E731
    ip = lambda: f"10.{(n := rng.randrange(ADDRESSES)) >> 16}.{(n >> 8) & 255}.{n & 255}"  # noqa: E731

    def day_window():
        since = now - timedelta(days=rng.randrange(1, 179))
        return search.AuditFilter(since=since, until=since + timedelta(days=1))

    case("newest records (no filter), first page", lambda: search.AuditFilter())
    case("newest records, 20 pages deep", lambda: search.AuditFilter(), deep=19)
    case("by person", lambda: search.AuditFilter(person_id=person()))
    case("by person, all pages", lambda: search.AuditFilter(person_id=person()), deep=50)
    case("by client", lambda: search.AuditFilter(client_id=client()))
    case("by client, 20 pages deep", lambda: search.AuditFilter(client_id=client()), deep=19)
    case("by event (login.failed)", lambda: search.AuditFilter(event="login.failed"))
    case("by event, 20 pages deep", lambda: search.AuditFilter(event="login.failed"), deep=19)
    case("by IP address", lambda: search.AuditFilter(ip=ip()))
    case("officers' actions", lambda: search.AuditFilter(actors_only=True))
    case("by officer", lambda: search.AuditFilter(actor_id=PEOPLE + rng.randrange(OFFICERS)))
    case("one day, months ago", day_window)
    case("one day, months ago, 20 pages deep", day_window, deep=19)
    case("person + event", lambda: search.AuditFilter(person_id=person(), event="login.failed"))
    case("client + one day", lambda: search.AuditFilter(
        client_id=client(), since=now - timedelta(days=90), until=now - timedelta(days=89)))
    return results


def _plan(f) -> str:
    """The index (or scan) PostgreSQL picks for the first page of this filter."""
    from sqlalchemy.dialects import postgresql

    from idp.audit_trail.search import PAGE_SIZE, _filtered
    from idp.extensions import db
    from idp.models import AuditEvent

    query = _filtered(f).order_by(AuditEvent.at.desc(), AuditEvent.id.desc()).limit(PAGE_SIZE)
    sql = str(query.compile(dialect=postgresql.dialect(), compile_kwargs={"literal_binds": True}))
    lines = [row[0] for row in db.session.execute(text("EXPLAIN " + sql))]
    db.session.rollback()
    scans = [line.split("->")[-1].split("  (cost")[0].strip() for line in lines
             if "Scan" in line or "Sort" in line]
    return "; ".join(scans) or lines[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--database-url",
                        default=os.environ.get("BENCH_DATABASE_URL",
                                               "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"),
                        help="Server to use; a database of its own is created and dropped.")
    parser.add_argument("--max-seed-seconds", type=float, default=1800)
    parser.add_argument("--repeats", type=int, default=30)
    parser.add_argument("--no-verify", action="store_true", help="Skip timing `audit verify`.")
    parser.add_argument("--seed", type=int, default=8)
    args = parser.parse_args()

    rng = random.Random(args.seed)
    base = make_url(args.database_url)
    name = f"tongban_bench_audit_{os.getpid()}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    url = base.set(database=name).render_as_string(hide_password=False)
    report: dict = {"rows_requested": args.rows, "started": datetime.utcnow().isoformat()}
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        with tempfile.TemporaryDirectory() as work:
            app = make_app(url, Path(work))
            with app.app_context():
                from flask_migrate import upgrade

                upgrade()
            log(f"seeding {args.rows:,} chained audit records into {name}")
            report["seed"] = seed(app, url, args.rows, args.max_seed_seconds, rng)
            log(f"seeded: {report['seed']}")
            log("officer searches (the console's search code, keyset pages of 50)")
            report["searches"] = searches(app, rng, args.repeats)
            if not args.no_verify:
                log("audit verify over the whole chain")
                began = time.monotonic()
                result = app.test_cli_runner().invoke(args=["audit", "verify"])
                report["verify"] = {"seconds": round(time.monotonic() - began, 1),
                                    "exit_code": result.exit_code,
                                    "output": result.output.strip().splitlines()[-1]}
                log(f"verify: {report['verify']}")
            from idp.extensions import db

            with app.app_context():
                db.engine.dispose()
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
        log(f"dropped {name}")
    out = ROOT / "bench" / "results"
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"audit_search-{time.strftime('%Y%m%d-%H%M%S')}.json"
    path.write_text(json.dumps(report, indent=2))
    log(f"results: {path}")


if __name__ == "__main__":
    main()
