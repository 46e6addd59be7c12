"""Attribution against a planted truth: the journey marts built by dbt, every model fitted with
its bootstrap, and each model's pooled channel shares scored against the truth's Shapley shares.

Shared by ``tests/integration/test_attribution_truth_small.py`` and ``bench/bench_attribution_truth.py``
so that the test's thresholds and the benchmark table read the same figures. The raw touchpoints
and conversions (Parquet globs of a simulated landing folder, or frames) go into a private
DuckDB file whose other raw tables stay empty; dbt builds the two attribution marts and what
they need; the models run on exactly what the ``channel_attribution`` asset reads (its journey
source, batch by batch).

Scores, per model, on each channel's share of all clients' touched conversions:
- ``max_error_big``: the largest |estimate - truth| over the channels with >= 5% true credit;
- ``outside``: the channels whose truth lies outside the 2.5%-97.5% bootstrap interval of the
  share (and ``coverage``, the share of channels inside); ``max_outside`` says how many misses
  correct 95% intervals allow.
"""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import duckdb
import numpy as np
import polars as pl
from scipy.stats import binom

from dagster_project.analytics.attribution import MODELS, AttributionSettings
from dagster_project.analytics.attribution.credits import fit_batches
from dagster_project.analytics.attribution.shapley_prior import ShapleyPrior
from dagster_project.devtools.raw_schema import create_raw_schema
from dagster_project.warehouse.duckdb_backend import DuckDBSession

ROOT = Path(__file__).resolve().parents[2]
BIG = 0.05  # channels with at least this true share are scored by max_error_big
SOURCE_TABLES = ("touchpoints", "conversions")
MARTS_DB = "attribution_truth.duckdb"  # the DuckDB file journey_marts builds in its work folder


def journey_marts(sources: dict[str, pl.DataFrame | str], work: Path) -> Path:
    """The DuckDB file holding the attribution marts dbt builds from raw touchpoints and
    conversions (a frame or a Parquet glob each)."""
    work.mkdir(parents=True, exist_ok=True)
    db = work / MARTS_DB
    with duckdb.connect(str(db)) as con:
        create_raw_schema(con)
        for table in SOURCE_TABLES:
            cols = [r[0] for r in con.execute(f"describe raw.{table}").fetchall()]
            data = ", ".join(c for c in cols if not c.startswith("_"))
            src = sources[table]
            if isinstance(src, pl.DataFrame):
                con.register("source_frame", src.to_arrow())
                rel = "source_frame"
            else:
                rel = f"read_parquet('{src}', hive_partitioning = false)"
            con.execute(f"insert into raw.{table} ({data}, _source_file, _source_row, _loaded_at) "
                        f"select {data}, 'truth', 0, now() from {rel}")
    env = {**os.environ, "DBT_TARGET": "duckdb", "BI_DUCKDB_PATH": str(db)}
    dbt = Path(sys.executable).parent / "dbt"
    run = subprocess.run(
        [str(dbt), "build", "--project-dir", str(ROOT / "dbt"), "--profiles-dir", str(ROOT / "dbt"),
         "--target-path", str(work / "target"), "--log-path", str(work / "logs"),
         "--select", "+fct_attribution_paths", "+fct_attribution_touch_credits",
         "--exclude", "test_type:data"],
        env=env, capture_output=True, text=True, check=False)
    if run.returncode != 0:
        raise RuntimeError(f"dbt build failed:\n{run.stdout[-3000:]}")
    return db


@dataclass(frozen=True)
class Fitted:
    """Every model's credits summed over the clients (touched channels, then '(none)')."""

    channels: tuple[str, ...]
    point: dict[str, np.ndarray]  # model -> (K + 1,) conversions credited
    draws: dict[str, np.ndarray]  # model -> (resamples, K + 1) the same per bootstrap resample
    prior: ShapleyPrior
    journeys: float
    conversions: float


