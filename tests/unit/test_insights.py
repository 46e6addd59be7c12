"""Insights: number formatting, templates, each kind's confidence rule, the minimums, ranking
and the cap, and degenerate input (no ok row: no insight; a zero denominator: no number).

Expected values are written out by hand (the strings a reader would expect, the arithmetic of
each rule on small numbers) or taken from a published t table."""

from __future__ import annotations

import datetime as dt
import json

import polars as pl
import pytest

from dagster_project.analytics import insights as ins
from dagster_project.analytics.insights import business_evidence as be
from dagster_project.analytics.insights import operations_evidence as oe
from dagster_project.analytics.insights import usage_evidence as ue


def _text(values, fmt):
    return pl.DataFrame({"x": values}, schema={"x": pl.Float64}).select(ins.text(pl.col("x"), fmt).alias("x"))["x"].to_list()


def test_numbers_are_written_rounded_half_away_from_zero_with_thousands_separators():
    assert _text([4500.4, 1234567.5, -1234.5, 0.4, None], "money") == ["$4,500", "$1,234,568", "-$1,235", "$0", None]
    assert _text([0.1234, 0.0005, -0.12345, 1.0], "percent") == ["12.3%", "0.1%", "-12.3%", "100.0%"]
    assert _text([2.3456, 1000.0], "ratio") == ["2.35x", "1,000.00x"]
    assert _text([29.99, 1204.5], "price") == ["$29.99", "$1,204.50"]
    assert _text([1204.0, 999999.0], "count") == ["1,204", "999,999"]
    assert _text([1234.56], "number") == ["1,234.6"]


def test_the_json_literal_and_the_shown_value_carry_the_digits_of_the_text():
    df = pl.DataFrame({"x": [0.1234, -1234567.5, None]})
    got = df.select(ins.literal(pl.col("x"), "percent").alias("p"), ins.literal(pl.col("x"), "money").alias("m"),
                    ins.shown(pl.col("x"), "percent").alias("s"))
    assert got["p"].to_list() == ["12.3", "-123456750.0", "null"]
    assert got["m"].to_list() == ["0", "-1234568", "null"]
    assert got["s"].to_list() == [12.3, -123456750.0, None]


def test_an_unknown_format_is_refused_by_name():
    with pytest.raises(ValueError, match="format must be one of"):
        ins.text(pl.col("x"), "euros")


def test_a_template_writes_text_columns_as_they_are_and_numbers_by_their_format():
    df = pl.DataFrame({"platform_name": ["Instagram"], "revenue": [4500.2]})
    expr = ins.render("{platform_name} is your highest revenue-generating platform with {revenue} generated",
                      {"revenue": "money"})
    assert df.select(expr).item() == "Instagram is your highest revenue-generating platform with $4,500 generated"
    assert ins.placeholders("{a} and {b}") == ["a", "b"]
    with pytest.raises(ValueError, match="format spec"):
        ins.render("{revenue:.2f}", {"revenue": "money"})


def test_the_kinds_table_and_the_code_name_the_same_kinds_with_valid_metric_types():
    kinds = ins.load_kinds()
    assert set(kinds) == set(ins.BUILDERS)
    assert {k.metric_type for k in kinds.values()} <= set(ins.METRIC_TYPES)


def test_a_kinds_table_with_an_unknown_metric_type_is_refused(tmp_path):
    path = tmp_path / "kinds.yml"
    path.write_text("kinds:\n  k:\n    metric_type: vibes\n    source: s\n    sentence: s\n"
                    "    recommendation: r\n    confidence: c\n    money_impact: none\n    evidence: e\n")
    with pytest.raises(ValueError, match="metric_type must be one of"):
        ins.load_kinds(path)


def _summary(**overrides):
    row = {"client_id": "c1", "platform": "instagram", "attributed_revenue": 4500.0, "revenue_lower": 3600.0,
           "revenue_upper": 5400.0, "is_top_revenue_platform": True, "top_platform_separated": True,
           "status": "ok"}
    return pl.DataFrame([{**row, **overrides}])


def test_top_platform_confidence_is_the_lower_bound_over_the_revenue():
    got = ue.top_revenue_platform(_summary(), {"revenue": 100.0}).row(0, named=True)
    assert got["confidence"] == pytest.approx(3600 / 4500)  # 0.8
    assert got["platform_name"] == "Instagram" and got["money_impact"] == 4500.0


