"""Writes the planted truth (JSON files and per-entity Parquet) for the whole simulated history."""

from __future__ import annotations

import datetime as dt
import json
import math
import os
from pathlib import Path

import numpy as np
import polars as pl

from dagster_project.simulator import params as P
from dagster_project.simulator.experiments import Experiments
from dagster_project.simulator.ids import US_PER_DAY, make_ids, ts
from dagster_project.simulator.metrics import Metrics
from dagster_project.simulator.shapley import noisy_or, shapley_shares
from dagster_project.simulator.world import NEVER, World


def _dump(path: Path, obj) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(obj, indent=2, sort_keys=True))
    os.replace(tmp, path)


def _parquet(path: Path, df: pl.DataFrame) -> None:
    tmp = path.with_suffix(".tmp")
    df.write_parquet(tmp, compression="zstd", statistics=True)
    os.replace(tmp, path)


def write_truth(world: World, metrics: Metrics, exps: Experiments, n_days: int, out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    start = world.start
    iso = lambda d: (start + dt.timedelta(days=int(d))).isoformat()
    # attribution
    counts = np.zeros((2, 2**len(P.CHANNELS)), dtype=np.int64)
    for D, c in world.journey_counts.items():
        if D < n_days:
            counts += c
    f = noisy_or(world.conv_p)
    sh = shapley_shares(f, counts[0], counts[1])
    sets = np.flatnonzero(counts[0])
    _dump(out / "attribution.json", {
        "channels": list(P.CHANNELS),
        "channel_exposure_rates": dict(P.EXPOSURE),
        "channel_conversion_params": dict(P.CONVERSION_P),
        "conversion_function": "noisy_or: f(T) = 1 - prod_{j in T} (1 - p_j); f(empty) = 0",
        "shapley_share": dict(zip(P.CHANNELS, map(float, sh["expected"]))),
        "shapley_share_realised": dict(zip(P.CHANNELS, map(float, sh["realised"]))),
        "journeys": int(counts[0][1:].sum()), "converted_journeys": int(counts[1].sum()),
        "journeys_without_touch": int(counts[0][0]),
        "journey_conversion_prob": world.q_convert,
        "lookback_days": P.LOOKBACK_DAYS,
        "note": "shapley_share = sum_T n_T phi_j(T) / sum_T n_T f(T) over the simulated journeys "
                "(decision day within the history), grouped by channel set; journeys whose decision "
                "day is early in the history may have touches before its start (truncated).",
    })
    _parquet(out / "journey_sets.parquet", pl.DataFrame({
        "channel_mask": sets, "channels": [",".join(c for k, c in enumerate(P.CHANNELS) if m >> k & 1) for m in sets],
        "journeys": counts[0][sets], "conversions": counts[1][sets], "f": f[sets]}))
    # pricing
    change_rows = [r for r in world.price_rows if r[2] is not None and r[0] < n_days]
    changes = []
    for day, tier, old, new in change_rows:
        yearly = lambda d: math.cos(2 * math.pi * (world._doy(d) - P.SUB_SEASON_PEAK_DOY) / 365.25)
        season_up = yearly(day + 14) > yearly(day - 14)
        changes.append({"tier": tier, "effective_from": iso(day), "old_price": old, "new_price": new,
                        "season_direction": "up" if season_up else "down",
                        "against_season": bool((new > old) != season_up)})
    pe = P.PRICE_EXPERIMENT
    _dump(out / "pricing.json", {
        "elasticity": dict(P.ELASTICITY), "reference_price": dict(P.REFERENCE_PRICE),
        "price_changes": changes,
        "price_experiments": [{"experiment_id": pe["experiment_id"], "tiers": list(pe["tiers"]),
                               "start": iso(world.pexp_start), "end": iso(world.pexp_end),
                               "arms": [{"name": n, "weight": w, "price_multiplier": m} for n, w, m in pe["arms"]]}]
        if world.pexp_start < n_days else [],
        "weekly_demand_at_reference": dict(P.WEEKLY_DEMAND),
        "season": {"yearly_amplitude": P.SUB_SEASON_AMPLITUDE, "peak_day_of_year": P.SUB_SEASON_PEAK_DOY,
                   "weekday_multipliers_mon_sun": list(np.array(P.SUB_WEEKDAY) / np.mean(P.SUB_WEEKDAY))},
        "demand_model": "new sign-ups per tier and day ~ Poisson(weekly_demand/7 * scale * season(day) * "
                        "(shown_price/reference_price)^elasticity); the launch cohort on the first day is "
                        "not demand driven; trials subscribe 14 days later at the price shown at sign-up",
    })
    # churn
    c = world.c
    _dump(out / "churn.json", {
        "drivers": dict(P.CHURN_DRIVERS), "base_hazard": dict(P.BASE_HAZARD),
        "hazard_model": "monthly hazard = base_hazard[tier at sign-up] * exp(sum beta_k x_k), capped at 0.9; "
                        "time to cancel after subscribe ~ Exponential(-log(1-h)/30 per day)",
        "driver_definitions": {
            "log_price_ratio": "log(monthly_price shown at sign-up / reference_price of the tier)",
            "engagement_trend": "z-score of the posting-rate trend; posts/day drift as exp(0.15 z months)",
            "feature_adoption": "share of the 8 features the client adopts (feature_usage_logs) - 0.5",
            "annual_billing": "1 if billing_period is annual"},
        "reactivation_share": P.REACTIVATION_SHARE,
    })
    end_us = n_days * US_PER_DAY
    cl = pl.DataFrame({
        "client_id": make_ids("cl-", c["num"], 6), "tier": [P.TIERS[t] for t in c["tier"]],
        "monthly_hazard": c["hazard"], "log_price_ratio": c["x_price"], "engagement_trend": c["eng_z"],
        "feature_adoption": c["x_feat"], "annual_billing": c["annual"],
        "subscribed_at": ts(c["sub"] + world.base_us), "churn_at": ts(c["cancel1"] + world.base_us),
        "churned_in_history": c["cancel1"] < end_us,
        "reactivated_at": ts(np.minimum(c["react"], NEVER // 2) + world.base_us),
    }).with_columns(pl.when(pl.col("reactivated_at").dt.year() > 3000).then(None)
                    .otherwise(pl.col("reactivated_at")).alias("reactivated_at"))
    _parquet(out / "client_churn.parquet", cl)
    # customers
    cu = world.cu
    q = world.q_convert
    bg = P.BGNBD_OPPORTUNITY
    _dump(out / "customers.json", {
        "bgnbd": {"r": bg["r"], "alpha": bg["alpha"] / q, "a": P.BGNBD_DROPOUT["a"], "b": P.BGNBD_DROPOUT["b"]},
        "gamma_gamma": dict(P.GAMMA_GAMMA), "time_unit": "day",
        "opportunity_alpha": bg["alpha"], "journey_conversion_prob": q,
        "refractory_days": P.REFRACTORY_DAYS,
        "note": "purchase opportunities (journeys) arrive at rate lambda_opp ~ Gamma(r, alpha_opp) while a customer "
                "is ready; each converts with the noisy-OR of its channel set, independently with probability q, so "
                "over ready time purchases are Poisson with lambda = q * lambda_opp ~ Gamma(r, alpha_opp / q) "
                "(bgnbd). After every decision, bought or not, a customer is not ready for refractory_days, so in "
                "calendar time its long-run purchase rate is q * lambda_opp / (1 + lambda_opp * refractory_days) "
                "(lambda_effective in customer_latents.parquet) and BG/NBD fitted on calendar time is an "
                "approximation. After each repeat purchase (never the first, as in BG/NBD) the customer drops out with "
                "p ~ Beta(a, b). Spend per order "
                "~ Gamma(p, nu), nu ~ Gamma(q, v) (rates). Purchase intensity is modulated by the revenue "
                "seasonality (mean one).",
    })
    if cu:
        keep = cu["arrival"] < n_days
        drop = np.where((cu["dropout"] >= 0) & (cu["dropout"] < n_days), cu["dropout"], -1)[keep]
        _parquet(out / "customer_latents.parquet", pl.DataFrame({
            "customer_id": make_ids("cu-", cu["num"][keep], 9),
            "client_id": make_ids("cl-", c["num"][cu["client"][keep]], 6),
            "first_seen_date": pl.Series([iso(d) for d in cu["arrival"][keep]]).str.to_date(),
            "lambda": cu["lam"][keep] * q, "lambda_opportunity": cu["lam"][keep],
            "lambda_effective": cu["lam"][keep] * q / (1 + cu["lam"][keep] * P.REFRACTORY_DAYS),
            "p": cu["p"][keep],
            "spend_nu": cu["nu"][keep],
            "dropout_date": pl.Series([iso(d) if d >= 0 else None for d in drop], dtype=pl.String).str.to_date(),
        }))
    # usage
    _dump(out / "usage.json", {
        "peak_hours": P.PEAK_HOURS, "viral_optimization_lift": P.VIRAL_OPTIMIZATION_LIFT,
        "peak_hour_lift": P.PEAK_HOUR_LIFT,
        "platform_effects": P.PLATFORM_EFFECTS, "content_type_effects": P.CONTENT_TYPE_EFFECTS,
        "content_type_mix": {k: dict(zip(P.CONTENT_TYPES, v)) for k, v in P.CONTENT_TYPE_MIX.items()},
        "decay_days": P.DECAY_DAYS, "base_impressions": P.BASE_IMPRESSIONS,
        "impression_sigma": P.IMPRESSION_SIGMA,
        "note": "lifetime impressions of a post = base * platform_effect * content_type_effect * "
                "(1 + peak_hour_lift if published (UTC hour) in a platform peak hour) * (1 + viral_optimization_lift "
                "if viral_optimized) * client effect * lognormal(0, sigma); spread over 14 days by exp(-age/decay).",
    })
    _dump(out / "monitoring.json", {
        "anomalies": metrics.truth_anomalies(n_days), "capacity": metrics.crossing_dates(),
        "metric_step_minutes": metrics.scale.metric_step,
    })
    _dump(out / "experiments.json", exps.truth())
    _dump(out / "revenue.json", {
        "trend": {"kind": "exponential", "prospect_growth_per_day": P.PROSPECT_GROWTH,
                  "note": "new end-customers per active client grow by this rate; revenue also grows with clients"},
        "weekly_seasonality": dict(zip(["mon", "tue", "wed", "thu", "fri", "sat", "sun"],
                                       map(float, np.array(P.REVENUE_WEEKLY) / np.mean(P.REVENUE_WEEKLY)))),
        "yearly_seasonality": {"amplitude": P.REVENUE_YEARLY_AMPLITUDE,
                               "peak_day_of_year": P.REVENUE_YEARLY_PEAK_DOY,
                               "form": "1 + amplitude * cos(2 pi (doy - peak) / 365.25)"},
        "applies_to": "conversions (purchase intensity by decision day)",
    })
