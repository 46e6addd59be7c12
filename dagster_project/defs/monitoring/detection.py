"""The detection asset: read the catalog's series from the marts, call
dagster_project.analytics.monitoring, write analytics.metric_anomalies.

The hourly_refresh job scores only the newest hours (a bounded history read, models loaded
from disk, rows upserted by anomaly_id); every other run (nightly_refresh, a UI
materialization) refits the models and rebuilds the table.
"""

import datetime as dt
import pickle
from pathlib import Path

import dagster as dg
import polars as pl
from pydantic import Field

from dagster_project.analytics import monitoring as mon
from dagster_project.analytics.monitoring.baseline import STEP_SECONDS
from dagster_project.analytics.monitoring.series import ABSENT_MEANS_ZERO
from dagster_project.defs.monitoring import detection_plots as plots
from dagster_project.domains import domain
from dagster_project.metadata import markdown_table, png_markdown, table_metadata
from dagster_project.settings import get_settings
from dagster_project.warehouse import Warehouse

DOMAIN = domain("monitoring")
TABLE = "analytics.metric_anomalies"
HOURLY_JOB = "hourly_refresh"
MARTS = sorted({m.mart for m in mon.METRICS.values()})
COLUMNS = {
    "anomaly_id": "sha1 of metric|entity|detector|ts (20 hex): stable across runs",
    "metric": "a metric of analytics/monitoring/metric_catalog.py",
    "entity": "the series' entity (catalog entity columns joined with '/')",
    "ts": "start of the flagged hour or day (UTC)",
    "value": "the metric's value there",
    "expected": "the robust baseline's expectation (null for isolation_forest, autoencoder)",
    "score": "1 - calibrated tail probability (higher: more anomalous)",
    "detector": "robust_baseline, isolation_forest, autoencoder or combined",
    "pattern": "spike, drop, level_shift, trend or recurring (of the point's episode)",
    "status": "; ".join(f"{k}: {v}" for k, v in mon.STATUS_CODES.items()),
    "status_message": "the status's reason, in words",
    "detected_at": "when this run flagged the point",
}


class DetectionConfig(dg.Config):
    rebuild: bool | None = Field(default=None, description="Refit the models and rebuild the "
                                 "table (true) or score only the newest steps (false); unset: "
                                 "incremental in the hourly_refresh job when models exist.")
    new_steps: int = Field(default=3, ge=1, description="Steps (hours or days) the incremental "
                           "run rescores at the end of each series (late rows are caught).")
    z_threshold: float = Field(default=7.0, gt=0, description="Robust |z| that flags a point "
                               "(robust_baseline and combined).")
    model_tail: float = Field(default=0.001, gt=0, lt=1, description="Calibrated tail "
                              "probability at or below which the models flag a point.")
    periods: int = Field(default=4, ge=1, description="Earlier seasonal periods in the baseline.")
    min_periods: int = Field(default=2, ge=1, description="Earlier periods a point needs.")
    scale_periods: int = Field(default=4, ge=1, description="Periods of residuals for the scale.")
    fallback_days: int = Field(default=7, ge=0, description="Earlier days (same time of day) "
                               "an hourly series' first weeks are compared with while fewer "
                               "than min_periods earlier periods exist; 0: no fallback.")
    trend_alpha: float = Field(default=0.001, gt=0, lt=1,
                               description="Mann-Kendall level of the trend pattern.")
    recurring_count: int = Field(default=3, ge=2, description="Episodes that make a recurrence.")
    recurring_window_hours: int = Field(default=168, ge=1,
                                        description="Window of the recurrence, in hours.")
    seed: int = Field(default=0, description="Seed of Isolation Forest and the autoencoder.")

    def settings(self) -> mon.DetectionSettings:
        return mon.DetectionSettings(
            baseline=mon.BaselineSettings(self.periods, self.scale_periods, self.min_periods,
                                          self.fallback_days),
            patterns=mon.PatternSettings(
                trend_alpha=self.trend_alpha, recurring_count=self.recurring_count,
                recurring_window=dt.timedelta(hours=self.recurring_window_hours)),
            z_threshold=self.z_threshold, model_tail=self.model_tail, seed=self.seed)


def model_path() -> Path:
    return get_settings().data_dir / "models" / "monitoring_detectors.pkl"


