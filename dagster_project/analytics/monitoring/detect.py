"""Detection: the detectors' scores, their combination, the flags and their patterns, as the
rows of ``analytics.metric_anomalies``.

Detectors (all scores are ``1 - tail probability``, see ``calibration``):

- ``robust_baseline``: every catalog series (``baseline``); flagged when ``|z| >= z_threshold``;
- ``isolation_forest`` and ``autoencoder``: the API and host vectors (``vectors``), models
  fitted on history by ``fit_models`` (nightly) and applied by ``detect`` (nightly and hourly);
  flagged when the tail probability is <= ``model_tail``; the row's metric is the vector's
  component with the largest deviation, ``expected`` is null (no point expectation);
- ``combined``: the Bonferroni combination of the robust baseline with the models' scores of
  the same entity and time (the baseline alone where no model applies); flagged at the
  baseline's tail probability.

Patterns come from ``patterns.classify`` per detector. ``since`` limits the output to episodes
that reach ``since`` (the hourly run); the baseline reads only the history it needs.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass, field

import numpy as np
import polars as pl

from .autoencoder import AutoencoderModel
from .baseline import (
    STEP_SECONDS,
    BaselineSettings,
    robust_baseline,
    score_threshold,
    upper_bound,
)
from .calibration import combine_scores
from .isolation import IsolationModel
from .patterns import PatternSettings, classify
from .status import STATUS_CODES
from .vectors import FAMILIES, family_vectors

DETECTORS = ("robust_baseline", "isolation_forest", "autoencoder", "combined")
SCHEMA = {"anomaly_id": pl.String, "metric": pl.String, "entity": pl.String,
          "ts": pl.Datetime("us"), "value": pl.Float64, "expected": pl.Float64,
          "score": pl.Float64, "detector": pl.String, "pattern": pl.String,
          "status": pl.String, "status_message": pl.String, "detected_at": pl.Datetime("us")}


@dataclass(frozen=True)
class DetectionSettings:
    baseline: BaselineSettings = field(default_factory=BaselineSettings)
    patterns: PatternSettings = field(default_factory=PatternSettings)
    z_threshold: float = 7.0
    model_tail: float = 0.001
    train_z: float = 5.0
    train_rows: int = 50_000
    seed: int = 0

    def __post_init__(self):
        if self.z_threshold <= 0:
            raise ValueError(f"z_threshold must be > 0, got {self.z_threshold}")
        if self.train_rows < 2:
            raise ValueError(f"train_rows must be >= 2, got {self.train_rows}")
        if self.train_z <= 0:
            raise ValueError(f"train_z must be > 0, got {self.train_z}")
        if not 0 < self.model_tail < 1:
            raise ValueError(f"model_tail must be in (0, 1), got {self.model_tail}")


@dataclass
class DetectorModels:
    """The fitted models per family ("api", "host"): {family: (forest, autoencoder)}."""
    models: dict[str, tuple[IsolationModel, AutoencoderModel]]
    trained_rows: dict[str, int]


def baselines(series: dict[str, tuple[pl.DataFrame, str, str]], settings: DetectionSettings,
              read_from: dict[str, dt.datetime] | None = None) -> dict[str, pl.DataFrame]:
    """Robust-baseline frames per metric from {metric: (regular grid, grain, seasonality)};
    ``read_from`` {metric: time} when a metric's history was read from that time on (the
    hourly run's bounded read)."""
    read_from = read_from or {}
    return {m: robust_baseline(df, grain, season, settings.baseline, upper_bound(m),
                               read_from.get(m))
            for m, (df, grain, season) in series.items()}


def fit_models(base: dict[str, pl.DataFrame], settings: DetectionSettings) -> DetectorModels:
    """Isolation Forest and autoencoder per family, fitted on the complete vectors whose every
    component has ``|z| < train_z`` (the history's ordinary behaviour: a model fitted on
    anomalies too learns to reconstruct them), at most ``train_rows`` of them (seeded sample)."""
    models, rows = {}, {}
    bound = float(np.log1p(settings.train_z))
    for family, metrics in FAMILIES.items():
        vec = family_vectors(base, family)
        x = vec.filter(pl.all_horizontal([pl.col(m).abs() < bound for m in metrics])).select(
            metrics).to_numpy()
        if x.shape[0] > settings.train_rows:  # a seeded sample keeps the nightly fit bounded
            keep = np.random.default_rng(settings.seed).choice(x.shape[0], settings.train_rows,
                                                               replace=False)
            x = x[np.sort(keep)]
        if x.shape[0] < 2:
            continue
        models[family] = (IsolationModel.fit(x, settings.seed),
                          AutoencoderModel.fit(x, settings.seed))
        rows[family] = x.shape[0]
    return DetectorModels(models, rows)


def model_scores(base: dict[str, pl.DataFrame], models: DetectorModels) -> pl.DataFrame:
    """(family, entity, ts, metric = the largest deviation's, isolation_forest, autoencoder)."""
    out = []
    for family, (forest, ae) in models.models.items():
        metrics = FAMILIES[family]
        vec = family_vectors(base, family)
        if vec.height == 0:
            continue
        x = vec.select(metrics).to_numpy()
        driver = np.asarray(metrics)[np.argmax(np.abs(x), axis=1)]
        out.append(vec.select("entity", "ts").with_columns(
            family=pl.lit(family), metric=pl.Series(driver),
            isolation_forest=pl.Series(forest.score(x)), autoencoder=pl.Series(ae.score(x))))
    return pl.concat(out) if out else pl.DataFrame(schema={
        "entity": pl.String, "ts": pl.Datetime("us"), "family": pl.String, "metric": pl.String,
        "isolation_forest": pl.Float64, "autoencoder": pl.Float64})


