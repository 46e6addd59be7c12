"""Degenerate inputs through the read-out the assets run: each gets its status, and no p-value,
interval, chance or lift is reported for it (the status contract)."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from dagster_project.analytics import experiments as ex
from dagster_project.analytics.experiments.status import contract_breaches

STATS = list(ex.RESULT_STATS) + ["p_holm", "p_bh"]
CHECKED = [c for c in STATS if c != "df"]


def assert_no_statistics(rows: pl.DataFrame) -> None:
    assert rows.height > 0
    assert rows.select(STATS).null_count().row(0) == (rows.height,) * len(STATS)


def conversion_arms(f, control: dict, treatment: dict) -> pl.DataFrame:
    base = {"experiment_id": "e1", "n": 1000.0, "n_converted": 100.0}
    return f.arm_stats({**base, "variant": "control", **control},
                       {**base, "variant": "treatment", **treatment})


def primary(f, stats, reg=None) -> pl.DataFrame:
    reg = reg if reg is not None else f.registry({"baseline": 0.1})
    return f.readout(stats, reg).filter("is_primary")


def test_ordinary_data_is_ok_with_every_statistic(experiment_frames):
    f = experiment_frames
    out = primary(f, conversion_arms(f, {}, {"n_converted": 130.0}))
    assert out["status"].to_list() == ["ok"]
    assert contract_breaches(out, CHECKED).height == 0
    assert out["rel_lift"].item() == pytest.approx(0.3)


def test_constant_metric_in_both_arms_is_zero_variance(experiment_frames):
    f = experiment_frames
    stats = f.arm_stats(f.unit_stats("e1", "control", np.full(500, 5.0)),
                        f.unit_stats("e1", "treatment", np.full(500, 6.0)))
    reg = f.registry({"primary_metric": "revenue_14d", "baseline": 5.0, "baseline_sd": 1.0})
    out = primary(f, stats, reg)
    assert out["status"].to_list() == ["zero_variance"]
    assert_no_statistics(out)


@pytest.mark.parametrize(("control", "status", "words"), [
    ({"n_converted": None}, "missing_stats", "arm 'control': n_converted is null"),
    ({"n_converted": -5.0}, "invalid_counts", "n_converted = -5.0"),
    ({"n_converted": 1200.0}, "invalid_counts", "conversions <= units"),
    ({"n": -10.0}, "invalid_counts", "n = -10.0"),
    ({"n": 0.0, "n_converted": 0.0}, "zero_users", "arm 'control' has no units"),
    ({"n_converted": 0.0}, "zero_baseline", "control mean is 0"),
])
def test_impossible_or_empty_control_counts_get_a_status(experiment_frames, control, status, words):
    f = experiment_frames
    out = primary(f, conversion_arms(f, control, {"n_converted": 130.0}))
    assert out["status"].to_list() == [status]
    assert words in out["status_message"].item()
    assert_no_statistics(out)


def test_inconsistent_sums_of_squares_are_flagged(experiment_frames):
    f = experiment_frames
    good = f.unit_stats("e1", "treatment", np.arange(1.0, 101.0), np.arange(1.0, 101.0))
    bad = {**good, "variant": "control", "sum_y2": good["sum_y"] ** 2 / 100 - 50.0}
    reg = f.registry({"primary_metric": "revenue_14d", "baseline": 50.0, "baseline_sd": 29.0})
    out = primary(f, f.arm_stats(bad, good), reg)
    assert out["status"].to_list() == ["inconsistent_stats"]
    assert_no_statistics(out)


def test_a_typo_in_a_variant_name_surfaces_as_unknown_variant_and_missing_arm(experiment_frames):
    f = experiment_frames
    stats = f.arm_stats({"experiment_id": "e1", "variant": "control", "n": 1000.0,
                         "n_converted": 100.0},
                        {"experiment_id": "e1", "variant": "treatmnt", "n": 1000.0,
                         "n_converted": 130.0})
    out = primary(f, stats)
    by_variant = dict(out.select("variant", "status").iter_rows())
    assert by_variant == {"treatment": "missing_arm", "treatmnt": "unknown_variant"}
    assert "not registered for e1 (registered: control, treatment)" in out.filter(
        pl.col("variant") == "treatmnt")["status_message"].item()
    assert_no_statistics(out)


def test_data_matching_no_registered_arm_gives_rows_not_an_exception(experiment_frames):
    f = experiment_frames
    stats = f.arm_stats({"experiment_id": "e1", "variant": "A", "n": 10.0, "n_converted": 1.0},
                        {"experiment_id": "e1", "variant": "B", "n": 10.0, "n_converted": 2.0},
                        {"experiment_id": "zz", "variant": "control", "n": 5.0})
    out = f.readout(stats, f.registry({"baseline": 0.1}))
    statuses = dict(out.filter(pl.col("experiment_id") == "e1", "is_primary")
                    .select("variant", "status").iter_rows())
    assert statuses == {"treatment": "missing_arm", "A": "unknown_variant", "B": "unknown_variant"}
    assert out.filter(pl.col("experiment_id") == "zz")["status"].to_list() == [
        "unknown_experiment"]
    assert_no_statistics(out)


def test_registered_experiment_without_any_data_is_missing_arm(experiment_frames):
    f = experiment_frames
    out = f.readout(f.arm_stats(), f.registry({"baseline": 0.1}))
    assert out["status"].to_list() == ["missing_arm"]
    assert_no_statistics(out)


@pytest.mark.parametrize(("experiment", "status"), [
    ({"alpha": 0.0, "baseline": 0.1}, "invalid_alpha"),
    ({"alpha": 1.5, "baseline": 0.1}, "invalid_alpha"),
    ({"primary_metric": "dwell_time"}, "unknown_metric"),
    ({"baseline": 0.1, "prior_sd": 0.05}, "invalid_prior"),
    ({"baseline": 0.1, "prior_mean": 0.0, "prior_sd": -1.0}, "invalid_prior"),
])
def test_experiment_settings_that_cannot_be_used_get_a_status(experiment_frames, experiment,
                                                               status):
    f = experiment_frames
    out = primary(f, conversion_arms(f, {}, {"n_converted": 130.0}), f.registry(experiment))
    assert out["status"].to_list() == [status]
    assert_no_statistics(out)


def test_a_failed_plan_leaves_the_always_valid_interval_without_tuning(experiment_frames):
    f = experiment_frames
    reg = f.registry({"baseline": 0.1, "power": 1.5})  # invalid_design in the plan
    out = primary(f, conversion_arms(f, {}, {"n_converted": 130.0}), reg)
    assert out["status"].to_list() == ["no_plan"] and "invalid_design" in out[
        "status_message"].item()
    assert_no_statistics(out)


def test_single_unit_arm_is_too_few_users(experiment_frames):
    f = experiment_frames
    stats = f.arm_stats(f.unit_stats("e1", "control", [3.0]),
                        f.unit_stats("e1", "treatment", [2.0, 4.0, 5.0]))
    reg = f.registry({"primary_metric": "revenue_14d", "baseline": 3.0, "baseline_sd": 1.0})
    out = primary(f, stats, reg)
    assert out["status"].to_list() == ["too_few_users"]
    assert_no_statistics(out)


def test_contract_breaches_finds_leaks_and_holes():
    df = pl.DataFrame({"status": ["ok", "ok", "zero_variance", "zero_variance"],
                       "p_value": [0.2, float("nan"), None, 0.0]})
    assert contract_breaches(df, ["p_value"])["p_value"].to_list()[0] != 0.2
    assert contract_breaches(df, ["p_value"]).height == 2  # the NaN ok row, the p = 0 non-ok row
