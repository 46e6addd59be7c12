"""The tiny nightly build that integration modules share (``built_tiny_env`` in
tests/conftest.py): the result a module receives is the run's own, the one the events stored in
its copied instance describe, and whatever the module writes lands in its copy only."""

from __future__ import annotations

import hashlib
from pathlib import Path

import dagster as dg
import duckdb
import pytest

pytestmark = pytest.mark.integration

READ_BY_TESTS = ("ASSET_MATERIALIZATION", "ASSET_CHECK_EVALUATION")


def tree_digest(*folders: Path) -> dict[str, str]:
    """sha256 of every file under ``folders``, by path."""
    return {str(p): hashlib.sha256(p.read_bytes()).hexdigest()
            for folder in folders for p in sorted(folder.rglob("*")) if p.is_file()}


def test_the_result_holds_the_materializations_and_checks_the_copied_instance_stored(
        built_tiny_env):
    _, result = built_tiny_env
    instance = dg.DagsterInstance.get()
    stored = [r.dagster_event for r in instance.all_logs(result.run_id) if r.is_dagster_event]
    assert result.success and instance.get_run_by_id(result.run_id).is_success
    for kind in READ_BY_TESTS:
        given = [e.event_specific_data for e in result.all_events if e.event_type_value == kind]
        assert given == [e.event_specific_data for e in stored if e.event_type_value == kind], kind
    # the whole job: every asset it selects materialized, and checks evaluated
    materialized = [e.asset_key for e in result.get_asset_materialization_events()]
    assert set(materialized) == set(result.job_def.asset_layer.selected_asset_keys)
    assert result.get_asset_check_evaluations()


def test_writing_into_a_modules_copy_leaves_the_shared_build_unchanged(
        built_tiny_env, tiny_nightly_build):
    env, result = built_tiny_env
    shared = tree_digest(tiny_nightly_build.data, tiny_nightly_build.dagster_home)

    con = duckdb.connect(str(env.duckdb_path))
    try:
        con.sql("create table ops.copy_probe as select 1 as x")
    finally:
        con.close()

    @dg.op
    def probe() -> None:
        """Nothing: a run to record in the copy's instance."""

    assert dg.GraphDefinition("probe_graph", node_defs=[probe]).to_job().execute_in_process(
        instance=dg.DagsterInstance.get()).success

    assert tree_digest(tiny_nightly_build.data, tiny_nightly_build.dagster_home) == shared
    assert env.query("select x from ops.copy_probe")["x"].to_list() == [1]
    runs = dg.DagsterInstance.get().get_run_records()
    assert len(runs) == 2 and result.run_id in {r.dagster_run.run_id for r in runs}
