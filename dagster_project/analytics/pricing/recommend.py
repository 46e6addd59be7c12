"""Price recommendations per tier: a suggested list price inside the guardrails, what it is
expected to earn and cost, how sure it is and what it risks.

Rules (``guardrails.yml``; first that applies):

1. no combined elasticity (status not ok), or no list price: ``hold``, no numbers;
2. a list price below its floor: ``increase`` to the floor, at most ``max_change_per_step``;
3. ``inelastic`` (the elasticity's interval lies above -1, so a higher price raises revenue):
   ``increase`` to the lowest of ``p0 (1 + max_change_per_step)`` and the recommended
   position's upper index times the competitors' median price; a change below ``min_change``
   is a ``hold`` (the tier is at its position's ceiling);
   an interval above 0 (sign-ups rose with the price) is no evidence of pricing power but of
   something the controls missed: ``hold``;
4. ``elastic`` (interval below -1): ``value_optimization``: keep the list price and win the
   price-sensitive demand with packaging and an annual-plan discount, not with a blind cut;
5. ``undetermined``: ``hold`` until the data tell.

A suggested increase is rounded down to the cent (never past a cap). Outcomes at the suggested price come from :mod:`.simulate` (revenue change with the
elasticity's interval, extra churn with the churn model's). Confidence, in [0, 1]: the
probability, under the normal approximation ``e ~ N(estimate, std_error^2)`` of the combined
elasticity, that the suggestion's premise holds: for an increase, demand is inelastic (``e >
-1``); for value optimization, demand is elastic (``e < -1``); for a hold, the more likely of
the two (below the level that would have classified it), or for the hold of an interval above
0, the probability that demand slopes downward (``e < 0``). Risk level: low for a hold or value
optimization (no list price changes); for an increase, the ``risk`` rules of the guardrails.
The reasoning text is built from the row's own columns, so every number in it is in the row.
"""

from __future__ import annotations

import datetime as dt
import hashlib

import polars as pl
from scipy.special import ndtr

from .guardrails import Guardrails
from .simulate import outcomes
from .status import OK

ACTIONS = ("increase", "hold", "value_optimization")
VALUE_SUGGESTION = ("keep the list price; capture price-sensitive demand with packaging (a "
                    "lighter entry plan or paid add-ons) and a larger annual-plan discount "
                    "rather than a cut")


def _num(col: str, digits: int, scale: float = 1.0) -> pl.Expr:
    value = (pl.col(col) * scale).round(digits)
    return (value.cast(pl.Int64) if digits == 0 else value).cast(pl.String)


def recommendation_id(tier: str, action: str, current_price: float | None,
                      suggested_price: float | None) -> str:
    """The recommendation's identity: the same change from the same price is the same
    recommendation, whenever it is computed (proposals are keyed on it)."""
    key = f"{tier}|{action}|{current_price if current_price is None else round(current_price, 2)}|" \
          f"{suggested_price if suggested_price is None else round(suggested_price, 2)}"
    return "rec-" + hashlib.sha1(key.encode()).hexdigest()[:16]


