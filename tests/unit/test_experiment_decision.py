"""Every branch of the ship decision, and the progress table (power now, days left, ended)."""

from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl
import pytest
from statsmodels.stats.power import NormalIndPower

from dagster_project.analytics.experiments import power as pw
from dagster_project.analytics.experiments.decision import decide, progress
from dagster_project.analytics.experiments.planning import plan_samples


def results(*rows: dict) -> pl.DataFrame:
    """Primary comparisons of experiment e1 (defaults: an ok, inconclusive treatment)."""
    base = {"experiment_id": "e1", "metric": "conversion", "variant": "treatment",
            "is_primary": True, "status": "ok", "status_message": "computed",
            "abs_lift": 0.01, "rel_lift": 0.1, "seq_ci_low": -0.02, "seq_ci_high": 0.04}
    return pl.DataFrame([{**base, **r} for r in rows])


def run(rows, srm_flag=False, ended=False, n_total=1000.0, planned=2000.0, sequential=4000.0):
    srm = pl.DataFrame({"experiment_id": ["e1"], "srm_flag": [srm_flag], "srm_p_value": [0.000247]})
    prog = pl.DataFrame({"experiment_id": ["e1"], "ended": [ended], "n_total": [n_total],
                         "planned_n_total": [planned], "sequential_n_total": [sequential]})
    return decide(results(*rows), srm, prog).row(0, named=True)


def test_ship_the_best_treatment_whose_always_valid_interval_is_above_zero():
    d = run([{"variant": "a", "abs_lift": 0.02, "rel_lift": 0.2, "seq_ci_low": 0.001},
             {"variant": "b", "abs_lift": 0.03, "rel_lift": 0.3, "seq_ci_low": 0.002},
             {"variant": "c", "abs_lift": 0.05}])  # c is larger but not significant
    assert d["decision"] == "ship" and d["winning_variant"] == "b"
    assert d["decision_reason"] == ("b beats control on conversion by 30.0% (always-valid "
                                    "interval above 0)")


def test_do_not_ship_when_every_treatment_is_significantly_worse():
    d = run([{"seq_ci_low": -0.05, "seq_ci_high": -0.001}])
    assert d["decision"] == "do not ship" and d["winning_variant"] is None
    assert "every treatment is worse than control" in d["decision_reason"]


def test_do_not_ship_when_ended_short_of_the_planned_sample():
    d = run([{}], ended=True, n_total=500.0)
    assert d["decision"] == "do not ship"
    assert d["decision_reason"].startswith("ended at 25% of the planned sample")


def test_do_not_ship_when_ended_at_the_planned_sample_without_effect():
    d = run([{}], ended=True, n_total=2500.0)
    assert (d["decision"], d["decision_reason"]) == (
        "do not ship", "ended without a significant effect of the planned size")


def test_do_not_ship_when_the_sequential_sample_is_reached_without_effect():
    d = run([{}], n_total=4000.0)
    assert (d["decision"], d["decision_reason"]) == (
        "do not ship", "reached the sequential sample without a significant effect")


def test_keep_running_while_short_of_the_sequential_sample():
    d = run([{}], n_total=1000.0)
    assert (d["decision"], d["decision_reason"]) == (
        "keep running", "50% of the planned sample, no significant effect yet")


def test_sample_ratio_mismatch_is_invalid_even_with_a_winner():
    d = run([{"seq_ci_low": 0.01}], srm_flag=True)
    assert d["decision"] == "invalid" and d["winning_variant"] is None
    assert d["decision_reason"].startswith("sample ratio mismatch (chi-square p = 0.000247)")


def test_cannot_decide_when_a_primary_comparison_is_not_ok():
    d = run([{"seq_ci_low": 0.01},
             {"variant": "b", "status": "missing_arm", "status_message": "arm 'b' has no data",
              "abs_lift": None, "rel_lift": None, "seq_ci_low": None, "seq_ci_high": None}],
            srm_flag=True)
    assert d["decision"] == "cannot decide" and d["winning_variant"] is None
    assert d["decision_reason"] == "b on conversion: arm 'b' has no data"


