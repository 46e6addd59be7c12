"""record_audit on the embedded DuckDB warehouse, and its refusal to write an unprotected log on
PostgreSQL (the protected PostgreSQL log: tests/integration/test_pg_audit_log.py)."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, date, datetime, timedelta

import psycopg
import pytest

from dagster_project.audit import GENESIS_HASH, record_audit
from dagster_project.warehouse import Warehouse

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def test_record_audit_creates_the_log_and_appends_entries_in_order(tmp_path):
    warehouse = Warehouse(duckdb_path=str(tmp_path / "w.duckdb"))
    with warehouse.session() as s:
        first = record_audit(s, "alice", "approve_price", "pricing_proposals/7",
                             {"status": "pending"}, {"status": "approved", "from": date(2024, 3, 1)})
    with warehouse.session() as s:
        second = record_audit(s, "bob", "create", "alert_rules/2", None, [1, 2])
    rows = warehouse.read(
        "select id, actor, action, object, cast(before as varchar) as before,"
        " cast(after as varchar) as after, occurred_at from audit.audit_log order by id"
    ).rows()
    assert (first, second) == (1, 2)
    assert [r[:4] for r in rows] == [
        (1, "alice", "approve_price", "pricing_proposals/7"),
        (2, "bob", "create", "alert_rules/2"),
    ]
    assert json.loads(rows[0][4]) == {"status": "pending"}
    assert json.loads(rows[0][5]) == {"from": "2024-03-01", "status": "approved"}
    assert rows[1][4] is None  # no prior state: SQL null, not the JSON text 'null'
    assert all(r[6] is not None for r in rows)


def test_entry_hash_is_sha256_of_the_previous_hash_and_the_entry_content(tmp_path):
    # the documented digest recomputed with hashlib: SHA-256 of the JSON array [prev_hash, id,
    # occurred_at in epoch microseconds, actor, action, object, before, after] (DuckDB's
    # compact JSON text), prev_hash = 64 zeros for the first entry, then the previous entry_hash
    warehouse = Warehouse(duckdb_path=str(tmp_path / "w.duckdb"))
    with warehouse.session() as s:
        record_audit(s, "alice", "approve_price", "pricing_proposals/7", {"status": "pending"},
                     {"price": 31.5, "status": "approved"})
        record_audit(s, "bob", "delete", "alert_rules/2", ["x", 2], None)
    rows = warehouse.read("select id, occurred_at, prev_hash, entry_hash from audit.audit_log"
                          " order by id").rows()
    contents = [
        ["alice", "approve_price", "pricing_proposals/7", {"status": "pending"},
         {"price": 31.5, "status": "approved"}],
        ["bob", "delete", "alert_rules/2", ["x", 2], None],
    ]
    previous = GENESIS_HASH
    for (entry_id, occurred_at, prev_hash, entry_hash), content in zip(rows, contents, strict=True):
        micros = (occurred_at - EPOCH) // timedelta(microseconds=1)
        text = json.dumps([previous, entry_id, micros, *content], separators=(",", ":"))
        assert prev_hash == previous
        assert entry_hash == hashlib.sha256(text.encode()).hexdigest()
        previous = entry_hash


def test_a_failed_transaction_leaves_no_audit_entry(tmp_path):
    warehouse = Warehouse(duckdb_path=str(tmp_path / "w.duckdb"))
    with warehouse.session() as s:
        record_audit(s, "alice", "create", "x/1")
    with pytest.raises(RuntimeError, match="the change itself failed"), warehouse.session() as s:
        record_audit(s, "alice", "update", "x/1", {"a": 1}, {"a": 2})
        raise RuntimeError("the change itself failed")
    assert warehouse.read("select action from audit.audit_log")["action"].to_list() == ["create"]


@pytest.mark.postgres
def test_record_audit_never_creates_the_log_on_postgres(pg_dsn):
    # a database the roles command has not set up: writing fails loudly and creates nothing
    warehouse = Warehouse(backend="postgres", postgres_dsn=pg_dsn)
    with (pytest.raises(RuntimeError, match=r"audit\.audit_log does not exist.*postgres\.roles"),
          warehouse.session() as s):
        record_audit(s, "alice", "create", "x/1")
    with psycopg.connect(pg_dsn) as con:
        assert con.execute("select to_regnamespace('audit')").fetchone() == (None,)


@pytest.mark.postgres
def test_record_audit_refuses_a_lookalike_log_without_the_protections(pg_dsn):
    # e.g. created by a role that could create schemas before the roles command ever ran
    with psycopg.connect(pg_dsn) as con:
        con.execute("create schema audit")
        con.execute("create table audit.audit_log (id bigint, occurred_at timestamptz,"
                    " actor text, action text, object text, before jsonb, after jsonb,"
                    " prev_hash text, entry_hash text)")
    warehouse = Warehouse(backend="postgres", postgres_dsn=pg_dsn)
    refused = "owned by postgres, not bi_audit_owner.*triggers are none"
    with pytest.raises(RuntimeError, match=refused), warehouse.session() as s:
        record_audit(s, "alice", "create", "x/1")
    with psycopg.connect(pg_dsn) as con:
        assert con.execute("select count(*) from audit.audit_log").fetchone() == (0,)
