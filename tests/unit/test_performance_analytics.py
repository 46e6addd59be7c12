"""Performance analytics: burn rates and their alert rules, latency, generation, overall status
(hand computations; the Wilson interval against statsmodels)."""

from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl
import pytest
from statsmodels.stats.proportion import proportion_confint

from dagster_project.analytics import performance as pf

T0 = dt.datetime(2025, 3, 1)


def _hours(errors: list[int], requests: int = 10_000, service: str = "api", skip: set[int] = frozenset()):
    return pl.DataFrame({"service": service, "endpoint": "/x",
                         "hour_at": [T0 + dt.timedelta(hours=i) for i in range(len(errors)) if i not in skip],
                         "requests": [requests for i in range(len(errors)) if i not in skip],
                         "errors": [e for i, e in enumerate(errors) if i not in skip]})


def test_burn_rates_are_window_error_ratios_over_the_budget_by_hand():
    errors = [11] * 80 + [200]  # 0.11% for 80 hours, then 2% in the last hour
    burn = pf.burn_rates(_hours(errors), pf.BurnRules(slo=0.999)).sort("hour_at")
    last = burn.row(-1, named=True)
    assert last["burn_1h"] == pytest.approx(0.02 / 0.001)
    assert last["burn_6h"] == pytest.approx((5 * 11 + 200) / 60_000 / 0.001)
    assert last["burn_3d"] == pytest.approx((71 * 11 + 200) / 720_000 / 0.001)
    assert last["availability"] == pytest.approx(0.98)
    assert last["fast_burn"] and last["health"] == "critical"  # 20 >= 14.4
    assert burn.row(-2, named=True)["health"] == "warning"  # burn 1.1 everywhere: the ticket rule only


def test_windows_count_missing_hours_as_no_traffic():
    errors = [0] * 10 + [60]
    burn = pf.burn_rates(_hours(errors, skip={6, 7, 8}), pf.BurnRules(slo=0.99)).sort("hour_at")
    # the 6-hour window ending at hour 10 holds hours 5, 9 and 10 only
    assert burn.row(-1, named=True)["burn_6h"] == pytest.approx(60 / 30_000 / 0.01)


@pytest.mark.parametrize(("last_hours", "health", "rules"), [
    ([150], "critical", {"fast_burn"}),                      # 15x in the last hour
    ([70] * 6, "critical", {"slow_burn", "ticket"}),        # 7x for 6 hours (below 14.4)
    ([12] * 72, "warning", {"ticket"}),                      # 1.2x for 3 days
    ([5] * 72, "healthy", set()),                            # half the budget rate
    ([12] * 72 + [0] * 6, "healthy", set()),                 # burned, but not in the last 6 hours
])
def test_each_alert_rule_fires_on_its_own_branch(last_hours, health, rules):
    burn = pf.burn_rates(_hours([5] * 100 + last_hours), pf.BurnRules(slo=0.999)).sort("hour_at")
    last = burn.row(-1, named=True)
    assert last["health"] == health
    assert {r for r in ("fast_burn", "slow_burn", "ticket") if last[r]} == rules


def test_an_hour_without_requests_has_no_availability_and_fires_nothing():
    df = _hours([0, 0], requests=0)
    burn = pf.burn_rates(df)
    assert set(burn["status"]) == {"no_requests"} and burn["availability"].null_count() == 2
    assert burn["burn_6h"].null_count() == 2 and set(burn["health"]) == {"healthy"}


def test_impossible_rules_raise_naming_the_argument():
    with pytest.raises(ValueError, match="slo"):
        pf.BurnRules(slo=1.0)
    with pytest.raises(ValueError, match="warning_ratio"):
        pf.LatencyRules(warning_ratio=0.9)


def _latency(days: int, p95_recent: float, p95_base: float = 100.0):
    hours = [T0 + dt.timedelta(hours=i) for i in range(24 * days)]
    recent = [h > hours[-1] - dt.timedelta(days=7) for h in hours]
    return pl.DataFrame({"service": "api", "endpoint": "/x", "hour_at": hours,
                         "requests": [100 if r else 50 for r in recent],
                         "latency_p50_ms": [20.0 if r else 10.0 for r in recent],
                         "latency_p95_ms": [p95_recent if r else p95_base for r in recent],
                         "latency_p99_ms": np.arange(24 * days, dtype=float)})


@pytest.mark.parametrize(("p95", "health"), [(140.0, "healthy"), (150.0, "warning"), (310.0, "critical")])
def test_latency_health_follows_the_p95_ratio_to_the_baseline(p95, health):
    row = pf.endpoint_latency(_latency(35, p95)).row(0, named=True)
    assert row["p95_ratio"] == pytest.approx(p95 / 100.0)
    assert row["health"] == health and row["status"] == "ok"
    assert row["p50_ms"] == 20.0 and row["p99_ms"] == 24 * 35 - 1


def test_latency_without_a_baseline_reports_percentiles_but_no_ratio():
    row = pf.endpoint_latency(_latency(5, 200.0)).row(0, named=True)
    assert row["status"] == "no_baseline" and row["p95_ratio"] is None and row["p95_ms"] == 200.0


def _jobs(client, jobs, succeeded):
    return {"client_id": client, "job_date": dt.date(2025, 3, 1), "jobs": jobs, "succeeded_jobs": succeeded,
            "failed_jobs": jobs - succeeded, "timeout_jobs": 0, "avg_duration_seconds": 60.0}


def test_generation_success_has_a_wilson_interval_and_health_by_its_upper_bound():
    daily = pl.DataFrame([_jobs("a", 200, 196), _jobs("b", 200, 170), _jobs("c", 200, 140), _jobs("d", 3, 2)])
    out = {r["client_id"]: r for r in pf.generation_performance(daily).iter_rows(named=True)}
    lo, hi = proportion_confint(170, 200, alpha=0.05, method="wilson")
    assert (out["b"]["success_low"], out["b"]["success_high"]) == pytest.approx((lo, hi), rel=1e-9)
    assert out["a"]["health"] == "healthy" and out["b"]["health"] == "warning"  # upper 0.893 < 0.9
    assert out["c"]["health"] == "critical" and out["d"]["health"] == "healthy"  # d: 2 of 3, too few jobs to tell (upper 0.94)
    assert out[None]["jobs"] == 603 and out[None]["success_rate"] == pytest.approx(508 / 603)


def test_overall_status_is_the_worst_component_and_names_it():
    burn = pf.burn_rates(pl.concat([_hours([5] * 100 + [150], service="api"), _hours([5] * 101, service="web")]))
    latency = pf.endpoint_latency(_latency(35, 160.0))
    generation = pf.generation_performance(pl.DataFrame([_jobs("a", 200, 196)]))
    status = pf.overall_status(burn, latency, generation)
    overall = status.filter(pl.col("component_type") == "overall").row(0, named=True)
    assert overall["health"] == "critical" and "slo:api" in overall["reason"]
    by = {(r["component_type"], r["component"]): r["health"] for r in status.iter_rows(named=True)}
    assert by[("slo", "web")] == "healthy" and by[("latency", "/x")] == "warning"
