"""The audit log's hash chain on DuckDB, where nothing stops an edit: the verification must
find every kind of tampering (on PostgreSQL, as a superuser who disabled the triggers:
tests/integration/test_pg_audit_log.py).

The log of each test has five entries written by record_audit; the expected findings are
worked out by hand from the chain's definition in each test's comment.
"""

from __future__ import annotations

import dagster as dg
import pytest

from dagster_project.audit import Anchor, record_audit, verify_chain
from dagster_project.defs.audit.jobs import ALERT_SOURCE, last_anchor, verify_audit_log
from dagster_project.warehouse import Warehouse

DIGEST = "audit.entry_digest(prev_hash, id, occurred_at, actor, action, object, before, after)"


@pytest.fixture
def warehouse(tmp_path) -> Warehouse:
    warehouse = Warehouse(duckdb_path=str(tmp_path / "w.duckdb"))
    for i in range(1, 6):
        with warehouse.session() as s:
            record_audit(s, f"user{i}", "approve_price", f"pricing_proposals/{i}",
                         {"status": "pending"}, {"status": "approved", "n": i})
    return warehouse


def _verify(warehouse: Warehouse, anchor: Anchor | None = None):
    with warehouse.session() as s:
        return verify_chain(s, anchor)


def _findings(warehouse: Warehouse, anchor: Anchor | None = None) -> list[tuple[int, str]]:
    return [(r["id"], r["problem"]) for r in _verify(warehouse, anchor).problems.to_dicts()]


def _head(warehouse: Warehouse) -> Anchor:
    return Anchor(*warehouse.read("select id, entry_hash from audit.audit_log"
                                  " order by id desc limit 1").row(0))


def _rehash_from(warehouse: Warehouse, first_id: int) -> None:
    """What a forger who knows the formula does: recompute every hash from ``first_id`` on."""
    ids = warehouse.read(f"select id from audit.audit_log where id >= {first_id} order by id")
    for entry_id in ids["id"]:
        warehouse.execute(
            "update audit.audit_log set prev_hash = coalesce((select entry_hash from"
            f" audit.audit_log where id < {entry_id} order by id desc limit 1), repeat('0', 64))"
            f" where id = {entry_id}")
        warehouse.execute(f"update audit.audit_log set entry_hash = {DIGEST} where id = {entry_id}")


def test_an_untouched_log_verifies_and_reports_its_head(warehouse):
    report = _verify(warehouse)
    assert report.intact and report.entries == 5
    assert report.head == _head(warehouse) and report.head.id == 5
    assert _verify(warehouse, report.head).intact


def test_an_edited_entry_no_longer_matches_its_hash(warehouse):
    warehouse.execute("update audit.audit_log set after = '{\"status\": \"rejected\"}' where id = 3")
    assert _findings(warehouse) == [(3, "entry_changed")]


def test_an_edited_entry_with_its_hash_recomputed_breaks_the_next_link(warehouse):
    # entry 3 is consistent again, but entry 4 still points at 3's old hash
    warehouse.execute("update audit.audit_log set actor = 'mallory' where id = 3")
    warehouse.execute(f"update audit.audit_log set entry_hash = {DIGEST} where id = 3")
    assert _findings(warehouse) == [(4, "link_broken")]


@pytest.mark.parametrize(("deleted", "flagged"), [(1, 2), (3, 4)])
def test_a_deleted_entry_breaks_the_link_of_the_one_after(warehouse, deleted, flagged):
    # the first entry's successor no longer starts from the genesis hash
    warehouse.execute(f"delete from audit.audit_log where id = {deleted}")
    assert _findings(warehouse) == [(flagged, "link_broken")]


def test_an_entry_inserted_between_two_others_is_found(warehouse):
    # room made after entry 2 (3, 4, 5 become 4, 5, 6) and a forged entry 3 chained correctly
    # onto entry 2: the forged one verifies, the old entry 3 (now 4) does not link to it, and
    # entries 4 to 6 no longer match their hashes, which cover their old ids
    warehouse.execute("update audit.audit_log set id = id + 100 where id >= 3")
    warehouse.execute("update audit.audit_log set id = id - 99 where id > 100")
    warehouse.execute(
        "insert into audit.audit_log select 3, occurred_at, 'mallory', 'approve_price',"
        " 'pricing_proposals/99', null, null, entry_hash, '' from audit.audit_log where id = 2")
    warehouse.execute(f"update audit.audit_log set entry_hash = {DIGEST} where id = 3")
    assert _findings(warehouse) == [(4, "entry_changed"), (4, "link_broken"),
                                    (5, "entry_changed"), (6, "entry_changed")]


def test_a_consistently_rewritten_history_is_caught_by_the_anchor(warehouse):
    anchor = _verify(warehouse).head
    warehouse.execute("update audit.audit_log set actor = 'mallory' where id = 2")
    _rehash_from(warehouse, 2)
    assert _findings(warehouse) == []  # consistent in itself: no chain can tell
    assert _findings(warehouse, anchor) == [(5, "anchor_changed")]


def test_deleting_the_newest_entries_is_caught_only_by_the_anchor(warehouse):
    anchor = _verify(warehouse).head
    warehouse.execute("delete from audit.audit_log where id >= 4")
    assert _findings(warehouse) == []
    assert _findings(warehouse, anchor) == [(5, "anchor_missing")]


def test_an_empty_duckdb_warehouse_has_an_intact_empty_log_unless_an_anchor_says_otherwise(
        tmp_path):
    empty = Warehouse(duckdb_path=str(tmp_path / "empty.duckdb"))
    report = _verify(empty)
    assert (report.intact, report.entries, report.head) == (True, 0, None)
    assert _findings(empty, Anchor(2, "ab" * 32)) == [(2, "anchor_missing")]


# --- the verify_audit_log job ----------------------------------------------------------------


def _run(warehouse: Warehouse, instance: dg.DagsterInstance) -> bool:
    return verify_audit_log.execute_in_process(
        instance=instance, resources={"warehouse": warehouse}, raise_on_error=False).success


def test_the_job_records_the_head_then_alerts_and_fails_on_tampering(warehouse):
    instance = dg.DagsterInstance.ephemeral()
    assert _run(warehouse, instance)
    anchor = last_anchor(instance)
    assert anchor == _head(warehouse)
    with warehouse.session() as s:
        record_audit(s, "user6", "create", "alert_rules/1")
    assert _run(warehouse, instance)
    assert last_anchor(instance).id == 6  # the head moves on with each intact verification

    warehouse.execute("delete from audit.audit_log where id = 6")
    assert not _run(warehouse, instance)
    assert last_anchor(instance).id == 6  # a failed verification records no head
    events = warehouse.read("select source, severity, entity, title, details"
                            " from analytics.alert_events").to_dicts()
    assert [(e["source"], e["severity"], e["entity"]) for e in events] == [
        (ALERT_SOURCE, "critical", "audit.audit_log")]
    assert "anchor_missing" in events[0]["title"] and '"id": 6' in events[0]["details"]
