"""Planted-truth recovery of the usage analytics on `small` (seed 7).

The simulation's raw tables go into a private DuckDB; dbt builds only the content, platform
usage and attribution marts (data tests excluded); the attribution models run as the
``channel_attribution`` asset runs them (its SQL, 50 bootstrap resamples instead of 200); the
usage functions then run on what the usage assets read (their own reading helpers).

Truth (data/truth/usage.json, simulator/world.py ``_content``): a post's lifetime impressions
are base x platform effect x content-type effect x (1 + 0.5 if published in one of its
platform's peak hours, UTC) x (1 + 0.35 if viral-optimized) x client effect x lognormal;
engagements are binomial draws from reach, itself from impressions, so engagements per post
carry the same multiplicative effects. Viral optimization is drawn at random (probability
0.5) among the posts of clients who adopted the viral optimizer: within a client it is
independent of everything else, so the client fixed-effects estimate on log impressions
targets log(1.35). For each client, the true top-revenue platform is the platform with the
largest exact Shapley credit of the client's expected conversions under the planted noisy-OR
(attribution.json ``channel_conversion_params``) over the client's journeys (order values do
not depend on channels, so revenue ranks as expected conversions do).

Measured (seed 7): see the module constants and README (Usage).
"""

from __future__ import annotations

import json

import numpy as np
import polars as pl
import pytest

pytestmark = pytest.mark.integration

TABLES = ("clients", "subscription_events", "plan_prices", "content", "content_engagement",
          "touchpoints", "conversions")


@pytest.fixture(scope="module")
def small(tmp_path_factory, small_simulation, dbt_helpers):
    from dagster_project.devtools.attribution_tables import write_attribution_tables
    from dagster_project.warehouse import Warehouse

    tmp = tmp_path_factory.mktemp("usage_small")
    db = dbt_helpers.build_marts_from_landing(
        small_simulation / "landing", tmp, TABLES,
        ["+fct_content_performance", "+fct_platform_usage_daily", "+fct_attribution_paths",
         "+fct_attribution_touch_credits"])
    wh = Warehouse(duckdb_path=str(db))
    write_attribution_tables(wh, bootstrap_resamples=50)
    return {"wh": wh, "truth": json.loads((small_simulation / "truth" / "usage.json").read_text()),
            "attribution_truth": json.loads((small_simulation / "truth" / "attribution.json").read_text()),
            "all_paths": wh.read("select client_id, channel_path from marts.fct_attribution_paths")}


def test_planted_viral_optimization_lift_lies_inside_its_interval(small):
    from dagster_project.analytics import usage as us
    from dagster_project.defs.usage.assets import complete_posts

    effects = us.content_flag_effects(complete_posts(small["wh"], 14))
    row = effects.filter((pl.col("feature") == "viral_optimized")
                         & (pl.col("outcome") == "impressions_per_post")).row(0, named=True)
    planted = small["truth"]["viral_optimization_lift"]  # 0.35
    assert row["status"] == "ok"
    assert row["lift_low"] <= planted <= row["lift_high"], row
    assert row["lift_high"] - row["lift_low"] < 0.1  # informative, not just wide
    automated = effects.filter((pl.col("feature") == "automated")
                               & (pl.col("outcome") == "impressions_per_post")).row(0, named=True)
    assert automated["lift_low"] <= 0 <= automated["lift_high"]  # no effect planted


def test_the_planted_peak_hours_are_found(small):
    from dagster_project.analytics import usage as us
    from dagster_project.defs.usage.assets import posting_inputs

    posts, weeks = posting_inputs(small["wh"], 14)
    result = us.posting_recommendations(posts, weeks)
    peaks = {p: set(h) for p, h in small["truth"]["peak_hours"].items()}
    # platform-wide profile, under the clients' rule (interval above the average hour, the
    # best three): seed 7 gives 55 of 56 hours in the planted peaks (one facebook video hour 9,
    # lower bound +10%, among 528 hours tested)
    in_peak = lambda df: df.select(pl.struct("platform", "hour").map_elements(
        lambda r: r["hour"] in peaks[r["platform"]], return_dtype=pl.Boolean)).to_series()
    pooled = result.hour_profiles.filter(pl.col("lift_low") > 0).filter(
        pl.col("lift").rank("ordinal", descending=True).over("platform", "content_type") <= 3)
    assert pooled.height >= 40 and in_peak(pooled).mean() >= 0.9
    assert set(pooled["platform"]) == set(peaks)  # found on every platform
    # client recommendations: at most three hours, in 0-23, UTC, and nearly all planted peaks
    # (seed 7: 71 hours for 62 client x platform x types, 97% of them planted peaks)
    recommended = result.peak_hours
    assert recommended.height >= 50
    assert recommended["hour"].is_between(0, 23).all() and set(recommended["timezone"]) == {"UTC"}
    assert recommended.group_by("client_id", "platform", "content_type").len()["len"].max() <= 3
    assert in_peak(recommended).mean() >= 0.9, in_peak(recommended).mean()
    # below the minimum-data rule nothing is recommended
    recs = result.recommendations
    thin = recs.filter(pl.col("complete_posts") < 20)
    assert set(thin["hours_status"]) == {"too_few_posts"} and thin["peak_hours"].null_count() == thin.height


