"""Ranked insights per client: every kind's evidence rendered into its sentence and
recommendation, a confidence in [0, 1], an impact level by money, the supporting numbers as
JSON, ranked and capped.

Impact level (money impact in USD, thresholds configurable): high when at least
``high_impact`` (1,000), medium when at least ``medium_impact`` (100), low otherwise or when the
kind has no money figure. Rank within a client (platform-wide insights, client_id null, are
ranked among themselves): impact level (high first), then money impact x confidence, then
confidence (both descending, nulls last), then kind and subject, so ties break the same way on
every run; only the first ``max_per_client`` are kept. The supporting JSON holds every number
the kind's texts show (``numbers`` in ``insight_kinds.yml``), rounded by the one function that
writes them (:func:`.formatting.literal`: the same digits as the text).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import polars as pl

from . import business_evidence as be
from . import operations_evidence as oe
from . import usage_evidence as ue
from .formatting import literal
from .rules import InsightKind, load_kinds
from .templates import render

IMPACT_ORDER = {"high": 0, "medium": 1, "low": 2}


@dataclass(frozen=True)
class InsightInputs:
    """The analytics tables the insights read (None: the table does not exist yet; its kinds
    give no insight)."""

    platform_summary: pl.DataFrame | None = None
    platform_trends: pl.DataFrame | None = None
    automation_savings: pl.DataFrame | None = None
    attribution_roi: pl.DataFrame | None = None
    channel_attribution: pl.DataFrame | None = None
    model_comparison: pl.DataFrame | None = None
    experiment_results: pl.DataFrame | None = None
    experiments: pl.DataFrame | None = None
    churn_risk: pl.DataFrame | None = None
    clients: pl.DataFrame | None = None
    price_recommendations: pl.DataFrame | None = None
    metric_anomalies: pl.DataFrame | None = None
    revenue_forecast: pl.DataFrame | None = None
    content_generation: pl.DataFrame | None = None


@dataclass(frozen=True)
class InsightSettings:
    max_per_client: int = 10
    high_impact: float = 1000.0
    medium_impact: float = 100.0

    def __post_init__(self):
        if self.max_per_client < 1:
            raise ValueError(f"max_per_client must be >= 1, got {self.max_per_client}")
        if not 0 <= self.medium_impact <= self.high_impact:
            raise ValueError(f"impact thresholds must satisfy 0 <= medium_impact <= high_impact; got "
                             f"{self.medium_impact}, {self.high_impact}")


Builder = Callable[[InsightInputs, dict[str, float]], pl.DataFrame | None]


def _needs(*tables: str):
    """Run the builder only when every table it reads exists."""
    def wrap(fn):
        def builder(inputs: InsightInputs, minimums: dict[str, float]):
            frames = [getattr(inputs, t) for t in tables]
            return None if any(f is None for f in frames) else fn(*frames, minimums)
        return builder
    return wrap


BUILDERS: dict[str, Builder] = {
    "top_revenue_platform": _needs("platform_summary")(ue.top_revenue_platform),
    "engagement_rising": _needs("platform_trends")(lambda t, m: ue.engagement_trends(t, m, rising=True)),
    "engagement_falling": _needs("platform_trends")(lambda t, m: ue.engagement_trends(t, m, rising=False)),
    "automation_savings": _needs("automation_savings")(ue.automation_savings),
    "best_roi_channel": _needs("attribution_roi", "model_comparison")(be.best_roi_channel),
    "conversion_leader": _needs("channel_attribution", "model_comparison")(be.conversion_leader),
    "experiment_winner": _needs("experiment_results", "experiments")(be.experiment_winners),
    "churn_risk": _needs("churn_risk", "clients")(be.churn_risk),
    "price_change": _needs("price_recommendations")(be.price_changes),
    "metric_anomaly": _needs("metric_anomalies")(oe.metric_anomalies),
    "revenue_outlook": _needs("revenue_forecast")(oe.revenue_outlook),
    "generation_reliability": _needs("content_generation")(oe.generation_reliability),
}

SCHEMA = {
    "client_id": pl.String, "rank": pl.Int64, "insight_kind": pl.String, "metric_type": pl.String,
    "subject": pl.String, "sentence": pl.String, "recommendation": pl.String, "confidence": pl.Float64,
    "impact_level": pl.String, "money_impact": pl.Float64, "supporting_numbers": pl.String,
    "source": pl.String,
}


def render_kind(kind: InsightKind, evidence: pl.DataFrame) -> pl.DataFrame:
    """The kind's rows in the output's columns (unranked): texts from the templates, the
    supporting JSON from the same rounding. Rows without a confidence are dropped."""
    pairs = [[pl.lit(f'"{n}":'), literal(pl.col(n), f)] for n, f in kind.numbers.items()]
    joined = [part for i, pair in enumerate(pairs) for part in ([pl.lit(",")] if i else []) + pair]
    numbers = pl.concat_str([pl.lit("{"), *joined, pl.lit("}")])
    return evidence.filter(pl.col("confidence").is_not_null() & pl.col("confidence").is_finite()).select(
        pl.col("client_id").cast(pl.String), pl.lit(kind.name).alias("insight_kind"),
        pl.lit(kind.metric_type).alias("metric_type"), pl.col("subject").cast(pl.String),
        render(kind.sentence, kind.numbers).alias("sentence"),
        render(kind.recommendation, kind.numbers).alias("recommendation"),
        pl.col("confidence").cast(pl.Float64), pl.col("money_impact").cast(pl.Float64),
        numbers.alias("supporting_numbers"),
        pl.lit(kind.source).alias("source"))


def impact_level(money: pl.Expr, settings: InsightSettings) -> pl.Expr:
    return (pl.when(money >= settings.high_impact).then(pl.lit("high"))
            .when(money >= settings.medium_impact).then(pl.lit("medium")).otherwise(pl.lit("low")))


def rank_insights(df: pl.DataFrame, settings: InsightSettings) -> pl.DataFrame:
    """Impact level, rank within the client and the cap (see the module docstring)."""
    scored = df.with_columns(impact_level(pl.col("money_impact"), settings).alias("impact_level")).with_columns(
        pl.col("impact_level").replace_strict(IMPACT_ORDER, return_dtype=pl.Int64).alias("_level"),
        (pl.col("money_impact") * pl.col("confidence")).alias("_expected"))
    ordered = scored.sort(["client_id", "_level", "_expected", "confidence", "insight_kind", "subject"],
                          descending=[False, False, True, True, False, False], nulls_last=True)
    ranked = ordered.with_columns(pl.int_range(1, pl.len() + 1).over("client_id").cast(pl.Int64).alias("rank"))
    return ranked.filter(pl.col("rank") <= settings.max_per_client).select(list(SCHEMA))


def build_insights(inputs: InsightInputs, settings: InsightSettings = InsightSettings(),
                   kinds: dict[str, InsightKind] | None = None) -> pl.DataFrame:
    """Every kind's insights (``insight_kinds.yml``), ranked per client and capped."""
    kinds = kinds if kinds is not None else load_kinds()
    if set(kinds) != set(BUILDERS):
        raise ValueError(f"kinds: the table and the code disagree: only in the table "
                         f"{sorted(set(kinds) - set(BUILDERS))}, only in code {sorted(set(BUILDERS) - set(kinds))}")
    parts = []
    for name, kind in kinds.items():  # one frame per kind, not per row
        evidence = BUILDERS[name](inputs, kind.minimums)
        if evidence is not None:
            parts.append(render_kind(kind, evidence))
    empty = pl.DataFrame(schema={k: v for k, v in SCHEMA.items() if k not in ("rank", "impact_level")})
    return rank_insights(pl.concat([empty, *parts], how="diagonal_relaxed").select(list(empty.columns)), settings)
