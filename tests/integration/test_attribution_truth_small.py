"""Planted-truth recovery of the data-driven attribution models on `small` (issue 4).

One `small` simulation (seed 7) is loaded into a private DuckDB (touchpoints and conversions; the
other raw tables stay empty), dbt builds the journey marts, and the attribution is computed
directly with ``dagster_project.analytics.attribution`` on what the assets read.

Truth: ``shapley_share`` of data/truth/attribution.json -- each channel's exact Shapley share of
the EXPECTED conversions under the simulator's noisy-OR, over the simulated journeys' channel
sets. It, not ``shapley_share_realised`` (the realised conversions split by phi/f), is the
population quantity a bootstrap interval is an interval for, and it is what the issue names.

Measured (seed 7, 258,088 journeys, 55,763 conversions), max error in points over the channels
with >= 5% true credit: Shapley 0.37 (bootstrap coverage 82%, 9 of 11 channels; empirical-Bayes
prior weight about 123,000 pseudo-journeys), Markov order 1 6.58 (order 3: 5.79), rule-based
models 5.25-5.29; pooled conversion probabilities within 0.0045 of the planted ones.
"""

from __future__ import annotations

import datetime as dt
import importlib.util
import json
import os
import subprocess
from pathlib import Path

import duckdb
import numpy as np
import polars as pl
import pytest

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
SEED = 7
RULE = ("first_touch", "last_touch", "linear", "time_decay", "position_based")


@pytest.fixture(scope="module")
def small_sim(tmp_path_factory):
    """The `small` simulation (seed 7): landing/ and truth/."""
    from dagster_project.simulator import simulate

    tmp = tmp_path_factory.mktemp("attr_small")
    simulate("small", SEED, tmp / "landing", tmp / "truth")
    return tmp


@pytest.fixture(scope="module")
def small(small_sim):
    from dagster_project.analytics.attribution import AttributionSettings
    from dagster_project.analytics.attribution.bootstrap import bootstrap
    from dagster_project.analytics.attribution.credits import model_credits
    from dagster_project.analytics.attribution.journeys import group_journeys
    from dagster_project.analytics.attribution.markov import build_structure
    from dagster_project.analytics.attribution.rule_based import rule_fractions

    spec = importlib.util.spec_from_file_location("dbt_helpers", ROOT / "tests" / "dbt_helpers.py")
    helpers = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(helpers)

    tmp = small_sim
    db = tmp / "w.duckdb"
    con = duckdb.connect(str(db))
    helpers.create_raw_schema(con)
    for table in ("touchpoints", "conversions"):
        cols = [r[0] for r in con.execute(f"describe raw.{table}").fetchall()]
        data = [c for c in cols if not c.startswith("_")]
        con.execute(f"""insert into raw.{table} ({', '.join(data)}, _source_file, _source_row, _loaded_at)
            select {', '.join(data)}, 'small', 0, now()
            from read_parquet('{tmp / 'landing' / table}/**/*.parquet', hive_partitioning = false)""")
    con.close()
    env = {**os.environ, "DBT_TARGET": "duckdb", "BI_DUCKDB_PATH": str(db)}
    run = subprocess.run(
        [str(ROOT / ".venv/bin/dbt"), "build", "--project-dir", str(ROOT / "dbt"), "--profiles-dir",
         str(ROOT / "dbt"), "--target-path", str(tmp / "target"), "--log-path", str(tmp / "logs"),
         "--select", "+fct_attribution_paths", "+fct_attribution_touch_credits",
         "--exclude", "test_type:data"],
        env=env, capture_output=True, text=True, check=False)
    assert run.returncode == 0, run.stdout[-3000:]
    con = duckdb.connect(str(db), read_only=True)
    from dagster_project.defs.attribution.assets import PATHS_SQL, RULE_CREDITS_SQL

    paths, rules = con.sql(PATHS_SQL).pl(), con.sql(RULE_CREDITS_SQL).pl()
    con.close()
    settings = AttributionSettings(markov_order=1, bootstrap_resamples=200, seed=0)
    j = group_journeys(paths)
    fractions = rule_fractions(j, rules)
    structure = build_structure(j, settings.markov_order)
    point, prior = model_credits(j, fractions, settings, structure)
    draws = bootstrap(j, fractions, settings, structure, prior)
    truth = json.loads((tmp / "truth" / "attribution.json").read_text())
    channels = list(j.channels)

    def shares(conv):  # pooled over clients, touched channels only
        c = conv[..., : len(channels)].sum(axis=-2)
        return c / c.sum(axis=-1, keepdims=True)

    t = np.array([truth["shapley_share"][c] for c in channels])
    report = {}
    for model in (*RULE, "markov", "shapley"):
        est = shares(point[model][0])
        boot = shares(draws[model][:, 0])
        lo, hi = np.percentile(boot, [2.5, 97.5], axis=0)
        big = t >= 0.05
        report[model] = {
            "max_error_big": float(np.abs(est - t)[big].max()),
            "max_error_all": float(np.abs(est - t).max()),
            "coverage": float(((t >= lo) & (t <= hi)).mean()),
            "errors": dict(zip(channels, np.round((est - t) * 100, 2).tolist())),
        }
    report["pooled_p"] = dict(zip(channels, (-np.expm1(-prior.q)).tolist()))
    report["true_p"] = truth["channel_conversion_params"]
    print("\nattribution vs planted truth on small (points of share):")
    for m, r in report.items():
        if m in ("pooled_p", "true_p"):
            continue
        print(f"  {m:15s} max error (truth >= 5%) {r['max_error_big'] * 100:5.2f}  "
              f"(all channels {r['max_error_all'] * 100:5.2f})  bootstrap coverage {r['coverage']:.0%}")
    print("  pooled conversion probability (planted): " + ", ".join(
        f"{c} {report['pooled_p'][c]:.3f} ({p:.2f})" for c, p in report["true_p"].items()))
    return report