def true_top_platforms(paths: pl.DataFrame, params: dict[str, float]) -> pl.DataFrame:
    """Per client, the platform with the largest exact Shapley credit of expected conversions
    under the planted noisy-OR over the client's journeys (simulator.shapley)."""
    from dagster_project.analytics.usage import PLATFORMS
    from dagster_project.simulator.shapley import noisy_or, shapley_by_set

    channels = sorted(params)
    bit = {c: 1 << i for i, c in enumerate(channels)}
    masks = paths.filter(pl.col("channel_path").is_not_null()).with_columns(
        pl.col("channel_path").str.split(" > ").list.unique().list.eval(
            pl.element().replace_strict(bit, return_dtype=pl.Int64)).list.sum().alias("mask"))
    counts = masks.group_by("client_id", "mask").len()
    sets = np.unique(counts["mask"].to_numpy().astype(np.int64))
    phi = shapley_by_set(noisy_or(np.array([params[c] for c in channels])), sets)
    per_set = pl.DataFrame({"mask": sets, **{c: phi[:, i] for i, c in enumerate(channels)}})
    credit = counts.join(per_set, on="mask").group_by("client_id").agg(
        [(pl.col(p) * pl.col("len")).sum() for p in PLATFORMS])
    long = credit.unpivot(index="client_id", variable_name="platform", value_name="credit")
    return long.filter(pl.col("credit") == pl.col("credit").max().over("client_id")).select(
        "client_id", pl.col("platform").alias("true_platform"))


def test_the_highest_revenue_platform_claimed_for_a_client_is_the_true_one(small):
    from dagster_project.analytics import usage as us
    from dagster_project.defs.usage.assets import platform_panel

    panel, totals = platform_panel(small["wh"], "position_based")
    summary = us.platform_summary(panel, totals)
    truth = true_top_platforms(small["all_paths"], small["attribution_truth"]["channel_conversion_params"])
    # a claim is made where the top platform's interval clears every other platform's (seed 7:
    # 13 clients, all right); unbacked rank-1 platforms match the truth for 62% of the clients
    # (48% where the recommended model is position based): they are not claims
    claims = summary.filter(pl.col("top_platform_separated")).join(truth, on="client_id")
    assert claims.height >= 10, claims.height
    wrong = claims.filter(pl.col("platform") != pl.col("true_platform"))
    assert wrong.height == 0, wrong


def test_the_highest_revenue_platform_an_insight_claims_is_the_true_one(small):
    """Issue 16, part 5: the insight "X is your highest revenue-generating platform" names the
    planted top platform for every client it is made for (the insight's only evidence here is
    the platform summary; the other tables are absent, so no other kind is made)."""
    from dagster_project.analytics import insights as ins
    from dagster_project.analytics import usage as us
    from dagster_project.defs.usage.assets import platform_panel

    panel, totals = platform_panel(small["wh"], "position_based")
    summary = us.platform_summary(panel, totals)
    insights = ins.build_insights(ins.InsightInputs(platform_summary=summary))
    claims = insights.filter(pl.col("insight_kind") == "top_revenue_platform")
    assert set(insights["insight_kind"]) == {"top_revenue_platform"}
    truth = true_top_platforms(small["all_paths"], small["attribution_truth"]["channel_conversion_params"])
    joined = claims.join(truth, on="client_id", how="left")
    assert joined.height >= 10 and joined["true_platform"].null_count() == 0, joined.height
    wrong = joined.filter(pl.col("subject") != pl.col("true_platform"))
    assert wrong.height == 0, wrong
    names = {"instagram": "Instagram", "tiktok": "TikTok", "youtube": "YouTube", "linkedin": "LinkedIn",
             "twitter": "X (Twitter)", "facebook": "Facebook"}
    assert all(s.startswith(names[p] + " is your highest revenue-generating platform with $")
               for s, p in zip(joined["sentence"], joined["true_platform"]))
