"""The attribution group materialized by the nightly job on tiny data, checked against the
simulator's planted truth (data/truth/attribution.json)."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def built(built_tiny_env):
    """A copy of the session's tiny nightly build (conftest: the same job, run once)."""
    return built_tiny_env


def test_attribution_assets_materialize_and_conserve_credit(built):
    env, result = built
    checks = {e.check_name: e for e in result.get_asset_check_evaluations()}
    conservation = checks["attribution_conserves_conversions_and_revenue"]
    assert conservation.passed is True
    assert conservation.metadata["failing_client_models"].value == 0
    clients = env.query("select count(distinct client_id) as n from marts.fct_attribution_paths "
                        "where converted or not coalesce(is_window_open, false)")["n"][0]
    assert conservation.metadata["client_models"].value == 7 * clients  # every client x model
    for table in ("channel_attribution", "attribution_model_comparison", "attribution_roi",
                  "post_revenue_impact", "post_revenue_drivers"):
        assert env.query(f"select count(*) as n from analytics.{table}")["n"][0] > 0, table
    models = set(env.query("select distinct attribution_model from reporting.rpt_channel_attribution")
                 ["attribution_model"])
    assert models == {"first_touch", "last_touch", "linear", "time_decay", "position_based",
                      "markov", "shapley"}
    rpt = env.query("select * from reporting.rpt_channel_attribution where channel <> '(none)'")
    assert rpt["conversions_lower"].null_count() == 0
    assert (rpt["conversions_lower"] <= rpt["conversions_upper"]).all()
    shown = env.query("""select r.status as shown, a.status as computed
        from reporting.rpt_channel_attribution as r
        inner join analytics.channel_attribution as a
            using (client_id, channel, attribution_model)""")
    assert shown.height == env.query("select count(*) as n from reporting.rpt_channel_attribution")["n"][0]
    assert (shown["shown"] == shown["computed"]).all()  # BI tools see why a value is null


def test_bootstrap_interval_of_linear_credit_matches_its_analytic_variance(built):
    """Second method for the bootstrap: a client's linear credit to a channel is a sum over its
    converting journeys of the share each gives the channel, so under the Poisson bootstrap its
    variance is the sum of the squared shares. The 95% interval must hold the estimate and be
    2 x 1.96 analytic standard errors wide (within the noise of 200 percentiles)."""
    env, _ = built
    got = env.query("""
        select a.client_id, a.channel, a.attributed_conversions as credit,
            a.conversions_lower as lo, a.conversions_upper as hi, v.var
        from analytics.channel_attribution as a
        inner join (
            select client_id, channel, sum(share * share) as var
            from (select client_id, conversion_id, channel, sum(credit) as share
                  from marts.fct_attribution_touch_credits
                  where attribution_model = 'linear' and channel <> '(none)'
                  group by client_id, conversion_id, channel) as per_conversion
            group by client_id, channel) as v
            on a.client_id = v.client_id and a.channel = v.channel
        where a.attribution_model = 'linear' and a.attributed_conversions >= 3""")
    assert got.height >= 20
    ratio = (got["hi"] - got["lo"]) / (2 * 1.96 * got["var"].sqrt())
    assert 0.85 <= ratio.median() <= 1.15, ratio.describe()
    assert ((got["lo"] <= got["credit"]) & (got["credit"] <= got["hi"])).all()


def test_the_analyst_sees_the_chart_the_comparison_and_the_fitted_prior(built):
    env, result = built
    meta = {m.asset_key.to_user_string(): m.materialization.metadata
            for m in result.get_asset_materialization_events()}
    attribution = meta["analytics/channel_attribution"]
    assert "data:image/png;base64" in attribution["channel_credit_chart"].value
    assert attribution["shapley_prior_strength"].value > 0
    assert attribution["shapley_pooled_prior_strength"].value > 0
    p = attribution["pooled_conversion_probability"].value
    touched = set(env.query("select distinct channel from marts.fct_customer_path_touches")["channel"])
    assert set(p) == touched and all(0 < v < 1 for v in p.values())
    comparison = meta["analytics/attribution_model_comparison"]
    assert all(m in comparison["comparison"].value for m in ("markov", "shapley", "linear"))
    assert "position_based" in comparison["recommended_models"].value


def test_recommended_model_is_stored_with_its_reason(built):
    env, _ = built
    rec = env.query("select distinct client_id, recommended_model, recommendation_reason "
                     "from analytics.attribution_model_comparison")
    assert rec["client_id"].is_unique().all()
    assert set(rec["recommended_model"]) <= {"markov", "shapley", "position_based"}
    assert rec["recommendation_reason"].str.starts_with(rec["recommended_model"]).all()


# Truth recovery is tested on `small`, with the thresholds: test_attribution_truth_small.py.


def test_the_asset_equals_the_models_fitted_in_memory_on_one_row_per_journey(built):
    """The asset reads the journeys grouped in SQL, a client range at a time (one batch at
    tiny with the default sizes); the same models on one row per journey, grouped in polars, in
    batches of 7 clients give the same tables, intervals and recommendations included (to float
    rounding: SQL and polars sum the revenue in another order)."""
    from dagster_project.analytics.attribution import AttributionSettings, attribute

    env, _ = built
    paths = env.query("select client_id, channel_path, converted, revenue, is_settled "
                      "from marts.fct_attribution_paths "
                      "where converted or not coalesce(is_window_open, false)")
    credits = env.query("""
        select c.client_id, p.channel_path, c.attribution_model, c.channel,
            sum(c.credit) as credit, sum(c.revenue_credit) as revenue_credit
        from marts.fct_attribution_touch_credits as c
        inner join marts.fct_attribution_paths as p on c.path_id = p.path_id
        group by c.client_id, p.channel_path, c.attribution_model, c.channel""")
    want = attribute(paths, credits, AttributionSettings(client_batch_clients=7))
    for table, frame, keys in (
            ("channel_attribution", want.channel_attribution,
             ["client_id", "attribution_model", "channel"]),
            ("attribution_model_comparison", want.model_comparison, ["client_id", "channel"])):
        got = env.query(f"select * from analytics.{table}").sort(keys)
        assert got.columns == frame.columns and got.height == frame.height > 100
        for col in frame.columns:
            if frame[col].dtype == pl.Float64:
                assert got[col].is_null().equals(frame[col].is_null()), col
                np.testing.assert_allclose(got[col].to_numpy(), frame[col].to_numpy(),
                                           rtol=1e-9, atol=1e-9, err_msg=col)
            else:
                assert got[col].cast(pl.String).equals(frame[col].cast(pl.String)), col
