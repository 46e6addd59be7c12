"""Planted-truth recovery of the customers analytics on `small` (seed 7).

The `small` simulation's raw tables are loaded into a private DuckDB, dbt builds only the
customers marts (and what they read), and the analytics run directly on what the assets read.

Truth: data/truth/customers.json (BG/NBD over the customers' *ready* time, Gamma-Gamma p, q, v),
customer_latents.parquet (each customer's calendar-time rate lambda_effective and dropout
date), churn.json (drivers and their betas). As in BG/NBD a customer may drop out after a
repeat purchase, never after its first. After every purchase decision a customer starts no new
opportunity for 60 days (params.REFRACTORY_DAYS), so purchases in calendar time are far more
regular than any Poisson process and none falls in the 60 days after the first order: BG/NBD
fitted on calendar time (what the warehouse has) runs to its Poisson limit (r and alpha very
large) and is compared with the effective calendar-time rates (lambda_effective) rather than
with the ready-time parameters. Gamma-Gamma is not touched by the refractory period and is
compared with the planted p, q, v directly.

Measured (seed 7): see the module constants and README (Customers).
"""

from __future__ import annotations

import json

import duckdb
import numpy as np
import polars as pl
import pytest
from sklearn.metrics import roc_auc_score

pytestmark = pytest.mark.integration

TABLES = ("clients", "subscription_events", "plan_prices", "feature_usage_logs", "content",
          "content_engagement", "touchpoints", "conversions")


@pytest.fixture(scope="module")
def small(tmp_path_factory, small_simulation, dbt_helpers):
    from dagster_project.analytics import customers as cu

    tmp = tmp_path_factory.mktemp("customers_small")
    db = dbt_helpers.build_marts_from_landing(
        small_simulation / "landing", tmp, TABLES,
        ["+dim_end_customers", "+fct_client_monthly_snapshots"])
    con = duckdb.connect(str(db), read_only=True)
    read = lambda sql: pl.from_arrow(con.sql(sql).to_arrow_table())
    customers = read("select * from marts.dim_end_customers")
    snapshots = read("select * from marts.fct_client_monthly_snapshots")
    rfm = read(cu.rfm_sql())
    con.close()
    return {
        "customers": customers, "snapshots": snapshots, "rfm": rfm,
        "clv": cu.lifetime_value(customers, rfm, cu.ClvSettings(bootstrap_draws=20)),
        "churn": cu.churn_risk(snapshots),
        "truth": json.loads((small_simulation / "truth" / "customers.json").read_text()),
        "churn_truth": json.loads((small_simulation / "truth" / "churn.json").read_text()),
        "latents": pl.read_parquet(small_simulation / "truth" / "customer_latents.parquet"),
        "client_truth": pl.read_parquet(small_simulation / "truth" / "client_churn.parquet"),
    }


def _scored(small) -> pl.DataFrame:
    return small["clv"].customers.join(small["customers"], on=["client_id", "customer_id"]).join(
        small["latents"], on=["client_id", "customer_id"]).filter(pl.col("status") == "ok")


def test_gamma_gamma_recovers_the_planted_spend_parameters(small):
    fits = small["clv"].fits
    p, q, v = (fits[f"gg_{k}"].filter(fits["parameter_source"] == "pooled")[0] for k in "pqv")
    truth = small["truth"]["gamma_gamma"]
    print(f"\nGamma-Gamma on small: p {p:.3f} ({truth['p']}), q {q:.3f} ({truth['q']}), "
          f"v {v:.3f} ({truth['v']}); mean spend {p * v / (q - 1):.2f} "
          f"({truth['p'] * truth['v'] / (truth['q'] - 1):.2f})")
    # measured: mean spend 29.79 (30.00), q 3.94 (4): within 3% and 10%; p 6.36 (6) and v 13.8
    # (15) lie on the likelihood's ridge of equal p v / (q - 1), since most repeat buyers have
    # one repeat order: each alone is within 35%
    assert p * v / (q - 1) == pytest.approx(truth["p"] * truth["v"] / (truth["q"] - 1), rel=0.03)
    assert q == pytest.approx(truth["q"], rel=0.10)
    assert p == pytest.approx(truth["p"], rel=0.35) and v == pytest.approx(truth["v"], rel=0.35)


