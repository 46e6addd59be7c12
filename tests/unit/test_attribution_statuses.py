"""Attribution tables never carry a silent NaN: an undefined value is null and the row's status
says why (analytics/attribution/status.py), one test per status. Expected values are hand
computations on the rows each test builds.
"""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from dagster_project.analytics.attribution import AttributionSettings, attribute, channel_roi
from dagster_project.analytics.attribution.post_impact import post_revenue_impact
from dagster_project.analytics.attribution.status import STATUS_CODES, with_status
from dagster_project.devtools.attribution_fixtures import journeys, rule_credits_for

INTERVALS = ["conversions_lower", "conversions_upper", "revenue_lower", "revenue_upper"]


def test_without_resamples_the_intervals_are_null_with_status_no_intervals():
    """They were NaN: a NaN in a table that BI tools sum or chart."""
    df = journeys([("c", "a > b", 3, 1), ("c", "a", 1, 2)])
    out = attribute(df, rule_credits_for(df), AttributionSettings(bootstrap_resamples=0))
    a = out.channel_attribution
    assert set(a["status"]) == {"no_intervals"}
    assert all(a[c].null_count() == a.height for c in INTERVALS)
    assert a["attributed_conversions"].null_count() == 0


def test_a_client_without_conversions_has_null_shares_not_zero_shares():
    df = journeys([("buyer", "a > b", 2, 1), ("browser", "a > b", 0, 5)])
    out = attribute(df, rule_credits_for(df), AttributionSettings(bootstrap_resamples=20))
    a = out.channel_attribution
    browser = a.filter(pl.col("client_id") == "browser")
    assert browser.height > 0 and set(browser["status"]) == {"no_conversions"}
    assert browser["conversion_share"].null_count() == browser.height
    assert (browser["attributed_conversions"] == 0).all()  # the credits themselves are 0
    buyer = a.filter(pl.col("client_id") == "buyer")
    assert set(buyer["status"]) == {"ok"}
    linear = buyer.filter(pl.col("attribution_model") == "linear").sort("channel")
    assert linear["conversion_share"].to_list() == pytest.approx([0.5, 0.5])  # 1/2 each touch


def test_roi_without_spend_or_conversions_is_null_with_the_reason():
    attribution = pl.DataFrame({
        "client_id": ["c"] * 3, "channel": ["paid", "organic", "email"],
        "attribution_model": ["linear"] * 3,
        "attributed_conversions": [4.0, 2.0, 0.0], "attributed_revenue": [100.0, 60.0, 0.0]})
    spend = pl.DataFrame({"client_id": ["c", "c"], "channel": ["paid", "email"],
                          "spend": [50.0, 10.0]})
    roi = channel_roi(attribution, spend).sort("channel")
    got = {r["channel"]: (r["roas"], r["cpa"], r["status"]) for r in roi.to_dicts()}
    assert got == {"paid": (2.0, 12.5, "ok"),  # 100 / 50, 50 / 4
                   "organic": (None, 0.0, "no_spend"),  # no spend: ROAS undefined, CPA 0
                   "email": (0.0, None, "no_attributed_conversions")}  # 0 / 10; 10 / 0


def planted_posts(n=600, seed=3) -> tuple[pl.DataFrame, pl.DataFrame]:
    rng = np.random.default_rng(seed)
    client = rng.integers(0, 6, n)
    viral = rng.random(n) < 0.5
    content = pl.DataFrame({
        "content_id": [f"p{i}" for i in range(n)], "client_id": [f"c{k}" for k in client],
        "platform": np.where(rng.random(n) < 0.5, "tiktok", "instagram"),
        "content_type": np.where(rng.random(n) < 0.5, "video", "reel"),
        "automated": rng.random(n) < 0.5, "viral_optimized": viral})
    revenue = 10.0 * client + 8.0 * viral + rng.normal(0, 2, n)
    credits = pl.DataFrame({"content_id": content["content_id"], "credit": np.ones(n),
                            "revenue_credit": revenue})
    return content, credits


def drivers_of(content, credits) -> dict[str, dict]:
    return {r["term"]: r for r in post_revenue_impact(content, credits).drivers.to_dicts()}


