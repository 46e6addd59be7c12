"""The experiments group on tiny data through Dagster (DuckDB): planted truth recovered, SRM
flagged and alerted, the register_experiment job validates, sizes and feeds the registry."""

from __future__ import annotations

import json

import dagster as dg
import numpy as np
import polars as pl
import pytest
from scipy import stats

pytestmark = pytest.mark.integration



def definitions():
    from dagster_project.definitions import defs

    return defs()


@pytest.fixture(scope="module")
def built(built_tiny_env):
    """A copy of the session's tiny nightly build (conftest: the same job, run once)."""
    env, result = built_tiny_env
    truth = json.loads((env.truth / "experiments.json").read_text())
    return env, result, truth


def allowed_misses(n: int, level: float = 0.95, tail: float = 0.001) -> int:
    """Smallest m with P(Binomial(n, 1 - level) > m) < tail: more misses than that among n
    intervals at ``level`` happen less than once in 1/tail runs when the intervals are right
    (treated as independent; intervals of one experiment's metrics are positively correlated,
    which makes many misses at once likelier, so the bound is on the lenient side of exact)."""
    m = np.arange(n + 1)
    return int(m[stats.binom.sf(m, n, 1 - level) < tail][0])


def test_planted_effects_lie_inside_the_reported_intervals(built):
    env, _, truth = built
    res = env.query("select * from analytics.experiment_results")
    rows = [(row, truth[row["experiment_id"]]["effects"].get(row["metric"], {}).get(row["variant"]))
            for row in res.iter_rows(named=True)]
    checked = [(row, effect) for row, effect in rows if effect is not None]
    assert len(checked) >= 10 and all(row["status"] == "ok" for row, _ in checked)
    (alpha,) = set(env.query("select alpha from analytics.experiments")["alpha"])  # 0.05
    misses = [row for row, effect in checked
              if not row["rel_ci_low"] <= effect <= row["rel_ci_high"]]
    assert len(misses) <= allowed_misses(len(checked), 1 - alpha), misses


def test_every_result_is_ok_on_clean_data_and_the_status_check_passes(built):
    env, result, _ = built
    res = env.query("select * from analytics.experiment_results")
    assert set(res["status"]) == {"ok"}
    check = [e for e in result.get_asset_check_evaluations()
             if e.check_name == "results_are_finite"]
    assert len(check) == 1 and check[0].passed


def test_monitor_rows_without_statistics_say_why(built):
    env, _, _ = built
    monitor = env.query("select * from analytics.experiment_monitor")
    stats_cols = ["abs_lift", "seq_ci_low", "seq_p_value", "seq_p_value_running_min", "p_value"]
    bad = monitor.filter(pl.col("status") != "ok")
    assert bad.select(stats_cols).null_count().row(0) == (bad.height,) * len(stats_cols)
    assert (bad["status_message"].str.len_chars() > 0).all()
    ok = monitor.filter(pl.col("status") == "ok")
    assert (ok["seq_p_value_running_min"] <= ok["seq_p_value"]).all()
    excludes = (ok["seq_ci_low"] > 0) | (ok["seq_ci_high"] < 0)
    assert (ok["seq_reject"] == excludes).all()


def test_srm_experiment_is_flagged_invalid_and_alerted(built):
    env, result, truth = built
    res = env.query("select distinct experiment_id, srm_flag, decision from "
                     "analytics.experiment_results")
    flagged = set(res.filter("srm_flag")["experiment_id"])
    assert flagged == {e for e, t in truth.items() if t["srm"]} == {"exp-003"}
    assert res.filter(pl.col("experiment_id") == "exp-003")["decision"].item() == "invalid"
    events = env.query("select * from analytics.alert_events where source = 'experiments'")
    assert events["entity"].to_list() == ["exp-003"]
    assert json.loads(events["details"][0])["srm_p_value"] < 0.001
    srm_check = [e for e in result.get_asset_check_evaluations()
                 if e.check_name == "no_sample_ratio_mismatch"]
    assert len(srm_check) == 1 and not srm_check[0].passed