def test_no_top_platform_insight_without_separation_an_ok_status_or_the_minimum_revenue():
    assert ue.top_revenue_platform(_summary(top_platform_separated=False), {}).height == 0
    assert ue.top_revenue_platform(_summary(status="no_impressions"), {}).height == 0
    assert ue.top_revenue_platform(_summary(attributed_revenue=99.0), {"revenue": 100.0}).height == 0


def test_engagement_trend_confidence_is_one_minus_the_t_test_p_value():
    """Published t table: the two-sided 5% critical value at 4 degrees of freedom is 2.776."""
    trends = pl.DataFrame({"client_id": ["c1"], "platform": ["tiktok"], "metric": ["engagement_rate"],
                           "weeks": [6], "slope": [2.776], "slope_se": [1.0], "relative_slope": [0.03],
                           "relative_slope_low": [0.01], "relative_slope_high": [0.05], "status": ["ok"]})
    rising = ue.engagement_trends(trends, {"weeks": 4}, rising=True)
    assert rising["confidence"].item() == pytest.approx(0.95, abs=1e-4)
    assert ue.engagement_trends(trends, {"weeks": 4}, rising=False).height == 0
    assert ue.engagement_trends(trends, {"weeks": 7}, rising=True).height == 0  # too few weeks


def test_automation_confidence_grows_with_uses_and_the_top_feature_share_is_its_hours():
    savings = pl.DataFrame({"client_id": ["c1", "c1"], "feature_name": ["auto_scheduler", "caption_ai"],
                            "platform": ["instagram", "tiktok"], "uses": [20, 10], "hours_saved": [3.0, 1.0],
                            "value_saved": [150.0, 50.0]})
    got = ue.automation_savings(savings, {"uses": 10}).row(0, named=True)
    assert got["confidence"] == pytest.approx(30 / 40)
    assert (got["top_feature"], got["top_share"], got["value_saved"]) == ("auto scheduler", 0.75, 200.0)
    assert ue.automation_savings(savings, {"uses": 31}).height == 0


def test_churn_confidence_is_the_agreement_of_the_two_models():
    risk = pl.DataFrame({"client_id": ["c1", "c1"], "snapshot_date": [dt.date(2025, 1, 31), dt.date(2025, 2, 28)],
                         "churn_risk": [0.5, 0.2], "baseline_risk": [0.5, 0.16], "driver_1": ["a", "fewer posts"],
                         "status": ["ok", "ok"]})
    clients = pl.DataFrame({"client_id": ["c1"], "current_mrr": [100.0]})
    got = be.churn_risk(risk, clients, {"risk": 0.1}).row(0, named=True)  # the latest snapshot only
    assert got["confidence"] == pytest.approx(1 - 0.04 / 0.2)
    assert got["mrr_at_risk"] == pytest.approx(0.2 * 100 * 12)
    zero = risk.with_columns(pl.lit(0.0).alias("churn_risk"), pl.lit(0.0).alias("baseline_risk"))
    assert be.churn_risk(zero, clients, {}).height == 0  # max(risk, baseline) = 0: no confidence


def test_best_roi_channel_takes_the_recommended_model_and_the_minimums():
    roi = pl.DataFrame({"client_id": ["c1"] * 3, "channel": ["instagram", "email", "tiktok"],
                        "attribution_model": ["linear", "linear", "markov"],
                        "attributed_conversions": [10.0, 2.0, 50.0], "attributed_revenue": [500.0, 900.0, 9000.0],
                        "spend": [100.0, 60.0, 100.0], "roas": [5.0, 15.0, 90.0], "status": ["ok"] * 3})
    comparison = pl.DataFrame({"client_id": ["c1", "c1"], "recommended_model": ["linear", "linear"]})
    got = be.best_roi_channel(roi, comparison, {"spend": 50.0, "conversions": 3.0, "roas": 1.0})
    assert got.select("subject", "confidence", "money_impact").row(0) == ("instagram", 10 / 15, 400.0)


def test_revenue_outlook_with_zero_forecasts_gives_no_insight():
    forecast = pl.DataFrame({"series_kind": ["client"] * 7, "client_id": ["c1"] * 7, "horizon_days": list(range(1, 8)),
                             "level": [0.8] * 7, "forecast": [0.0] * 7, "lower": [0.0] * 7, "upper": [0.0] * 7,
                             "status": ["ok"] * 7})
    assert oe.revenue_outlook(forecast, {"days": 7}).height == 0
    busy = forecast.with_columns(pl.lit(10.0).alias("forecast"), pl.lit(8.0).alias("lower"), pl.lit(12.0).alias("upper"))
    got = oe.revenue_outlook(busy, {"days": 7}).row(0, named=True)
    assert (got["forecast_total"], got["daily_forecast"]) == (70.0, 10.0)
    assert got["confidence"] == pytest.approx(1 - 4 / 20)