def _points(base: dict[str, pl.DataFrame], scores: pl.DataFrame) -> pl.DataFrame:
    """Every scored point of every detector: metric, entity, ts, value, expected, z, score,
    detector."""
    rows = pl.concat([b.filter(pl.col("status") == "ok").select(
        pl.lit(m).alias("metric"), "entity", "ts", "value", "expected", "z", "score")
        for m, b in base.items()])
    fam_of = pl.DataFrame({"metric": [m for ms in FAMILIES.values() for m in ms],
                           "family": [f for f, ms in FAMILIES.items() for _ in ms]})
    both = rows.join(fam_of, on="metric", how="left").join(
        scores.select("family", "entity", "ts", "isolation_forest", "autoencoder"),
        on=["family", "entity", "ts"], how="left")
    combined = combine_scores(both.select("score", "isolation_forest", "autoencoder")
                              .fill_null(np.nan).to_numpy())
    models = scores.join(rows.select("metric", "entity", "ts", "value", "z"),
                         on=["metric", "entity", "ts"], how="left")
    return pl.concat([
        rows.with_columns(detector=pl.lit("robust_baseline")),
        both.select("metric", "entity", "ts", "value", "expected", "z",
                    score=pl.Series(combined), detector=pl.lit("combined")),
        *[models.select("metric", "entity", "ts", "value", pl.lit(None, pl.Float64)
                        .alias("expected"), "z", pl.col(d).alias("score"),
                        detector=pl.lit(d)) for d in ("isolation_forest", "autoencoder")],
    ])


def anomaly_ids(df: pl.DataFrame) -> pl.Series:
    """sha1 of ``metric|entity|detector|ts`` (ISO), 20 hex characters: stable across runs."""
    keys = df.select(pl.concat_str("metric", "entity", "detector",
                                   pl.col("ts").dt.strftime("%Y-%m-%dT%H:%M:%S"),
                                   separator="|"))[:, 0].to_list()
    return pl.Series([hashlib.sha1(k.encode()).hexdigest()[:20] for k in keys], dtype=pl.String)


def detect(base: dict[str, pl.DataFrame], grains: dict[str, str], models: DetectorModels,
           detected_at: dt.datetime, settings: DetectionSettings = DetectionSettings(),
           since: dict[str, dt.datetime] | None = None) -> pl.DataFrame:
    """The rows of ``analytics.metric_anomalies`` (schema ``SCHEMA``): flagged points of every
    detector with their pattern. ``since`` {metric: time} (the hourly run) keeps the episodes
    that reach the metric's time; None (the rebuild) keeps all and adds one status row per
    series that could not be scored."""
    points = _points(base, model_scores(base, models))
    tail_b = 1.0 - score_threshold(settings.z_threshold)
    limit = pl.when(pl.col("detector").is_in(["isolation_forest", "autoencoder"])).then(
        settings.model_tail).otherwise(tail_b)
    flags = points.filter((1.0 - pl.col("score")) <= limit).with_columns(
        grain=pl.col("metric").replace_strict(grains, default=None))
    parts = [classify(g.drop("grain"), dt.timedelta(seconds=STEP_SECONDS[grain]),
                      settings.patterns) for (grain,), g in flags.group_by("grain")]
    flagged = pl.concat(parts) if parts else flags.drop("grain").with_columns(
        pattern=pl.lit(None, pl.String), episode_end=pl.col("ts"))
    if since is not None:
        cut = pl.DataFrame({"metric": list(since), "since": list(since.values())},
                           schema={"metric": pl.String, "since": pl.Datetime("us")})
        flagged = flagged.join(cut, on="metric").filter(
            pl.col("episode_end") >= pl.col("since")).drop("since")
    flagged = flagged.with_columns(status=pl.lit("ok"), status_message=pl.lit(STATUS_CODES["ok"]))
    out = pl.concat([flagged.drop("z", "episode_end"),
                     *([] if since is not None else [_status_rows(base)])], how="diagonal")
    out = out.with_columns(anomaly_id=anomaly_ids(out), detected_at=pl.lit(detected_at))
    return out.select([pl.col(c).cast(t) for c, t in SCHEMA.items()]).sort(
        "metric", "entity", "detector", "ts")


def _status_rows(base: dict[str, pl.DataFrame]) -> pl.DataFrame:
    """One row per series without a scored point: the first cause among no_data,
    constant_series, intermittent_series, insufficient_history, at the series' last time."""
    frames = [b.group_by("entity").agg(
        metric=pl.lit(m), ts=pl.col("ts").max(), value=pl.col("value").drop_nulls().last(),
        all_null=pl.col("value").is_null().all(), scored=(pl.col("status") == "ok").any(),
        constant=(pl.col("status") == "constant_series").any(),
        intermittent=(pl.col("status") == "intermittent_series").any())
        for m, b in base.items()]
    df = pl.concat(frames).filter(~pl.col("scored")).with_columns(
        status=pl.when("all_null").then(pl.lit("no_data")).when("constant")
        .then(pl.lit("constant_series")).when("intermittent").then(pl.lit("intermittent_series"))
        .otherwise(pl.lit("insufficient_history")),
        detector=pl.lit("robust_baseline"))
    return df.with_columns(status_message=pl.col("status").replace_strict(STATUS_CODES)).select(
        "metric", "entity", "ts", "value", "detector", "status", "status_message")
