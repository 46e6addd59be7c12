"""Conservation: per client and model, credits sum to its conversions and revenue."""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from .settings import MODELS

TOLERANCE = 1e-9  # relative error allowed between a client's credits and its totals


def conservation_errors(attribution: pl.DataFrame, paths: pl.DataFrame,
                        models: tuple[str, ...] = MODELS) -> pl.DataFrame:
    """One row per client x model that should have credits (every client with journeys x
    ``models``) or has them: the summed credits, the client's conversions and revenue (from the
    journeys), the relative errors and a status:

    - ``ok``: credits and journeys both there (the errors say whether they agree);
    - ``missing_credits``: the client has journeys but no credit row under this model;
    - ``no_journeys``: credits for a client without journeys (its totals count as 0);
    - ``unknown_model``: credits under a model outside ``models``.

    ``paths``: client_id, converted, revenue, one row per journey or with a ``journeys`` count
    per row (``revenue`` the row's total, as in ``group_journeys``).

    Missing amounts count as 0, so no error is null: relative error = |credits - total| /
    max(total, 1e-12)."""
    weight = pl.col("journeys") if "journeys" in paths.columns else pl.lit(1)
    totals = paths.group_by("client_id").agg(
        (pl.col("converted").cast(pl.Float64) * weight).sum().alias("conversions"),
        pl.col("revenue").cast(pl.Float64).fill_null(0.0).sum().alias("revenue"))
    sums = attribution.group_by("client_id", "attribution_model").agg(
        pl.col("attributed_conversions").sum(), pl.col("attributed_revenue").sum(),
        pl.len().alias("credit_rows"))
    expected = totals.select("client_id").join(
        pl.DataFrame({"attribution_model": list(models)}), how="cross")
    amounts = ("attributed_conversions", "attributed_revenue", "conversions", "revenue")
    return (
        expected.join(sums, on=["client_id", "attribution_model"], how="full", coalesce=True)
        .join(totals, on="client_id", how="left")
        .with_columns(
            pl.when(~pl.col("attribution_model").is_in(list(models))).then(pl.lit("unknown_model"))
            .when(pl.col("conversions").is_null()).then(pl.lit("no_journeys"))
            .when(pl.col("credit_rows").is_null()).then(pl.lit("missing_credits"))
            .otherwise(pl.lit("ok")).alias("status"),
            *[pl.col(c).fill_null(0.0) for c in amounts])
        .with_columns(
            ((pl.col("attributed_conversions") - pl.col("conversions")).abs()
             / pl.max_horizontal(pl.col("conversions"), pl.lit(1e-12))).alias("conversions_rel_error"),
            ((pl.col("attributed_revenue") - pl.col("revenue")).abs()
             / pl.max_horizontal(pl.col("revenue"), pl.lit(1e-12))).alias("revenue_rel_error"))
        .drop("credit_rows")
        .sort("client_id", "attribution_model")
    )


@dataclass(frozen=True)
class ConservationCheck:
    passed: bool
    max_conversions_rel_error: float
    max_revenue_rel_error: float
    pairs: int  # client x model rows checked
    failing: pl.DataFrame  # the rows of conservation_errors that fail (status or error)

    @property
    def missing_pairs(self) -> list[str]:
        """'client/model' of every client x model pair without credits."""
        rows = self.failing.filter(pl.col("status") == "missing_credits")
        return [f"{c}/{m}" for c, m in rows.select("client_id", "attribution_model").iter_rows()]


def check_conservation(attribution: pl.DataFrame, paths: pl.DataFrame,
                       tolerance: float = TOLERANCE, models: tuple[str, ...] = MODELS
                       ) -> ConservationCheck:
    """Passed when every client with journeys has credits under every model, no credits exist
    without journeys or under an unknown model, and every relative error is <= ``tolerance``
    (a NaN error fails)."""
    errors = conservation_errors(attribution, paths, models)
    failing = errors.filter((pl.col("status") != "ok") | ~(pl.col("conversions_rel_error") <= tolerance)
                            | ~(pl.col("revenue_rel_error") <= tolerance))
    worst = [float(errors[c].max() or 0.0) for c in ("conversions_rel_error", "revenue_rel_error")]
    return ConservationCheck(failing.height == 0, worst[0], worst[1], errors.height, failing)
