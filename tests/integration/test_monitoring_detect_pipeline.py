"""The detection asset run through Dagster on tiny (DuckDB): the hourly_refresh job rebuilds
analytics.metric_anomalies when no models are stored yet; a second run of the asset alone with
``rebuild: false`` (what the hourly job does once models exist) scores only the newest hours;
the incremental rows are the rebuild's rows (same ids, scores and patterns: the baseline of a
point never reads the point or anything after it)."""

from __future__ import annotations

import dagster as dg
import polars as pl
import pytest

pytestmark = pytest.mark.integration


ASSET = dg.AssetKey(["analytics", "metric_anomalies"])


def _run(job: str, **kwargs) -> dg.ExecuteInProcessResult:
    from dagster_project.definitions import defs

    d = defs()
    job_def = d.resolve_job_def(job) if job else d.resolve_implicit_global_asset_job_def()
    result = job_def.execute_in_process(instance=dg.DagsterInstance.get(), **kwargs)
    assert result.success
    return result


def _detection(result) -> dict:
    (mat,) = result.asset_materializations_for_node("analytics__metric_anomalies")
    return mat.metadata


@pytest.fixture(scope="module")
def runs(module_pipeline_env):
    first = _run("hourly_refresh")
    rebuilt = module_pipeline_env.query("select * from analytics.metric_anomalies")
    second = _run("", asset_selection=[ASSET], run_config={
        "ops": {"analytics__metric_anomalies": {"config": {"rebuild": False}}}})
    after = module_pipeline_env.query("select * from analytics.metric_anomalies")
    return module_pipeline_env, first, rebuilt, second, after


def test_the_first_hourly_run_rebuilds_and_stores_models_then_a_scoring_run_is_incremental(runs):
    env, first, _, second, _ = runs
    assert _detection(first)["mode"].value == "rebuild"
    assert _detection(second)["mode"].value == "incremental"
    assert (env.root / "models" / "monitoring_detectors.pkl").exists()


def test_the_contract_check_passes_and_every_detector_shows_a_plot(runs):
    _, first, rebuilt, _, _ = runs
    checks = {e.check_name: e.passed for e in first.get_asset_check_evaluations()}
    assert checks["metric_anomalies_contract_holds"] is True
    meta = _detection(first)
    flagged = set(rebuilt.filter(pl.col("status") == "ok")["detector"])
    assert flagged, "tiny flags nothing"
    for det in flagged:
        assert meta[f"plot_{det}"].value.startswith("![")


def test_incremental_rows_equal_the_rebuilds_rows_and_no_id_is_written_twice(runs):
    _, _, rebuilt, _, after = runs
    assert after["anomaly_id"].n_unique() == after.height
    cols = ["anomaly_id", "metric", "entity", "ts", "value", "expected", "score", "pattern"]
    assert after.select(cols).sort("anomaly_id").equals(rebuilt.select(cols).sort("anomaly_id"))


def test_series_without_enough_history_get_a_status_row_with_null_statistics(runs):
    _, _, rebuilt, _, _ = runs
    # tiny has 50 days: the monthly (day_of_month) MRR baseline needs two earlier months
    mrr = rebuilt.filter(pl.col("metric") == "tier_mrr")
    assert mrr.height > 0
    assert set(mrr["status"]) == {"insufficient_history"}
    assert mrr["score"].null_count() == mrr.height and mrr["pattern"].null_count() == mrr.height