def _save(models: mon.DetectorModels, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_bytes(pickle.dumps(models))
    tmp.replace(path)  # atomic: an hourly run never reads half a file


def _read_series(warehouse: Warehouse, settings: mon.DetectionSettings, incremental: bool,
                 new_steps: int):
    """{metric: (grid, grain, seasonality)} and, when incremental, {metric: since} (the
    last ``new_steps`` steps) and {metric: start} (the history their baseline reads)."""
    series, since, starts = {}, {}, {}
    for name, m in mon.METRICS.items():
        if not warehouse.table_exists(f"marts.{m.mart}"):
            continue
        start = None
        if incremental:
            last = warehouse.scalar(f"select max({m.time_column}) from marts.{m.mart}")
            if last is None:
                continue
            last = dt.datetime.fromisoformat(str(last)).replace(tzinfo=None)
            start = mon.history_start(last, m.grain, m.seasonality[0], settings.baseline,
                                      new_steps)
            since[name] = last - dt.timedelta(seconds=STEP_SECONDS[m.grain] * (new_steps - 1))
            starts[name] = start
        df = warehouse.read(mon.series_sql(m, start))
        if df.height:
            absent = 0.0 if name in ABSENT_MEANS_ZERO else None
            series[name] = (mon.regular_grid(df, m.grain, absent), m.grain, m.seasonality[0])
    return series, since, starts


def _plots(base, points: pl.DataFrame, scores: pl.DataFrame, cfg: DetectionConfig) -> dict:
    out = {}
    for det in mon.DETECTORS:
        flagged = points.filter((pl.col("detector") == det) & (pl.col("status") == "ok"))
        if flagged.height == 0:
            continue
        top = flagged.group_by("metric", "entity").len().sort("len", "metric", "entity",
                                                              descending=True).row(0)
        f = flagged.filter((pl.col("metric") == top[0]) & (pl.col("entity") == top[1]))
        title = f"{det}: {top[0]} of {top[1]} ({top[2]} flagged)"
        if det in ("isolation_forest", "autoencoder"):
            s = scores.filter(pl.col("entity") == top[1]).sort("ts")
            fig = plots.model_scores(s, f, det, title, cfg.model_tail)
        else:
            b = base[top[0]].filter(pl.col("entity") == top[1])
            fig = plots.baseline_band(b, f, title, cfg.z_threshold)
        out[f"plot_{det}"] = png_markdown(fig, title)
    return out


@dg.asset(key=["analytics", "metric_anomalies"], group_name=DOMAIN.name, owners=DOMAIN.owners,
          kinds={"python", "polars", "scikit-learn", "pytorch"},
          deps=[dg.AssetKey(["marts", m]) for m in MARTS])
def metric_anomalies(context: dg.AssetExecutionContext, config: DetectionConfig,
                     warehouse: Warehouse) -> dg.MaterializeResult:
    """Flagged points of every monitored metric series (API latency, errors and requests per
    endpoint; CPU, memory, disk and queue depth per host; content-generation failures; revenue
    per client; engagement per platform; MRR per tier), one row per point and detector: the
    seasonal robust baseline (median of the same slot in earlier weeks or months, corrected for
    growth; robust z; an hourly series' days 7 to 14, before two earlier weeks exist, against
    the range of the same hour on the 7 earlier days), Isolation Forest and a torch autoencoder
    over the API and host vectors, and their Bonferroni combination; scores are 1 - calibrated
    tail probability; each point carries the pattern of its episode (spike, drop, level_shift,
    trend by Mann-Kendall and Theil-Sen, recurring). Series that cannot be scored get a status
    row (rebuild only)."""
    settings = config.settings()
    path = model_path()
    incremental = (not config.rebuild) if config.rebuild is not None else (
        context.job_name == HOURLY_JOB and path.exists() and warehouse.table_exists(TABLE))
    series, since, starts = _read_series(warehouse, settings, incremental, config.new_steps)
    base = mon.baselines(series, settings, starts)
    if incremental:
        models = pickle.loads(path.read_bytes())  # written by this asset's rebuild
    else:
        models = mon.fit_models(base, settings)
        _save(models, path)
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    rows = mon.detect(base, {m: s[1] for m, s in series.items()}, models, now, settings,
                      since if incremental else None)
    if incremental:
        warehouse.write(TABLE, rows, mode="upsert", key=["anomaly_id"])
    else:
        warehouse.write(TABLE, rows)
    counts = rows.group_by("detector", "pattern", "status").len().sort(
        "detector", "pattern", "status", nulls_last=True)
    scores = mon.model_scores(base, models)
    return dg.MaterializeResult(metadata={
        **table_metadata(rows, COLUMNS), "mode": "incremental" if incremental else "rebuild",
        "series_scored": sum(b["entity"].n_unique() for b in base.values()),
        "points_scored": sum(b.filter(pl.col("status") == "ok").height for b in base.values()),
        "model_training_rows": dg.MetadataValue.json(models.trained_rows),
        "flags_by_detector_and_pattern": dg.MetadataValue.md(markdown_table(counts)),
        "status_codes": dg.MetadataValue.md(markdown_table(mon.status_table())),
        **_plots(base, rows, scores, config)})