def test_shapley_share_within_3_points_of_truth_on_small(small):
    assert small["shapley"]["max_error_big"] <= 0.03


def test_pooled_conversion_probabilities_recover_the_planted_ones(small):
    """The Shapley value function's pooled noisy-OR, fitted on settled journeys, gives back each
    channel's planted conversion probability p_j (counting recent orders without the recent
    journeys that may still convert inflated them by a quarter)."""
    for channel, p in small["true_p"].items():
        assert small["pooled_p"][channel] == pytest.approx(p, abs=0.01), channel


def test_truth_lies_inside_the_shapley_bootstrap_interval_for_most_channels(small):
    assert small["shapley"]["coverage"] > 0.5


@pytest.mark.xfail(strict=True, reason=(
    "small seed 7: Markov max error 6.6 points at order 1 (direct), 5.8 at order 3, on exactly "
    "the simulated journeys. Removal-effect credit measures how much conversion flows through "
    "a channel's states, i.e. its exposure among converting journeys, not its incremental "
    "conversion probability: here it lands next to the rule-based models (5.3 points off), all "
    "of which over-credit the widely seen, weakly converting channels (facebook, tiktok, "
    "twitter) and under-credit direct, referral and paid search. test_markov_credit_follows_"
    "exposure_like_the_rule_based_models shows it."))
def test_markov_share_within_5_points_of_truth_on_small(small):
    assert small["markov"]["max_error_big"] <= 0.05


def test_markov_credit_follows_exposure_like_the_rule_based_models(small):
    """Why Markov misses the Shapley truth: its errors per channel are the linear model's
    pattern (correlation over the channels > 0.95), not noise, and no smaller."""
    channels = list(small["markov"]["errors"])
    markov = np.array([small["markov"]["errors"][c] for c in channels])
    linear = np.array([small["linear"]["errors"][c] for c in channels])
    assert np.corrcoef(markov, linear)[0, 1] > 0.95
    assert small["markov"]["max_error_big"] >= small["linear"]["max_error_big"]


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


def test_shapley_beats_every_rule_based_model_on_small(small):
    """Shapley is at least 2 points closer to the truth than the best rule-based model."""
    best_rule = min(small[m]["max_error_big"] for m in RULE)
    assert small["shapley"]["max_error_big"] < best_rule - 0.02