@pytest.mark.xfail(strict=True, reason=(
    "small seed 7: BG/NBD on calendar time runs to its Poisson limit (r 5.3e5, alpha 4.8e8, "
    "a 503, b 503) against the ready-time truth (r 0.75, alpha 47.2, a 1, b 3): the 60-day "
    "refractory period after every purchase decision caps a customer's calendar-time rate at "
    "q / 60 days, which squeezes the gamma heterogeneity of the ready-time rates (CV 1.15) to a "
    "CV of 0.21 among the buyers, and no repeat can fall in the first 60 days of a customer's "
    "T. No parameter is within a factor 2 of the ready-time truth; "
    "tests/unit/test_customers_clv.py recovers planted BG/NBD parameters within 2.5 standard "
    "errors when the data follow the model. See the test below for what the fit does recover."))
def test_bgnbd_recovers_the_planted_parameters_on_small(small):
    fits = small["clv"].fits
    pooled = fits.filter(fits["parameter_source"] == "pooled").row(0, named=True)
    truth = small["truth"]["bgnbd"]
    for name in ("r", "alpha", "a", "b"):
        assert pooled[f"bgnbd_{name}"] == pytest.approx(truth[name], rel=0.5), name


def test_bgnbd_on_calendar_time_against_the_effective_rates_on_small(small):
    """What the calendar-time fit recovers, against the effective rates the truth records
    (lambda_effective = q lambda / (1 + lambda refractory_days), customer by customer).

    - Heterogeneity: none. The fit sits at its Poisson limit (gamma CV 1 / sqrt(r) below
      0.001), while the effective rates of the same customers have a CV of 0.21 (measured):
      the refractory period makes them nearly equal, and BG/NBD reads the rest as noise.
    - Mean rate: r / alpha is half the mean effective rate (measured ratio 0.50): the
      fit's clock starts at the first order, and no repeat can come in the 60 refractory days
      that follow it. It equals, within 5%, the second method's rate: repeat purchases per
      customer-day of T in the mart (the Poisson-limit estimate of a rate is that ratio).
    """
    fits = small["clv"].fits
    pooled = fits.filter(fits["parameter_source"] == "pooled").row(0, named=True)
    d = _scored(small)
    eff = d["lambda_effective"].to_numpy()
    rate = pooled["bgnbd_r"] / pooled["bgnbd_alpha"]
    observed = d["repeat_order_days"].sum() / d["days_since_first_order"].sum()
    print(f"\nBG/NBD on small: r {pooled['bgnbd_r']:.4g}, alpha {pooled['bgnbd_alpha']:.4g}, "
          f"a {pooled['bgnbd_a']:.4g}, b {pooled['bgnbd_b']:.4g}; mean rate {rate:.5f}/day, "
          f"effective {eff.mean():.5f}/day (CV {eff.std() / eff.mean():.3f}), repeats per "
          f"customer-day {observed:.5f}; ready-time truth {small['truth']['bgnbd']}")
    assert pooled["bgnbd_r"] > 1e3 and pooled["bgnbd_alpha"] > 1e5  # the Poisson limit
    assert 0.15 < eff.std() / eff.mean() < 0.3
    assert 0.45 < rate / eff.mean() < 0.55
    assert rate == pytest.approx(observed, rel=0.05)
    gaps = small["customers"]["mean_days_between_orders"].drop_nulls()
    assert gaps.min() >= 59  # the refractory period, seen in the mart


def test_p_alive_ranks_truly_active_above_truly_lapsed_with_auc_08(small):
    """Truly lapsed: a planted dropout date on or before the as-of date. As in BG/NBD, the
    simulator's customers drop out only after a repeat purchase, so every customer without a
    repeat is alive, and P(alive) is 1 for them (eq. 12)."""
    d = _scored(small)
    auc = roc_auc_score(d["dropout_date"].is_null(), d["p_alive"])
    print(f"\nP(alive) AUC on small: {auc:.3f} ({d.height:,} customers, "
          f"{d['dropout_date'].is_not_null().sum():,} lapsed)")
    assert auc >= 0.8