def test_cannot_decide_without_any_primary_comparison():
    srm = pl.DataFrame({"experiment_id": ["e1"], "srm_flag": [False], "srm_p_value": [0.5]})
    prog = pl.DataFrame({"experiment_id": ["e1"], "ended": [False], "n_total": [0.0],
                         "planned_n_total": [100.0], "sequential_n_total": [200.0]})
    d = decide(results({"is_primary": False}), srm, prog).row(0, named=True)
    assert (d["decision"], d["decision_reason"]) == (
        "cannot decide", "no comparison of the primary metric")


def daily(experiment_id: str, days: list[dt.date], n_control: list[float],
          n_treatment: list[float], conversion: float = 0.1) -> pl.DataFrame:
    rows = []
    for variant, counts in (("control", n_control), ("treatment", n_treatment)):
        previous = 0.0
        for day, n in zip(days, counts):
            rows.append({"experiment_id": experiment_id, "variant": variant, "date_day": day,
                         "new_units": n - previous, "n": n, "n_converted": n * conversion,
                         "sum_y": 0.0, "sum_y2": 0.0})
            previous = n
    return pl.DataFrame(rows)


def progress_of(experiment_frames, d: pl.DataFrame, **registry) -> dict:
    reg = experiment_frames.registry({"experiment_id": "e1", "baseline": 0.1, **registry})
    latest = d.filter(pl.col("date_day") == pl.col("date_day").max())
    return progress(reg, d, plan_samples(reg, latest), rate_days=2).row(0, named=True)


DAYS = [dt.date(2025, 2, 17), dt.date(2025, 2, 18), dt.date(2025, 2, 19)]


def test_progress_reports_power_now_mde_now_and_days_left(experiment_frames):
    d = daily("e1", DAYS, [100.0, 300.0, 600.0], [100.0, 300.0, 600.0])
    p = progress_of(experiment_frames, d)
    h = pw.standardized_effect("proportion", 0.1, 0.1)
    assert p["power_now"] == pytest.approx(NormalIndPower().power(h, 600, 0.05), rel=1e-10)
    assert p["mde_now"] == pytest.approx(pw.relative_effect(
        "proportion", 0.1, NormalIndPower().solve_power(None, nobs1=600, alpha=0.05,
                                                        power=0.8)), rel=1e-4)
    # the last 2 days brought (600 - 100) x 2 arms = 1,000 units: 500 a day
    assert p["daily_rate"] == 500.0
    planned = p["planned_n_total"]
    assert p["expected_days_left"] == np.ceil((planned - 1200.0) / 500.0)
    assert p["status"] == "ok" and p["ended"] is False and p["as_of"] == DAYS[-1]


def test_no_days_left_when_nothing_arrives(experiment_frames):
    d = daily("e1", DAYS, [300.0, 300.0, 300.0], [300.0, 300.0, 300.0])
    p = progress_of(experiment_frames, d)
    assert p["daily_rate"] == 0.0
    assert p["expected_days_left"] is None and p["expected_days_left_sequential"] is None


def test_no_power_now_below_two_units_an_arm(experiment_frames):
    d = daily("e1", DAYS, [0.0, 0.0, 1.0], [0.0, 2.0, 5.0])
    p = progress_of(experiment_frames, d)
    assert p["power_now"] is None and p["mde_now"] is None


@pytest.mark.parametrize(("end_at", "ended"), [
    (dt.datetime(2025, 2, 20, 12, 0), False),  # ends during the next day
    (dt.datetime(2025, 2, 20, 0, 0), True),    # at the end of as_of
    (dt.datetime(2025, 2, 19, 9, 30), True),   # during as_of
    (None, False),
])
def test_an_experiment_has_ended_when_it_ends_by_the_end_of_the_last_day(experiment_frames,
                                                                          end_at, ended):
    d = daily("e1", DAYS, [100.0, 200.0, 300.0], [100.0, 200.0, 300.0])
    assert progress_of(experiment_frames, d, end_at=end_at)["ended"] is ended