def test_an_anomaly_whose_expected_value_shows_as_zero_gives_no_insight():
    ts = dt.datetime(2025, 2, 1)
    anomalies = pl.DataFrame({"metric": ["api_requests", "client_daily_revenue"], "entity": ["svc", "c1"],
                              "ts": [ts, ts], "value": [5.0, 300.0], "expected": [0.04, 100.0], "score": [0.99, 0.97],
                              "detector": ["combined"] * 2, "pattern": ["spike"] * 2, "status": ["ok"] * 2})
    got = oe.metric_anomalies(anomalies, {})
    assert got.select("client_id", "deviation", "confidence").rows() == [("c1", 2.0, 0.97)]


def test_no_ok_rows_give_no_insights_and_a_frame_with_the_schema():
    summary = _summary(status="no_impressions")
    trends = pl.DataFrame({"client_id": ["c1"], "platform": ["tiktok"], "metric": ["engagement_rate"], "weeks": [6],
                           "slope": [None], "slope_se": [None], "relative_slope": [None], "relative_slope_low": [None],
                           "relative_slope_high": [None], "status": ["too_few_weeks"]},
                          schema_overrides={c: pl.Float64 for c in ("slope", "slope_se", "relative_slope",
                                                                    "relative_slope_low", "relative_slope_high")})
    out = ins.build_insights(ins.InsightInputs(platform_summary=summary, platform_trends=trends))
    assert out.height == 0 and out.schema == pl.Schema(ins.SCHEMA)
    assert ins.build_insights(ins.InsightInputs()).height == 0


def test_sentence_and_json_show_the_same_rounded_numbers():
    out = ins.build_insights(ins.InsightInputs(platform_summary=_summary(attributed_revenue=4500.4)))
    row = out.row(0, named=True)
    assert row["sentence"] == "Instagram is your highest revenue-generating platform with $4,500 generated"
    assert json.loads(row["supporting_numbers"]) == {"revenue": 4500, "revenue_lower": 3600, "revenue_upper": 5400}
    assert "($3,600 to $5,400, 95% interval)" in row["recommendation"]


def _candidates(rows):
    return pl.DataFrame(rows, schema={"client_id": pl.String, "insight_kind": pl.String, "metric_type": pl.String,
                                      "subject": pl.String, "sentence": pl.String, "recommendation": pl.String,
                                      "confidence": pl.Float64, "money_impact": pl.Float64,
                                      "supporting_numbers": pl.String, "source": pl.String})


def test_ranking_puts_impact_level_first_then_expected_money_then_confidence_and_caps():
    base = {"client_id": "c1", "metric_type": "revenue", "sentence": "s", "recommendation": "r",
            "supporting_numbers": "{}", "source": "t"}
    rows = [{**base, "insight_kind": "a", "subject": "1", "confidence": 0.9, "money_impact": 150.0},   # medium
            {**base, "insight_kind": "b", "subject": "1", "confidence": 0.2, "money_impact": 5000.0},  # high
            {**base, "insight_kind": "c", "subject": "1", "confidence": 0.99, "money_impact": None},   # low
            {**base, "insight_kind": "d", "subject": "1", "confidence": 0.5, "money_impact": 400.0},   # medium, 200
            {**base, "client_id": None, "insight_kind": "e", "subject": "1", "confidence": 0.5, "money_impact": 1.0}]
    ranked = ins.rank_insights(_candidates(rows), ins.InsightSettings(max_per_client=3))
    c1 = ranked.filter(pl.col("client_id") == "c1").sort("rank")
    assert c1["insight_kind"].to_list() == ["b", "d", "a"]  # c (low) is cut by the cap of 3
    assert c1["impact_level"].to_list() == ["high", "medium", "medium"]
    assert ranked.filter(pl.col("client_id").is_null())["rank"].to_list() == [1]
    levels = ins.rank_insights(_candidates(rows), ins.InsightSettings(high_impact=100.0, medium_impact=50.0))
    assert set(levels.filter(pl.col("insight_kind").is_in(["a", "d"]))["impact_level"]) == {"high"}


def test_impossible_settings_are_refused_by_name():
    with pytest.raises(ValueError, match="max_per_client"):
        ins.InsightSettings(max_per_client=0)
    with pytest.raises(ValueError, match="medium_impact <= high_impact"):
        ins.InsightSettings(high_impact=10.0, medium_impact=100.0)