def fit_models(db: Path, settings: AttributionSettings) -> Fitted:
    """Every model's point credits and bootstrap draws as the ``channel_attribution`` asset
    computes them (its journey source over ``db``, batch by batch), summed over clients."""
    from dagster_project.defs.attribution.sources import WarehouseJourneys

    point = dict.fromkeys(MODELS, 0.0)
    draws = dict.fromkeys(MODELS, 0.0)
    journeys = conversions = 0.0
    with DuckDBSession.open(str(db)) as session:
        pooled, _, fits = fit_batches(WarehouseJourneys(session), settings)
        for fit in fits:
            for model in MODELS:
                point[model] = point[model] + fit.point[model][0].sum(axis=0)
                draws[model] = draws[model] + fit.draws[model][:, 0].sum(axis=1)
            journeys += fit.journeys.journeys.sum()
            conversions += fit.journeys.conversions.sum()
    return Fitted(pooled.channels, point, draws, pooled.prior, journeys, conversions)


def score(fit: Fitted, truth_share: dict[str, float]) -> dict:
    """Per model: max error (share points as fractions) over the channels with >= 5% true
    credit and over all channels, the channels outside the 95% bootstrap interval, each
    channel's signed error in points; plus the Shapley prior's fitted values."""
    channels = list(fit.channels)
    t = np.array([truth_share[c] for c in channels])
    big = t >= BIG

    def shares(conv):  # touched channels only
        c = conv[..., : len(channels)]
        return c / c.sum(axis=-1, keepdims=True)

    report = {"channels": channels, "n_channels": len(channels), "models": {}}
    for model in MODELS:
        est = shares(fit.point[model])
        lo, hi = np.percentile(shares(fit.draws[model]), [2.5, 97.5], axis=0)
        inside = (t >= lo) & (t <= hi)
        report["models"][model] = {
            "max_error_big": float(np.abs(est - t)[big].max()),
            "max_error_all": float(np.abs(est - t).max()),
            "outside": int((~inside).sum()), "coverage": float(inside.mean()),
            "errors": dict(zip(channels, np.round((est - t) * 100, 2).tolist())),
        }
    errors = {m: np.array(list(r["errors"].values())) for m, r in report["models"].items()}
    report["markov_linear_error_correlation"] = float(np.corrcoef(errors["markov"], errors["linear"])[0, 1])
    report["pooled_p"] = dict(zip(channels, (-np.expm1(-fit.prior.q)).tolist()))
    report["prior_strength"] = fit.prior.strength
    report["pooled_prior_strength"] = fit.prior.pooled_strength
    report["journeys"] = float(fit.journeys)
    report["conversions"] = float(fit.conversions)
    return report


TRUTH_SETTINGS = AttributionSettings(markov_order=1, bootstrap_resamples=200, seed=0)


def evaluate(sources: dict[str, pl.DataFrame | str], truth_share: dict[str, float], work: Path,
             settings: AttributionSettings = TRUTH_SETTINGS) -> dict:
    """``score`` of the models fitted on the journeys dbt builds from ``sources``."""
    return score(fit_models(journey_marts(sources, work), settings), truth_share)


def max_outside(n_intervals: int, level: float = 0.95, false_alarm: float = 0.001) -> int:
    """The smallest m with P(Binomial(n, 1 - level) > m) < false_alarm: how many of n correct
    intervals of nominal ``level`` may miss their truth before the count of misses is itself
    evidence against them at ``false_alarm`` (the channels' intervals taken as independent)."""
    m = 0
    while binom.sf(m, n_intervals, 1 - level) >= false_alarm:
        m += 1
    return m


def landing_sources(landing: Path) -> dict[str, str]:
    """The Parquet globs of a simulated landing folder's touchpoints and conversions."""
    return {t: str(landing / t / "**" / "*.parquet") for t in SOURCE_TABLES}


def summary(report: dict, title: str) -> str:
    """The report as text lines (points of share)."""
    head = (f"{title}: {report['journeys']:,.0f} journeys, {report['conversions']:,.0f} "
            f"conversions; Shapley prior weights: client {report['prior_strength']:,.0f}, "
            f"noisy-OR in the pooled rates {report['pooled_prior_strength']:,.0f}")
    lines = [head]
    for model, r in report["models"].items():
        lines.append(f"  {model:15s} max error (truth >= 5%) {r['max_error_big'] * 100:5.2f}  "
                     f"(all channels {r['max_error_all'] * 100:5.2f})  truth outside the 95% "
                     f"interval for {r['outside']} of {report['n_channels']} channels")
    lines.append(f"  markov vs linear per-channel error correlation "
                 f"{report['markov_linear_error_correlation']:.3f}")
    return "\n".join(lines)