def test_no_function_of_the_rfm_summary_separates_lapsed_repeat_buyers_on_small(small):
    """Where the 0.8 comes from: among repeat buyers P(alive) is near chance (measured
    0.52), and even the in-sample-optimal score, the observed share alive in each (x, t_x
    week, T week) cell, stays under 0.7 (measured 0.65): with the refractory period a live
    customer buys about once in 400 days, so six months of silence say little."""
    d = _scored(small).filter(pl.col("repeat_order_days") > 0).with_columns(
        cell=pl.concat_str(["repeat_order_days", (pl.col("days_first_to_last_order") // 7),
                            (pl.col("days_since_first_order") // 7)], separator="/"),
        alive=pl.col("dropout_date").is_null())
    d = d.with_columns(best=pl.col("alive").mean().over("cell"))
    best = roc_auc_score(d["alive"], d["best"])
    ours = roc_auc_score(d["alive"], d["p_alive"])
    print(f"\nrepeat buyers: P(alive) AUC {ours:.3f}, in-sample best cell score {best:.3f}")
    assert ours <= best < 0.7


def test_churn_labels_are_the_planted_cancellations_of_the_next_30_days(small):
    """The evaluation's labels are right: for every labelled snapshot of a client that has not
    cancelled before, churned_next_30d is true exactly when the simulator's first cancellation
    falls in the 30 days after the snapshot date (client_churn.parquet)."""
    d = small["snapshots"].filter(pl.col("churned_next_30d").is_not_null(),
                                  pl.col("past_cancellations") == 0).join(
        small["client_truth"], on="client_id").with_columns(
        planted=pl.col("churn_at").dt.date().is_between(
            pl.col("snapshot_date") + pl.duration(days=1),
            pl.col("snapshot_date") + pl.duration(days=30)))
    assert d.height > 3000 and d["planted"].sum() > 100
    assert (d["churned_next_30d"] == d["planted"]).all()


@pytest.mark.xfail(strict=True, reason=(
    "small seed 7: held-out AUC of LightGBM's raw scores 0.503 (Platt's slope on the "
    "calibration month is negative, so the calibrated risk is that month's churn rate for "
    "every client: AUC 0.5), logistic baseline 0.580 (the true hazard itself 0.713). The labels equal the planted cancellations (test above) and the split is "
    "time-based; the cause is the sample: two training months with 62 churners, and a "
    "planted hazard log-linear in the drivers, i.e. the logistic model's own form. Measured "
    "on the raw scores: no LightGBM setting tried (stumps to 7 leaves, 50 to 300 rounds, "
    "20 to 150 rows per leaf, L2 1 to 30, column sampling, linear trees, rounds chosen on the "
    "calibration month) beat 0.56 on the held-out month; given the planted latent drivers "
    "themselves, LightGBM 0.60 to 0.64 against logistic 0.695; trained on three months (112 "
    "churners), 0.59 to 0.63 against 0.670."))
def test_churn_model_beats_the_logistic_baseline_on_small(small):
    m = {r["model"]: r for r in small["churn"].metrics.iter_rows(named=True)}
    assert m["lightgbm"]["auc"] > m["logistic_baseline"]["auc"]


def test_churn_calibration_error_is_reported_and_small(small):
    res = small["churn"]
    assert res.status == "ok"
    m = {r["model"]: r for r in res.metrics.iter_rows(named=True)}
    print("\nchurn held-out: " + "; ".join(f"{k} AUC {v['auc']:.3f} Brier {v['brier']:.4f} "
                                            f"ECE {v['ece']:.4f}" for k, v in m.items()))
    for row in m.values():
        assert np.isfinite(row["ece"]) and row["ece"] < 0.05  # the held-out churn rate is 5.6%


def test_the_planted_churn_drivers_are_observed_in_the_snapshots(small):
    """The drivers are observable: the sign-up price ratio equals the simulator's
    log_price_ratio client by client, and features adopted and the posting trend follow the
    planted adoption share and engagement trend."""
    d = small["snapshots"].filter(pl.col("is_current")).join(small["client_truth"], on="client_id")
    assert np.allclose(d["signup_price_vs_launch"], d["log_price_ratio"], atol=1e-9)
    assert d.select(pl.corr("features_adopted", "feature_adoption"))[0, 0] > 0.7
    assert d.select(pl.corr("posting_trend", "engagement_trend"))[0, 0] > 0.1


@pytest.mark.xfail(strict=True, reason=(
    "small seed 7: of the four planted drivers, features adopted and the posting trend are "
    "among held-out clients' top three drivers; annual billing and the sign-up price are not, "
    "for any client: with 62 training churners LightGBM spends its splits on tenure and "
    "engagement noise (held-out AUC 0.50)."))
def test_the_planted_churn_drivers_appear_among_the_top_drivers(small):
    """Across the held-out month's clients, the features standing for the planted drivers
    (feature adoption, annual billing, sign-up price, posting trend) appear among the top
    three drivers."""
    scores = small["churn"].scores.filter(pl.col("split") == "test")
    named = pl.concat([scores[f"driver_{k}"] for k in (1, 2, 3)]).str.replace(r" \(.*\)$", "")
    counts = named.value_counts().sort("count", descending=True)
    print("\ntop-3 drivers, held-out month:\n" + str(counts.head(12)))
    from dagster_project.analytics.customers.churn import FEATURES

    planted = {FEATURES[f] for f in ("features_adopted", "annual_billing",
                                      "signup_price_vs_launch", "posting_trend")}
    seen = set(named.unique())
    print("planted drivers among the top three:", sorted(planted & seen))
    assert planted <= seen
