"""How much the churn-risk model's 30-day risk rises with the price a client signed up at.

The customers domain's model (``analytics.client_churn_risk``, LightGBM on the client monthly
snapshots; ``analytics/customers/churn.py``) takes ``signup_price_vs_launch`` = ln(price shown
at sign-up / the tier's launch price) among its features. Its sensitivity is read off its own
scores (the model itself is not refitted here): over the scored snapshots with status ok,

    logit(churn_risk) = a_tier + b signup_price_vs_launch + c log(1 + days_since_signup) + e,

by least squares with HC1 errors (tenure controls for the sign-up price's link with sign-up
date). For a tier whose new subscribers have mean risk ``r0`` (its clients' mean risk in their
first ``new_client_days`` days, else all its clients'), a sign-up price ``p`` instead of ``p0``
gives ``r(p) = expit(logit(r0) + b log(p / p0))``; ``b``'s interval maps to the risk's (the map
is monotone in b).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl
from scipy import stats
from scipy.special import logit

NEW_CLIENT_DAYS = 90


@dataclass(frozen=True)
class ChurnPriceEffect:
    slope: float | None  # b, per unit of log price
    slope_std_error: float | None
    slope_ci: tuple[float, float] | None
    baseline_risk: dict[str, float]  # tier -> r0
    scored_rows: int
    status: str  # ok, or why there is no effect (the churn model's own status)
    status_message: str

    def frame(self) -> pl.DataFrame:
        """tier, churn_baseline_risk, churn_slope and its interval (nulls without an effect)."""
        return pl.DataFrame({"tier": list(self.baseline_risk),
                             "churn_baseline_risk": list(self.baseline_risk.values())},
                            schema={"tier": pl.String, "churn_baseline_risk": pl.Float64}
                            ).with_columns(
            churn_slope=pl.lit(self.slope, pl.Float64),
            churn_slope_lower=pl.lit(self.slope_ci[0] if self.slope_ci else None, pl.Float64),
            churn_slope_upper=pl.lit(self.slope_ci[1] if self.slope_ci else None, pl.Float64))


def churn_price_effect(scores: pl.DataFrame, level: float = 0.95) -> ChurnPriceEffect:
    """``scores``: client_churn_risk joined with the snapshots (client_id, snapshot_date, tier,
    churn_risk, status, status_message, signup_price_vs_launch, days_since_signup)."""
    ok = scores.filter((pl.col("status") == "ok") & pl.col("churn_risk").is_between(1e-6, 1 - 1e-6)
                       & pl.col("signup_price_vs_launch").is_not_null()
                       & pl.col("tier").is_not_null()).sort("client_id", "snapshot_date")
    if ok.height == 0:
        statuses = scores["status"].unique().sort().to_list() if scores.height else []
        message = ("no scored snapshot: the churn model reports " + ", ".join(statuses)
                   if statuses else "analytics.client_churn_risk has no rows")
        return ChurnPriceEffect(None, None, None, {}, 0, statuses[0] if statuses else "no_model",
                                message)
    tiers = sorted(ok["tier"].unique().to_list())
    D = np.column_stack([(ok["tier"] == t).to_numpy() for t in tiers]).astype(float)
    x = ok["signup_price_vs_launch"].to_numpy()
    X = np.column_stack([D, x, np.log1p(ok["days_since_signup"].fill_null(0).to_numpy())])
    y = logit(ok["churn_risk"].to_numpy())
    n, k = X.shape
    if np.ptp(x) < 1e-9 or n <= k or np.linalg.matrix_rank(X) < k:
        return ChurnPriceEffect(None, None, None, {}, n, "no_price_variation",
                                "every scored client signed up at its tier's launch price")
    beta = np.linalg.lstsq(X, y, rcond=None)[0]
    resid = y - X @ beta
    bread = np.linalg.inv(X.T @ X)
    cov = bread @ ((X * (resid ** 2)[:, None]).T @ X) @ bread * n / (n - k)
    b, se = float(beta[len(tiers)]), float(np.sqrt(cov[len(tiers), len(tiers)]))
    z = stats.norm.ppf(0.5 + level / 2)
    new = ok.filter(pl.col("days_since_signup") <= NEW_CLIENT_DAYS)
    base = ok.group_by("tier").agg(all_mean=pl.col("churn_risk").mean()).join(
        new.group_by("tier").agg(new_mean=pl.col("churn_risk").mean()), on="tier", how="left")
    r0 = dict(base.select("tier", pl.coalesce("new_mean", "all_mean")).iter_rows())
    return ChurnPriceEffect(b, se, (b - z * se, b + z * se), r0, n, "ok", "computed")
