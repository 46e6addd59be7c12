"""Planted-truth recovery of the attribution models on two truths (issues 4 and 9).

1. noisy-OR: one `small` simulation (seed 7). The simulator converts a journey by noisy-OR, the
   curve the Shapley model's prior is built on, so part of its recovery holds by construction.
2. logistic synergy: ``simulator.synergy`` (1,000 clients, seed 7, about 270,000 settled
   journeys): a logistic conversion function with complementary and substitute channel pairs,
   three client segments and client-level exposure, which noisy-OR cannot fit.

Each goes through dbt (touchpoints and conversions into a private DuckDB; the journey marts built
by the project's models) and the models are fitted on what the ``channel_attribution`` asset
reads, with its 200-resample bootstrap (``dagster_project.devtools.attribution_truth``, shared
with ``bench/bench_attribution_truth.py``, where every model's figures are reported).

Truth: each channel's exact Shapley share of the EXPECTED conversions over the simulated
journeys' channel sets (``shapley_share``), the population quantity a bootstrap interval is an
interval for. Thresholds: the issue's 3-point target for Shapley on both truths (the channels
with >= 5% true credit); coverage from the nominal level: at most ``max_outside(11)`` = 4 of the
11 channels' truths outside their 95% intervals (the smallest m with
P(Binomial(11, 0.05) > m) < 0.001); Shapley at least 2 points closer than every rule-based
model. Markov is not asserted on: its figures are benchmark rows.
"""

from __future__ import annotations

import datetime as dt
import json

import polars as pl
import pytest
from scipy.stats import binom

from dagster_project.devtools.attribution_truth import max_outside

pytestmark = pytest.mark.integration

SEED = 7
RULE = ("first_touch", "last_touch", "linear", "time_decay", "position_based")


@pytest.fixture(scope="module")
def small_sim(tmp_path_factory, small_simulation):
    """The shared `small` simulation (seed 7) beside a folder of this module's own (marts/)."""
    own = tmp_path_factory.mktemp("attr_small")
    for part in ("landing", "truth"):
        (own / part).symlink_to(small_simulation / part, target_is_directory=True)
    return own


@pytest.fixture(scope="module")
def noisy_or(small_sim):
    from dagster_project.devtools.attribution_truth import evaluate, landing_sources, summary

    truth = json.loads((small_sim / "truth" / "attribution.json").read_text())
    report = evaluate(landing_sources(small_sim / "landing"), truth["shapley_share"],
                      small_sim / "marts")
    report["true_p"] = truth["channel_conversion_params"]
    print("\n" + summary(report, "noisy-OR truth, small seed 7"))
    return report


@pytest.fixture(scope="module")
def synergy(tmp_path_factory):
    from dagster_project.devtools.attribution_truth import evaluate, summary
    from dagster_project.simulator.synergy import synergy_journeys

    data = synergy_journeys(n_clients=1000, seed=SEED)
    report = evaluate({"touchpoints": data.touchpoints, "conversions": data.conversions},
                      data.truth["shapley_share"], tmp_path_factory.mktemp("attr_synergy"))
    print("\n" + summary(report, "logistic synergy truth, 1,000 clients, seed 7"))
    return report


@pytest.fixture(params=["noisy_or", "synergy"])
def truth_report(request):
    return request.getfixturevalue(request.param)


def test_the_coverage_bound_is_the_smallest_miss_count_correct_intervals_exceed_rarely():
    """For 11 channels and 95% intervals, X ~ Binomial(11, 0.05) misses: P(X > 3) = 0.0015 is
    not below 0.001, P(X > 4) = 0.00011 is, so at most 4 channels may lie outside."""
    assert binom.sf(3, 11, 0.05) >= 0.001 > binom.sf(4, 11, 0.05)
    assert max_outside(11) == 4
    assert max_outside(11, false_alarm=0.05) == 2  # P(X > 1) = 0.10, P(X > 2) = 0.015


def test_shapley_share_within_3_points_of_truth(truth_report):
    assert truth_report["models"]["shapley"]["max_error_big"] <= 0.03


def test_truth_lies_inside_the_shapley_bootstrap_interval_as_often_as_a_95_percent_interval(
        truth_report):
    shapley = truth_report["models"]["shapley"]
    assert shapley["outside"] <= max_outside(truth_report["n_channels"])


