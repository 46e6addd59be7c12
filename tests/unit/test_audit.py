"""record_audit on the embedded DuckDB warehouse (PostgreSQL: tests/integration/test_pg_roles.py)."""

from __future__ import annotations

import json
from datetime import date

from dagster_project.audit import record_audit
from dagster_project.warehouse import Warehouse


def test_record_audit_creates_the_log_and_appends_entries_in_order(tmp_path):
    warehouse = Warehouse(duckdb_path=str(tmp_path / "w.duckdb"))
    with warehouse.session() as s:
        record_audit(s, "alice", "approve_price", "pricing_proposals/7",
                     {"status": "pending"}, {"status": "approved", "from": date(2024, 3, 1)})
    with warehouse.session() as s:
        record_audit(s, "bob", "create", "alert_rules/2", None, [1, 2])
    rows = warehouse.read(
        "select id, actor, action, object, cast(before as varchar) as before,"
        " cast(after as varchar) as after, occurred_at from ops.audit_log order by id"
    ).rows()
    assert [r[1:4] for r in rows] == [
        ("alice", "approve_price", "pricing_proposals/7"),
        ("bob", "create", "alert_rules/2"),
    ]
    assert rows[0][0] < rows[1][0]
    assert json.loads(rows[0][4]) == {"status": "pending"}
    assert json.loads(rows[0][5]) == {"from": "2024-03-01", "status": "approved"}
    assert rows[1][4] is None  # no prior state: SQL null, not the JSON text 'null'
    assert all(r[6] is not None for r in rows)


def test_a_failed_transaction_leaves_no_audit_entry(tmp_path):
    warehouse = Warehouse(duckdb_path=str(tmp_path / "w.duckdb"))
    with warehouse.session() as s:
        record_audit(s, "alice", "create", "x/1")
    try:
        with warehouse.session() as s:
            record_audit(s, "alice", "update", "x/1", {"a": 1}, {"a": 2})
            raise RuntimeError("the change itself failed")
    except RuntimeError:
        pass
    assert warehouse.read("select action from ops.audit_log")["action"].to_list() == ["create"]
