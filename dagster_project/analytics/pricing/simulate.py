"""Sign-ups, new revenue and churn at candidate list prices, from the demand forecast, the
elasticity and the churn model's price effect.

For a tier with forecast sign-ups ``S0`` over the horizon at its list price ``p0`` (LightGBM,
:mod:`.demand`), mean discount ``d`` and combined elasticity ``e`` (interval ``[e_lo, e_hi]``),
a price ``p = r p0`` gives

    sign-ups    S(p) = S0 r^e
    new MRR     M(p) = S(p) p (1 - d / 100)        (the monthly revenue the horizon's sign-ups add)
    change      M(p) - M(p0) = S0 (1 - d / 100) p0 (r^(1 + e) - 1)

Both are monotone in ``e`` (increasing when ``r > 1``), so their intervals are the values at
``e_lo`` and ``e_hi``. Churn (:mod:`.churn_effect`): a new subscriber's 30-day risk ``r0``
becomes ``expit(logit(r0) + b log r)``; extra churners per 30 days among the horizon's sign-ups
``= S(p) (risk(p) - r0)``. List prices apply to new sign-ups: existing subscribers keep the
price they signed up at (renewals carry it).
"""

from __future__ import annotations

import polars as pl

from .status import OK

CANDIDATE_STEPS = (-0.2, -0.15, -0.1, -0.05, 0.0, 0.05, 0.1, 0.15, 0.2)


def _expit(x: pl.Expr) -> pl.Expr:
    return 1 / (1 + (-x).exp())


def _risk_at(slope: str) -> pl.Expr:
    base = pl.col("churn_baseline_risk")
    return _expit((base / (1 - base)).log() + pl.col(slope) * pl.col("ratio").log()) - base


def outcomes(base: pl.DataFrame) -> pl.DataFrame:
    """``base`` rows (tier, ratio, current_price, expected_signups_current, avg_discount_pct,
    elasticity, elasticity_ci_lower, elasticity_ci_upper, churn_baseline_risk, churn_slope,
    churn_slope_lower, churn_slope_upper) with the outcomes of the module docstring."""
    net = pl.col("expected_signups_current") * (1 - pl.col("avg_discount_pct").fill_null(0) / 100)
    change = lambda e: net * pl.col("current_price") * (pl.col("ratio") ** (1 + pl.col(e)) - 1)
    signups = lambda e: pl.col("expected_signups_current") * pl.col("ratio") ** pl.col(e)
    df = base.with_columns(
        price=pl.col("current_price") * pl.col("ratio"),
        expected_signups=signups("elasticity"),
        signups_ci_lower=pl.min_horizontal(signups("elasticity_ci_lower"),
                                           signups("elasticity_ci_upper")),
        signups_ci_upper=pl.max_horizontal(signups("elasticity_ci_lower"),
                                           signups("elasticity_ci_upper")),
        expected_revenue_change=change("elasticity"),
        revenue_change_ci_lower=pl.min_horizontal(change("elasticity_ci_lower"),
                                                  change("elasticity_ci_upper")),
        revenue_change_ci_upper=pl.max_horizontal(change("elasticity_ci_lower"),
                                                  change("elasticity_ci_upper")),
        churn_risk_change=_risk_at("churn_slope"),
        churn_change_ci_lower=pl.min_horizontal(_risk_at("churn_slope_lower"),
                                                _risk_at("churn_slope_upper")),
        churn_change_ci_upper=pl.max_horizontal(_risk_at("churn_slope_lower"),
                                                _risk_at("churn_slope_upper")))
    return df.with_columns(
        expected_new_mrr=pl.col("expected_signups") * pl.col("price")
        * (1 - pl.col("avg_discount_pct").fill_null(0) / 100),
        expected_extra_churners_30d=pl.col("expected_signups") * pl.col("churn_risk_change"))


def tier_base(forecast: pl.DataFrame, elasticity: pl.DataFrame, churn: pl.DataFrame
              ) -> pl.DataFrame:
    """Per tier: current price, horizon sign-ups, discount, combined elasticity and churn
    effect, with a status (no_elasticity when the combined elasticity is not ok)."""
    horizon = forecast.group_by("tier").agg(
        current_price=pl.col("list_price").first(),
        expected_signups_current=pl.col("expected_signups").sum(),
        avg_discount_pct=pl.col("avg_discount_pct").first(),
        horizon_weeks=pl.len().cast(pl.Int64))
    combined = elasticity.filter(pl.col("method") == "combined").select(
        "tier", elasticity="estimate", elasticity_std_error="std_error",
        elasticity_ci_lower="ci_lower", elasticity_ci_upper="ci_upper",
        classification="classification", elasticity_status="status",
        elasticity_message="status_message")
    return (combined.join(horizon, on="tier", how="left").join(churn, on="tier", how="left")
            .with_columns(status=pl.when(pl.col("current_price").is_null())
                          .then(pl.lit("no_list_price"))
                          .when(pl.col("elasticity_status") != OK).then(pl.lit("no_elasticity"))
                          .otherwise(pl.lit(OK)))
            .sort("tier"))


SIMULATION_COLUMNS = ["tier", "price_change", "price", "current_price", "horizon_weeks",
                      "expected_signups", "signups_ci_lower", "signups_ci_upper",
                      "expected_new_mrr", "expected_revenue_change", "revenue_change_ci_lower",
                      "revenue_change_ci_upper", "churn_risk_change", "churn_change_ci_lower",
                      "churn_change_ci_upper", "expected_extra_churners_30d"]


def simulate_prices(base: pl.DataFrame, steps: tuple[float, ...] = CANDIDATE_STEPS
                    ) -> pl.DataFrame:
    """Tier x candidate price ``p0 (1 + step)``: the outcomes, null unless the tier is ok."""
    grid = base.join(pl.DataFrame({"price_change": list(steps)}), how="cross").with_columns(
        ratio=1 + pl.col("price_change"))
    out = outcomes(grid)
    numbers = [c for c in SIMULATION_COLUMNS if c not in ("tier", "price_change", "horizon_weeks")]
    return out.select(
        *[pl.when(pl.col("status") == OK).then(pl.col(c)).alias(c) if c in numbers else c
          for c in SIMULATION_COLUMNS],
        "status",
        status_message=pl.when(pl.col("status") == OK).then(pl.lit("computed"))
        .when(pl.col("status") == "no_elasticity").then(
            pl.lit("no elasticity: ") + pl.col("elasticity_message"))
        .otherwise(pl.lit("the tier has no list price in force"))).sort("tier", "price_change")