def test_shapley_beats_every_rule_based_model(truth_report):
    """Shapley is at least 2 points closer to the truth than the best rule-based model; on the
    synergy truth this does not hold by construction (its curve is not the prior's)."""
    best_rule = min(truth_report["models"][m]["max_error_big"] for m in RULE)
    assert truth_report["models"]["shapley"]["max_error_big"] < best_rule - 0.02


def test_pooled_conversion_probabilities_recover_the_planted_ones(noisy_or):
    """The Shapley prior's noisy-OR curve, fitted on settled journeys, gives back each channel's
    planted conversion probability p_j (counting recent orders without the recent journeys that
    may still convert inflated them by a quarter)."""
    for channel, p in noisy_or["true_p"].items():
        assert noisy_or["pooled_p"][channel] == pytest.approx(p, abs=0.01), channel


def test_a_customers_journeys_never_interleave(small_sim):
    """The simulator's refractory period, seen in the landed rows: a customer's orders are at
    least REFRACTORY_DAYS apart (less the decision hour), and no touch lies in the lookback of
    two orders, so the lookback before an order holds that order's journey only."""
    from dagster_project.simulator import params as P

    read = lambda t: pl.read_parquet(small_sim / "landing" / t / "**" / "*.parquet",
                                     hive_partitioning=False)
    conv = read("conversions").sort("customer_id", "converted_at")
    gap = (pl.col("converted_at") - pl.col("converted_at").shift().over("customer_id"))
    gaps = conv.select(gap.alias("gap"))["gap"].drop_nulls()
    assert len(gaps) > 1000  # repeat orders exist: the check bites
    assert gaps.min() >= dt.timedelta(days=P.REFRACTORY_DAYS - 1)
    touches = read("touchpoints").select("touchpoint_id", "customer_id", "touched_at")
    claimed = touches.join(conv.select("customer_id", "converted_at"), on="customer_id").filter(
        pl.col("touched_at") <= pl.col("converted_at"),
        pl.col("touched_at") >= pl.col("converted_at") - dt.timedelta(days=P.LOOKBACK_DAYS))
    assert claimed.height > 10_000
    assert claimed["touchpoint_id"].is_unique().all()


def test_the_warehouse_rebuilds_the_simulated_journeys_after_the_first_lookback(small_sim, noisy_or):
    """Journeys that start one lookback or more after the history begins are the simulated
    ones: their conversion rate per channel set is the planted noisy-OR f(S) up to binomial
    noise (mean squared standardised deviation ~1 over the sets with >= 100 journeys; 1.3 allows
    for 275 sets' chi-square noise, sd ~ sqrt(2/275) ~ 0.09, by more than 3 sd). Journeys cut
    at a window boundary inside a purchase opportunity (windows counted from a gap's first touch)
    gave 2.3."""
    import duckdb
    import numpy as np

    from dagster_project.devtools.attribution_truth import MARTS_DB
    from dagster_project.simulator.shapley import noisy_or as noisy_or_table

    truth = json.loads((small_sim / "truth" / "attribution.json").read_text())
    channels = truth["channels"]
    f = noisy_or_table(np.array([truth["channel_conversion_params"][c] for c in channels]))
    with duckdb.connect(str(small_sim / "marts" / MARTS_DB), read_only=True) as con:
        paths = pl.from_arrow(con.sql(
            "select channel_path, converted from marts.fct_customer_paths "
            "where channel_path is not null and is_settled and first_touch_at >= "
            "(select min(touched_at) from raw.touchpoints) + interval 30 day").to_arrow_table())
    bit = {c: 1 << i for i, c in enumerate(channels)}
    cells = paths.with_columns(mask=pl.col("channel_path").str.split(" > ").list.unique()
                               .list.eval(pl.element().replace_strict(bit, return_dtype=pl.Int64))
                               .list.sum()).group_by("mask").agg(
        pl.len().alias("n"), pl.col("converted").sum().alias("c")).filter(pl.col("n") >= 100)
    n, c, m = (cells[k].to_numpy() for k in ("n", "c", "mask"))
    z2 = (c - n * f[m]) ** 2 / (n * f[m] * (1 - f[m]))
    assert len(z2) > 200
    assert z2.mean() < 1.3