def recommend(base: pl.DataFrame, position: pl.DataFrame, guardrails: Guardrails,
              as_of: dt.date) -> pl.DataFrame:
    """One recommendation per tier of ``base`` (:func:`.simulate.tier_base`) with its
    ``position`` row (:func:`.position.competitive_position`)."""
    g = guardrails
    df = base.join(position.select(
        "tier", "competitor_median_price", "competitor_plans", "price_index",
        "recommended_position", "target_index_high", position_status="status"),
        on="tier", how="left").with_columns(
        price_floor=pl.col("tier").replace_strict(g.price_floors, default=None,
                                            return_dtype=pl.Float64))
    p0 = pl.col("current_price")
    step_cap = p0 * (1 + g.max_change_per_step)
    index_cap = pl.col("target_index_high") * pl.col("competitor_median_price")
    below_floor = pl.col("price_floor").is_not_null() & (p0 < pl.col("price_floor"))
    ok = pl.col("status") == OK
    inelastic_target = pl.min_horizontal(step_cap, index_cap)
    df = df.with_columns(
        target=pl.when(~ok).then(None)
        .when(below_floor).then(pl.min_horizontal(pl.col("price_floor"), step_cap))
        .when(pl.col("classification") == "inelastic").then(inelastic_target)
        .otherwise(p0),
        capped_by=pl.when(below_floor).then(pl.lit("the floor"))
        .when(index_cap.is_not_null() & (index_cap < step_cap)).then(
            pl.lit("the ") + pl.col("recommended_position") + pl.lit(" position's upper index"))
        .otherwise(pl.lit("the maximum step")))
    upward = pl.col("elasticity_ci_lower") > 0
    raise_ = ok & (below_floor | ((pl.col("classification") == "inelastic") & ~upward)) & (
        pl.col("target") >= p0 * (1 + g.min_change))
    df = df.with_columns(
        action=pl.when(raise_).then(pl.lit("increase"))
        .when(ok & (pl.col("classification") == "elastic")).then(pl.lit("value_optimization"))
        .otherwise(pl.lit("hold")))
    # down to the cent, so that rounding never carries a price past its cap (29.99 + 10% is
    # 32.98, not 32.99); the 1e-6 keeps a target of whole cents from floating just below them
    cents = ((pl.col("target") * 100 + 1e-6).floor() / 100).round(2)
    df = df.with_columns(suggested_price=pl.when(pl.col("action") == "increase")
                         .then(cents).when(ok).then(p0))
    df = outcomes(df.with_columns(ratio=pl.col("suggested_price") / p0))
    z_up = df.select((pl.col("elasticity") + 1) / pl.col("elasticity_std_error")).to_series()
    z_zero = df.select(pl.col("elasticity") / pl.col("elasticity_std_error")).to_series()
    df = df.with_columns(p_inelastic=pl.Series(ndtr(z_up.to_numpy())).fill_nan(None),
                         p_elastic=pl.Series(ndtr(-z_up.to_numpy())).fill_nan(None),
                         p_downward=pl.Series(ndtr(-z_zero.to_numpy())).fill_nan(None),
                         upward=upward)
    p_inelastic, p_elastic = pl.col("p_inelastic"), pl.col("p_elastic")
    upward = pl.col("upward").fill_null(False) & (pl.col("action") == "hold")
    churn_points = pl.col("churn_risk_change") * 100
    df = df.with_columns(price_change_pct=pl.col("suggested_price") / p0 - 1)
    df = df.with_columns(
        confidence=pl.when(~ok).then(None)
        .when(pl.col("action") == "increase").then(p_inelastic)
        .when(pl.col("action") == "value_optimization").then(p_elastic)
        .when(upward).then(pl.col("p_downward"))
        .otherwise(pl.max_horizontal(p_inelastic, p_elastic)),
        confidence_meaning=pl.when(~ok).then(None)
        .when(pl.col("action") == "increase").then(pl.lit(
            "probability that demand is inelastic (elasticity > -1), so the increase raises revenue"))
        .when(pl.col("action") == "value_optimization").then(pl.lit(
            "probability that demand is elastic (elasticity < -1), so a higher price would lose revenue"))
        .when(upward).then(pl.lit(
            "probability that demand slopes downward (elasticity < 0): sign-ups rose with the price"))
        .otherwise(pl.lit("probability of the more likely side of -1; too low to act on")),
        risk_level=pl.when(pl.col("action") != "increase").then(pl.lit("low"))
        .when(churn_points.is_null() | (churn_points >= g.high_churn_points)
              | (pl.col("revenue_change_ci_lower") < 0)).then(pl.lit("high"))
        .when((churn_points >= g.medium_churn_points)
              | (pl.col("price_change_pct") > g.medium_price_change)).then(pl.lit("medium"))
        .otherwise(pl.lit("low")),
        suggestion=pl.when(pl.col("action") == "value_optimization").then(pl.lit(VALUE_SUGGESTION)),
        as_of_date=pl.lit(as_of, pl.Date))
    df = df.with_columns(reasoning=_reasoning(), status_message=_status_message())
    ids = [recommendation_id(*r) for r in df.select(
        "tier", "action", "current_price", "suggested_price").iter_rows()]
    return df.with_columns(recommendation_id=pl.Series(ids, dtype=pl.String)).select(
        RECOMMENDATION_COLUMNS).sort("tier")