def test_a_term_constant_within_every_client_is_reported_not_dropped():
    content, credits = planted_posts()
    # every client automates all or none of its posts: the fixed effects absorb the flag
    content = content.with_columns(pl.col("client_id").is_in(["c0", "c2", "c4"]).alias("automated"))
    d = drivers_of(content, credits)
    assert d["automated"]["status"] == "no_within_client_variation"
    assert d["automated"]["estimate"] is None and d["automated"]["p_value"] is None
    assert d["automated"]["suggestion"].startswith("no estimate for automated: the term does not")
    assert d["viral_optimized"]["status"] == "ok"
    assert d["viral_optimized"]["estimate"] == pytest.approx(8.0, abs=0.5)


def test_a_term_equal_to_another_is_collinear_and_the_first_is_still_estimated():
    content, credits = planted_posts()
    content = content.with_columns(pl.col("viral_optimized").alias("automated"))  # aliased
    d = drivers_of(content, credits)
    assert d["automated"]["status"] == "ok"  # listed first, it carries the viral effect
    assert d["automated"]["estimate"] == pytest.approx(8.0, abs=0.5)
    assert d["viral_optimized"]["status"] == "collinear"
    assert d["viral_optimized"]["std_error"] is None


def test_no_residual_degrees_of_freedom_gives_no_standard_errors_not_p_equal_to_something():
    """Two clients, four posts, two estimable terms: 4 - 2 - 2 = 0 residual degrees of freedom.
    The old code divided by max(dof, 1) and reported intervals and p-values."""
    content = pl.DataFrame({
        "content_id": ["p1", "p2", "p3", "p4"], "client_id": ["a", "a", "b", "b"],
        "platform": ["tiktok"] * 4, "content_type": ["reel"] * 4,
        "automated": [True, False, True, False], "viral_optimized": [True, False, False, True]})
    credits = pl.DataFrame({"content_id": ["p1", "p2", "p3", "p4"], "credit": [1.0] * 4,
                            "revenue_credit": [5.0, 1.0, 2.0, 3.0]})
    d = drivers_of(content, credits)
    assert {t: r["status"] for t, r in d.items()} == {"automated": "no_residual_dof",
                                                      "viral_optimized": "no_residual_dof"}
    assert all(r[c] is None for r in d.values() for c in ("estimate", "std_error", "p_value"))
    impact = post_revenue_impact(content, credits)
    assert impact.posts["explained_effect"].null_count() == 4  # nothing estimated, nothing explained


def test_an_exact_fit_keeps_its_estimates_but_has_no_standard_error_or_p_value():
    """Rounding leaves residuals of 1e-15 and p-values near 0, confident about nothing."""
    n = 40
    content = pl.DataFrame({
        "content_id": [f"p{i}" for i in range(n)], "client_id": [f"c{i % 5}" for i in range(n)],
        "platform": ["tiktok"] * n, "content_type": ["reel"] * n,
        "automated": [i % 3 == 0 for i in range(n)], "viral_optimized": [i % 2 == 0 for i in range(n)]})
    revenue = [3.0 * (i % 2 == 0) + 2.0 * (i % 3 == 0) + 10.0 * (i % 5) for i in range(n)]  # no noise
    credits = pl.DataFrame({"content_id": content["content_id"], "credit": [1.0] * n,
                            "revenue_credit": revenue})
    d = drivers_of(content, credits)
    assert {t: r["status"] for t, r in d.items()} == {"automated": "no_residual_variance",
                                                      "viral_optimized": "no_residual_variance"}
    assert d["viral_optimized"]["p_value"] is None and d["automated"]["std_error"] is None
    # the estimates are exact, so they are kept: 3 per viral post, 2 per automated one
    assert d["viral_optimized"]["estimate"] == pytest.approx(3.0, abs=1e-9)
    assert d["automated"]["estimate"] == pytest.approx(2.0, abs=1e-9)
    assert "no interval" in d["automated"]["suggestion"]


def test_no_posts_gives_one_row_per_term_with_status_no_posts():
    content, credits = planted_posts(n=10)
    d = drivers_of(content.clear(), credits.clear())
    assert {r["status"] for r in d.values()} == {"no_posts"}
    assert {"automated", "viral_optimized"} <= set(d)


def test_with_status_nulls_non_finite_values_and_rejects_an_unknown_code():
    df = pl.DataFrame({"x": [1.0, float("inf"), float("nan")]})
    out = with_status(df, [], ["x"])
    assert out["x"].to_list() == [1.0, None, None]
    assert out["status"].to_list() == ["ok", "non_finite", "non_finite"]
    assert out["status_message"][1] == STATUS_CODES["non_finite"]
    with pytest.raises(ValueError, match="rules: unknown status code"):
        with_status(df, [("oops", pl.lit(True), ["x"])], ["x"])