def test_cuped_reduction_matches_the_planted_pre_period_correlation(built):
    env, _, truth = built
    rho = truth["exp-005"]["pre_period_rho"]
    row = env.query("select variance_reduction from analytics.experiment_results "
                     "where experiment_id = 'exp-005' and metric = 'revenue_14d'")
    # variance after CUPED = (1 - rho^2) x before, i.e. a reduction of rho^2
    assert row["variance_reduction"].item() == pytest.approx(rho**2, abs=0.05)


def test_monitor_and_power_tables_cover_every_experiment(built):
    env, result, _ = built
    monitor = env.query("select * from analytics.experiment_monitor")
    power = env.query("select * from analytics.experiment_power")
    assert set(monitor["experiment_id"]) == set(power["experiment_id"]) == {
        f"exp-00{i}" for i in range(1, 7)}
    assert set(power["status"]) == {"ok"}
    monitor = monitor.filter(pl.col("status") == "ok")
    assert (monitor["seq_multiplier"] > 1.96).all()
    assert ((monitor["seq_ci_low"] <= monitor["abs_ci_low"])
            & (monitor["seq_ci_high"] >= monitor["abs_ci_high"])).all()
    mats = {m.asset_key.to_user_string(): m for m in result.get_asset_materialization_events()
            if m.asset_key.path[0] == "analytics"}
    plot = mats["analytics/experiment_monitor"].materialization.metadata["plot"]
    assert "data:image/png;base64" in plot.value


def run_register(config: dict) -> dg.ExecuteInProcessResult:
    job = definitions().resolve_job_def("register_experiment")
    return job.execute_in_process(run_config={"ops": {"register_experiment_op": {"config": config}}},
                                  instance=dg.DagsterInstance.get(), raise_on_error=False)


GOOD = {"name": "checkout_copy", "hypothesis": "Shorter copy converts more.", "kind": "feature",
        "unit_type": "user", "primary_metric": "conversion",
        "secondary_metrics": ["revenue_14d"],
        "variants": [{"name": "control", "weight": 0.5}, {"name": "short", "weight": 0.5}],
        "mde": 0.2, "baseline": 0.05, "prior_mean": 0.0, "prior_sd": 0.1}


def test_register_experiment_refuses_bad_weights_with_a_clear_message(built):
    bad = {**GOOD, "name": "bad", "variants": [{"name": "control", "weight": 0.7},
                                               {"name": "b", "weight": 0.7}]}
    result = run_register(bad)
    assert not result.success
    failure = result.get_step_failure_events()[0].step_failure_data.user_failure_data
    assert "weights sum to 1.4, not 1" in failure.description


def test_registered_experiment_reaches_the_registry_and_power(built):
    env, _, _ = built
    result = run_register(GOOD)
    assert result.success
    out = result.output_for_node("register_experiment_op")
    assert out["required_n_per_arm"] == 8143  # statsmodels NormalIndPower, Cohen's h
    assert not run_register(GOOD).success  # same name twice is refused
    selection = dg.AssetSelection.groups("experiments") - dg.AssetSelection.assets(
        ["marts", "fct_experiment_units"], ["marts", "fct_experiment_daily"])
    job = dg.define_asset_job("experiments_only", selection=selection)
    d = dg.Definitions.merge(definitions(), dg.Definitions(jobs=[job]))
    assert d.resolve_job_def("experiments_only").execute_in_process(
        instance=dg.DagsterInstance.get()).success
    where = f"where experiment_id = '{out['experiment_id']}'"
    power = env.query(f"select * from analytics.experiment_power {where}")
    assert power["planned_n_control"].item() == 8143 and power["n_total"].item() == 0
    assert power["status"].item() == "ok" and power["power_now"].item() is None
    registry = env.query(f"select prior_mean, prior_sd from analytics.experiments {where}")
    assert registry.row(0) == (0.0, 0.1)
    results = env.query(f"select * from analytics.experiment_results {where}")
    assert set(results["status"]) == {"missing_arm"}  # registered, no units yet
    assert set(results["decision"]) == {"cannot decide"}
    assert results["p_value"].null_count() == results.height
    events = env.query("select count(*) as n from analytics.alert_events")["n"].item()
    assert events == 1  # re-running the group does not duplicate the SRM alert
