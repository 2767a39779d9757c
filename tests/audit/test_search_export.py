"""Officer search over the audit trail (keyset pagination, every filter) and exports."""

from __future__ import annotations

import csv
import io
import json
from datetime import timedelta

from idp import audit
from idp.audit_trail import search
from idp.extensions import db

from .conftest import verify


def seed(app, frozen_clock):
    with app.app_context():
        for i in range(120):
            audit.record("login.failed" if i % 3 == 0 else "login.succeeded",
                         person_id=1 if i % 2 == 0 else 2, client_id="tbc_a" if i < 60 else None,
                         ip=f"198.51.100.{i % 4}", actor_id=9 if i == 7 else None, number=i)
            frozen_clock.advance(60)
        db.session.commit()


def test_keyset_pages_walk_everything_once(app, frozen_clock):
    seed(app, frozen_clock)
    seen, cursor = [], None
    with app.app_context():
        while True:
            page = search.search(search.AuditFilter(), cursor=cursor, limit=50)
            seen += [r.detail["number"] for r in page.rows]
            cursor = page.next_cursor
            if cursor is None:
                break
    assert seen == list(range(119, -1, -1))


def test_filters(app, frozen_clock):
    seed(app, frozen_clock)
    start = frozen_clock.now() - timedelta(minutes=120)
    with app.app_context():
        def numbers(**kw):
            return sorted(r.detail["number"] for r in search.search(
                search.AuditFilter(**kw), limit=500).rows)
        assert numbers(person_id=1) == list(range(0, 120, 2))
        assert numbers(client_id="tbc_a") == list(range(60))
        assert numbers(event="login.failed") == list(range(0, 120, 3))
        assert numbers(ip="198.51.100.3") == list(range(3, 120, 4))
        assert numbers(actor_id=9) == [7]
        assert numbers(actors_only=True) == [7]
        assert numbers(since=start + timedelta(minutes=100)) == list(range(100, 120))
        assert numbers(until=start + timedelta(minutes=2)) == [0, 1]
        assert numbers(person_id=2, event="login.failed") == list(range(3, 120, 6))


def test_bad_cursor_is_ignored(app, frozen_clock):
    seed(app, frozen_clock)
    with app.app_context():
        assert len(search.search(search.AuditFilter(), cursor="%%%").rows) == 50


def test_cli_export_jsonl_is_verifiable(app, frozen_clock, tmp_path):
    seed(app, frozen_clock)
    out = tmp_path / "all.jsonl"
    result = app.test_cli_runner().invoke(args=["audit", "export", "--output", str(out)])
    assert result.exit_code == 0, result.output
    records = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(records) == 120
    key = app.extensions["tongban.audit_key"]
    from idp.audit_trail.chain import GENESIS, verify_records

    assert verify_records(key, records, GENESIS).ok
    assert verify(app).exit_code == 0


def test_cli_export_csv_filters(app, frozen_clock, tmp_path):
    seed(app, frozen_clock)
    out = tmp_path / "x.csv"
    result = app.test_cli_runner().invoke(args=["audit", "export", "--format", "csv",
                                                "--event", "login.failed", "--output", str(out)])
    assert result.exit_code == 0, result.output
    table = list(csv.DictReader(io.StringIO(out.read_text())))
    assert len(table) == 40 and {r["event"] for r in table} == {"login.failed"}
    assert json.loads(table[0]["detail"]) == {"number": 0}


def test_csv_cells_cannot_become_formulas():
    from idp.audit_trail.export import _cell

    assert _cell("=HYPERLINK(1)") == "'=HYPERLINK(1)"
    assert _cell("tbc_x") == "tbc_x"
