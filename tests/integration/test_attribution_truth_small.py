"""Planted-truth recovery of the data-driven attribution models on `small` (issue 4).

One `small` simulation (seed 7) is loaded into a private DuckDB (touchpoints and conversions; the
other raw tables stay empty), dbt builds the journey marts, and the attribution is computed
directly with ``dagster_project.analytics.attribution`` on what the assets read.

Truth: ``shapley_share`` of data/truth/attribution.json -- each channel's exact Shapley share of
the EXPECTED conversions under the simulator's noisy-OR, over the simulated journeys' channel
sets. It, not ``shapley_share_realised`` (the realised conversions split by phi/f), is the
population quantity a bootstrap interval is an interval for, and it is what the issue names; the
two differ by at most 0.14 points at this scale, far less than the errors measured below.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
from pathlib import Path

import duckdb
import numpy as np
import pytest

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
SEED = 7
RULE = ("first_touch", "last_touch", "linear", "time_decay", "position_based")


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    from dagster_project.analytics.attribution import (
        AttributionSettings,
        bootstrap,
        model_credits,
        rule_fractions,
    )
    from dagster_project.analytics.attribution_journeys import group_journeys
    from dagster_project.analytics.attribution_markov import build_structure
    from dagster_project.simulator import simulate

    spec = importlib.util.spec_from_file_location("dbt_helpers", ROOT / "tests" / "dbt_helpers.py")
    helpers = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(helpers)

    tmp = tmp_path_factory.mktemp("attr_small")
    simulate("small", SEED, tmp / "landing", tmp / "truth")
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
    point, q = model_credits(j, fractions, settings, structure)
    draws = bootstrap(j, fractions, settings, structure, q)
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
    print("\nattribution vs planted truth on small (points of share):")
    for m, r in report.items():
        print(f"  {m:15s} max error (truth >= 5%) {r['max_error_big'] * 100:5.2f}  "
              f"(all channels {r['max_error_all'] * 100:5.2f})  bootstrap coverage {r['coverage']:.0%}")
    return report


@pytest.mark.xfail(strict=True, reason=(
    "small seed 7: Shapley max error 3.0-3.3 points (email, direct) for channels with >= 5% true "
    "credit; journeys of one customer overlap (~2.8 purchase opportunities per 30-day lookback) and "
    "the raw data carry no opportunity id, so converting journeys hold other opportunities' channels. "
    "On the simulator's own journey sets the same estimator is within 0.3 points."))
def test_shapley_share_within_3_points_of_truth_on_small(small):
    assert small["shapley"]["max_error_big"] <= 0.03


@pytest.mark.xfail(strict=True, reason=(
    "small seed 7: Markov (order 1) max error ~7 points (direct); removal effects credit exposure, "
    "not incremental probability: even on the simulator's journey sets Markov is 4.5 points off "
    "(6.7 on facebook, 4.85% true share)."))
def test_markov_share_within_5_points_of_truth_on_small(small):
    assert small["markov"]["max_error_big"] <= 0.05


def test_shapley_beats_every_rule_based_model_on_small(small):
    """The regression guard that does hold: Shapley is at least 2 points closer to the truth
    than the best rule-based model."""
    best_rule = min(small[m]["max_error_big"] for m in RULE)
    assert small["shapley"]["max_error_big"] < best_rule - 0.02
