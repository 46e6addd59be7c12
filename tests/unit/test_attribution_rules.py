"""The attribution rules, a test per branch: the recommended model (each threshold on both
sides, and journeys built so that the Markov or the Shapley estimate must predict held-out
journeys better), the disagreement column, the conservation check behind the blocking asset
check, the journey input rules and the Markov revenue options (hand computations)."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from dagster_project.analytics.attribution import (
    MODELS,
    AttributionSettings,
    attribute,
    check_conservation,
    conservation_errors,
)
from dagster_project.analytics.attribution.journeys import group_journeys
from dagster_project.devtools.attribution_fixtures import journeys, rule_credits_for

NO_BOOTSTRAP = AttributionSettings(bootstrap_resamples=0)


def entropy(p: float) -> float:
    """Expected log-loss of predicting p for journeys that convert with probability p."""
    return -(p * np.log(p) + (1 - p) * np.log(1 - p))


def comparison(rows) -> pl.DataFrame:
    df = journeys(rows)
    cmp = attribute(df, rule_credits_for(df), NO_BOOTSTRAP).model_comparison
    return cmp.unique("client_id").sort("client_id")


def client(cmp: pl.DataFrame, name: str) -> dict:
    return cmp.filter(pl.col("client_id") == name).row(0, named=True)


# Conversion depends on the ORDER of the channels: 'a > b' converts 60%, 'b > a' 10%. Markov
# (order 1) predicts by the last channel (0.6 and 0.1); the set {a, b} is the same, so Shapley's
# v predicts the mixture 0.35 for both. Expected held-out log-loss: Markov
# (H(0.6) + H(0.1)) / 2 = 0.499, Shapley H(0.35) = 0.647.
ORDER = [("order", "a > b", 180, 120), ("order", "b > a", 30, 270)]
# Conversion depends on the SET while the last channel is the same: 'a > c' 60%, 'b > c' 10%.
# Markov sees the last state c for both (0.35); Shapley's v tells {a, c} from {b, c}.
SET = [("set", "a > c", 180, 120), ("set", "b > c", 30, 270)]


def test_markov_is_recommended_when_conversion_depends_on_the_order_of_channels():
    row = client(comparison(ORDER + SET), "order")
    assert row["recommended_model"] == "markov"
    assert row["logloss_markov"] == pytest.approx((entropy(0.6) + entropy(0.1)) / 2, abs=0.1)
    assert row["logloss_shapley"] == pytest.approx(entropy(0.35), abs=0.1)
    assert row["recommendation_reason"] == (
        f"markov: held-out log-loss {round(row['logloss_markov'], 4)} vs shapley "
        f"{round(row['logloss_shapley'], 4)} on {int(row['heldout_journeys'])} held-out journeys")


def test_shapley_is_recommended_when_conversion_depends_on_the_set_not_the_last_channel():
    row = client(comparison(ORDER + SET), "set")
    assert row["recommended_model"] == "shapley"
    assert row["logloss_shapley"] == pytest.approx((entropy(0.6) + entropy(0.1)) / 2, abs=0.1)
    assert row["logloss_markov"] == pytest.approx(entropy(0.35), abs=0.1)
    assert row["recommendation_reason"].startswith(
        f"shapley: held-out log-loss {round(row['logloss_shapley'], 4)} vs markov "
        f"{round(row['logloss_markov'], 4)} on ")


def order_client(name: str, converting: int, total: int) -> list:
    """A client whose order matters ('b > a' never converts): Markov wins whenever it is compared."""
    nulls = total - converting - 100
    return [(name, "a > b", converting, nulls), (name, "b > a", 0, 100)]


def test_the_journey_threshold_is_inclusive_and_the_fallback_says_why():
    cmp = comparison(order_client("at", 40, 200) + order_client("below", 40, 199))
    at, below = client(cmp, "at"), client(cmp, "below")
    assert (at["journeys"], below["journeys"]) == (200, 199)
    assert at["recommended_model"] == "markov"
    assert below["recommended_model"] == "position_based"
    assert below["recommendation_reason"] == (
        "position_based: 199 journeys, fewer than min_journeys 200 for a data-driven model")


def test_the_conversion_threshold_is_inclusive_and_the_fallback_says_why():
    cmp = comparison(order_client("at", 30, 400) + order_client("below", 29, 400))
    at, below = client(cmp, "at"), client(cmp, "below")
    assert (at["conversions"], below["conversions"]) == (30, 29)
    assert at["recommended_model"] == "markov"
    assert below["recommended_model"] == "position_based"
    assert below["recommendation_reason"] == (
        "position_based: 29 conversions, fewer than min_conversions 30 for a data-driven model")


def test_a_client_without_held_out_touched_journeys_falls_back_even_above_the_thresholds():
    """300 orders without a touch: enough journeys and conversions, but nothing to compare the
    data-driven models on (their log-losses are null, not a number)."""
    row = client(comparison([("direct", None, 300, 0)] + ORDER), "direct")
    assert (row["journeys"], row["conversions"], row["heldout_journeys"]) == (300, 300, 0)
    assert row["recommended_model"] == "position_based"
    assert row["recommendation_reason"] == (
        "position_based: no held-out journey with a touch to compare the data-driven models on")
    assert row["logloss_markov"] is None and row["logloss_shapley"] is None


def test_the_thresholds_follow_the_settings():
    df = journeys(order_client("c", 40, 200))
    cmp = attribute(df, rule_credits_for(df), AttributionSettings(bootstrap_resamples=0,
                                                                  min_journeys=201)).model_comparison
    assert cmp["recommendation_reason"][0] == (
        "position_based: 200 journeys, fewer than min_journeys 201 for a data-driven model")


def test_disagreement_is_the_range_of_the_models_shares_of_each_channel():
    """Shares recomputed here from the credited conversions (credit / the client's credits
    under that model), then max - min over the seven models."""
    df = journeys([("c1", "direct", 2, 1), ("c1", "search > email", 3, 2),
                   ("c1", "search > social > email", 5, 4), ("c2", "a > b", 3, 5), ("c2", None, 2, 0),
                   ("c2", "b", 1, 4)])
    out = attribute(df, rule_credits_for(df), NO_BOOTSTRAP)
    credits: dict[tuple, float] = {}
    totals: dict[tuple, float] = {}
    for c, ch, m, v in out.channel_attribution.select(
            "client_id", "channel", "attribution_model", "attributed_conversions").iter_rows():
        credits[c, ch, m] = v
        totals[c, m] = totals.get((c, m), 0.0) + v
    rows = out.model_comparison.select("client_id", "channel", "disagreement").iter_rows()
    checked = 0
    for c, ch, got in rows:
        shares = [credits[c, ch, m] / totals[c, m] for m in MODELS]
        assert got == pytest.approx(max(shares) - min(shares), abs=1e-12)
        checked += 1
    assert checked == 7  # c1: direct, email, search, social; c2: a, b, (none)
    assert out.model_comparison["disagreement"].max() > 0.05  # the models do disagree here


# ---- the conservation check behind the blocking asset check


def conserved() -> tuple[pl.DataFrame, pl.DataFrame]:
    df = journeys([("c1", "a > b", 3, 2), ("c2", "b", 2, 3), ("c2", None, 1, 0)])
    return attribute(df, rule_credits_for(df), NO_BOOTSTRAP).channel_attribution, df


def test_the_conservation_check_passes_when_every_client_and_model_sums_to_its_totals():
    attribution, paths = conserved()
    check = check_conservation(attribution, paths)
    assert check.passed and check.pairs == 2 * len(MODELS) and check.failing.height == 0


def test_the_conservation_check_counts_grouped_journeys_by_their_journeys_column():
    """The asset check reads the journeys grouped per client x converted with a count (c1: 3
    orders in one row); the totals are those of one row per journey."""
    attribution, paths = conserved()
    grouped = paths.group_by("client_id", "converted").agg(pl.len().alias("journeys"),
                                                           pl.col("revenue").sum())
    assert grouped.height == 4
    got = conservation_errors(attribution, grouped)
    assert got.equals(conservation_errors(attribution, paths))
    assert got.filter(pl.col("client_id") == "c1")["conversions"].unique().to_list() == [3.0]


def test_the_conservation_check_fails_on_credits_for_a_client_without_journeys():
    """A ghost client with 5 conversions credited under every model: the old full join gave it a
    null error, which max() skipped (max error 0.0, passed)."""
    attribution, paths = conserved()
    ghost = attribution.filter(pl.col("client_id") == "c1").with_columns(
        client_id=pl.lit("ghost"), attributed_conversions=pl.lit(5.0) / 2)
    check = check_conservation(pl.concat([attribution, ghost]), paths)
    assert not check.passed
    assert set(check.failing["client_id"]) == {"ghost"}
    assert set(check.failing["status"]) == {"no_journeys"}
    assert check.failing["conversions_rel_error"].null_count() == 0
    assert check.max_conversions_rel_error > 1


def test_the_conservation_check_fails_and_names_a_missing_client_model_pair():
    attribution, paths = conserved()
    check = check_conservation(attribution.filter(
        ~((pl.col("client_id") == "c2") & (pl.col("attribution_model") == "shapley"))), paths)
    assert not check.passed
    assert check.missing_pairs == ["c2/shapley"]


def test_the_conservation_check_fails_on_a_nan_credit_and_on_an_unknown_model():
    attribution, paths = conserved()
    nan = attribution.with_columns(attributed_revenue=pl.when(
        (pl.col("client_id") == "c1") & (pl.col("attribution_model") == "markov"))
        .then(float("nan")).otherwise(pl.col("attributed_revenue")))
    assert check_conservation(nan, paths).failing.select("client_id", "attribution_model").rows() \
        == [("c1", "markov")]
    stray = pl.concat([attribution, attribution.filter(pl.col("attribution_model") == "linear")
                       .with_columns(attribution_model=pl.lit("u_shaped"))])
    assert set(check_conservation(stray, paths).failing["status"]) == {"unknown_model"}


# ---- journey inputs


def test_channel_names_are_trimmed_so_spacing_does_not_make_new_channels():
    spaced = journeys([("c", " a >b ", 3, 1), ("c", "a  >  c", 1, 1)])
    plain = journeys([("c", "a > b", 3, 1), ("c", "a > c", 1, 1)])
    got = attribute(spaced, rule_credits_for(spaced), NO_BOOTSTRAP)
    want = attribute(plain, rule_credits_for(plain), NO_BOOTSTRAP)
    assert got.channels == ("a", "b", "c")
    cols = ["channel", "attribution_model", "attributed_conversions", "attributed_revenue"]
    assert got.channel_attribution.select(cols).equals(want.channel_attribution.select(cols))


@pytest.mark.parametrize("path", ["a > > b", "a >", "", "  "])
def test_an_empty_channel_name_is_an_error_naming_the_client_and_path(path):
    df = journeys([("c7", "a > b", 1, 0), ("c9", path, 1, 0)])
    with pytest.raises(ValueError, match=f"client 'c9' path '{path}'"):
        group_journeys(df)


def test_a_journeys_weight_multiplies_journeys_and_conversions_but_revenue_is_the_rows_total():
    df = pl.DataFrame({"client_id": ["c", "c"], "channel_path": ["a", "a"],
                       "converted": [True, False], "revenue": [30.0, 0.0], "journeys": [3, 2]})
    j = group_journeys(df)
    assert (j.journeys[0], j.conversions[0], j.revenue[0]) == (5.0, 3.0, 30.0)
    assert j.mean_order_value[0] == 10.0


# ---- the Markov model's revenue options


def test_markov_credits_revenue_by_conversion_share_or_by_the_value_removal_effect():
    """'a > b' converts 3 of 4 journeys at 10 per order, 'a > c' 1 of 2 at 50. By hand (order 1):
    P = 4/6 * 3/4 + 2/6 * 1/2 = 2/3, removal effects a 1, b 1 - (1/6)/(2/3) = 0.75,
    c 1 - (1/2)/(2/3) = 0.25 -> conversion shares 0.5, 0.375, 0.125; expected value
    V = 4/6 * 30/4 + 2/6 * 50/2 = 40/3, V without b = 25/3, without c = 5 -> value removal effects
    1, 0.375, 0.625 -> value shares 0.5, 0.1875, 0.3125 of the 80 of revenue."""
    df = pl.concat([journeys([("c", "a > b", 3, 1)], order_value=10.0),
                    journeys([("c", "a > c", 1, 1)], order_value=50.0)])
    rules = rule_credits_for(df)
    revenue = {}
    for option in ("conversion_share", "value_removal_effect"):
        out = attribute(df, rules, AttributionSettings(bootstrap_resamples=0,
                                                       markov_revenue_credit=option))
        mk = out.channel_attribution.filter(pl.col("attribution_model") == "markov").sort("channel")
        assert mk["attributed_conversions"].to_list() == pytest.approx([2.0, 1.5, 0.5])
        revenue[option] = mk["attributed_revenue"].to_list()
    assert revenue["conversion_share"] == pytest.approx([40.0, 30.0, 10.0])
    assert revenue["value_removal_effect"] == pytest.approx([40.0, 15.0, 25.0])
    with pytest.raises(ValueError, match="markov_revenue_credit must be one of"):
        AttributionSettings(markov_revenue_credit="value")