RECOMMENDATION_COLUMNS = [
    "recommendation_id", "tier", "as_of_date", "action", "current_price", "suggested_price",
    "price_change_pct", "capped_by", "price_floor", "elasticity", "elasticity_ci_lower", "elasticity_ci_upper",
    "classification", "recommended_position", "price_index", "competitor_median_price",
    "competitor_plans", "target_index_high", "horizon_weeks", "expected_signups_current", "expected_signups",
    "expected_revenue_change", "revenue_change_ci_lower", "revenue_change_ci_upper",
    "churn_baseline_risk", "churn_risk_change", "churn_change_ci_lower", "churn_change_ci_upper",
    "expected_extra_churners_30d", "confidence", "confidence_meaning", "risk_level",
    "suggestion", "reasoning", "status", "status_message"]


def _reasoning() -> pl.Expr:
    elasticity = pl.concat_str([
        pl.lit("elasticity "), _num("elasticity", 2), pl.lit(" (95% CI "),
        _num("elasticity_ci_lower", 2), pl.lit(" to "), _num("elasticity_ci_upper", 2),
        pl.lit(") is "), pl.col("classification")])
    market = pl.when(pl.col("price_index").is_not_null()).then(pl.concat_str([
        pl.lit("; price index "), _num("price_index", 2), pl.lit(" against "),
        pl.col("competitor_plans").cast(pl.String), pl.lit(" competitor plans, recommended "
                                                            "position "),
        pl.col("recommended_position")])).otherwise(pl.lit("; no competitor plan to compare"))
    churn = pl.when(pl.col("churn_risk_change").is_not_null()).then(pl.concat_str([
        pl.lit("; the churn model puts a new subscriber's 30-day churn risk "),
        _num("churn_risk_change", 2, 100), pl.lit(" points higher (95% CI "),
        _num("churn_change_ci_lower", 2, 100), pl.lit(" to "),
        _num("churn_change_ci_upper", 2, 100), pl.lit("), "),
        _num("expected_extra_churners_30d", 1), pl.lit(" extra churned clients a month")])
    ).otherwise(pl.lit("; the churn effect is unknown (no churn-model scores)"))
    increase = pl.concat_str([
        pl.lit("Raise the list price from "), _num("current_price", 2), pl.lit(" to "),
        _num("suggested_price", 2), pl.lit(" ("), _num("price_change_pct", 1, 100),
        pl.lit("%, capped by "), pl.col("capped_by"), pl.lit("): "), elasticity,
        pl.lit("; over "), pl.col("horizon_weeks").cast(pl.String),
        pl.lit(" weeks of sign-ups new MRR changes by "), _num("expected_revenue_change", 0),
        pl.lit(" (95% CI "), _num("revenue_change_ci_lower", 0), pl.lit(" to "),
        _num("revenue_change_ci_upper", 0), pl.lit(")"), churn, market,
        pl.lit(". Confidence "), _num("confidence", 2), pl.lit(", risk "), pl.col("risk_level"),
        pl.lit(".")])
    keep = pl.concat_str([
        pl.when(pl.col("action") == "value_optimization")
        .then(pl.lit("Keep the list price at ") + _num("current_price", 2)
              + pl.lit(" and optimise value (packaging, annual discount): "))
        .when(pl.col("elasticity_ci_lower") > 0).then(
            pl.lit("Hold the list price at ") + _num("current_price", 2)
            + pl.lit(" (sign-ups rose with the price: the controls missed something): "))
        .otherwise(pl.lit("Hold the list price at ") + _num("current_price", 2) + pl.lit(": ")),
        elasticity, market, pl.lit(". Confidence "), _num("confidence", 2), pl.lit(".")])
    return (pl.when(pl.col("status") != OK).then(pl.lit("No suggestion: ") + _status_message())
            .when(pl.col("action") == "increase").then(increase).otherwise(keep))


def _status_message() -> pl.Expr:
    return (pl.when(pl.col("status") == "no_elasticity").then(
        pl.lit("no combined elasticity (") + pl.col("elasticity_message") + pl.lit(")"))
        .when(pl.col("status") == "no_list_price").then(pl.lit("the tier has no list price"))
        .otherwise(pl.lit("computed")))
