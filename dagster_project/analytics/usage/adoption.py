"""Feature adoption: the adoption curve after sign-up and the adoption rate by tier.

* **Curve** (Kaplan & Meier 1958): the share of clients who have used feature f within d days
  of sign-up, A(d) = 1 - S(d), S(d) = prod_{t <= d} (1 - events_t / at_risk_t), where a
  client's time is the days from sign-up to the first use (an event) or, for clients who never
  used f, to the as-of date (censored): clients who signed up recently count only as long as
  they were watched. Greenwood's variance var S = S^2 sum events_t / (at_risk_t (at_risk_t -
  events_t)), normal interval clipped to [0, 1] (statsmodels' SurvfuncRight gives the same).
  Uses recorded before the sign-up (trials) count at day 0. Reported at every ``step_days``.
* **By tier**: adopting / active clients with the Wilson score interval (Wilson 1927; as
  statsmodels ``proportion_confint(method="wilson")``).
"""

from __future__ import annotations

import numpy as np
import polars as pl
from scipy import stats

from .status import with_status


def adoption_curves(clients: pl.DataFrame, adoption: pl.DataFrame, as_of, step_days: int = 7,
                    level: float = 0.95) -> pl.DataFrame:
    """``clients``: client_id, signup_at. ``adoption``: client_id, feature_name, first_used_at.
    One row per feature x day (0, step, 2 step, ... up to the longest follow-up)."""
    if step_days < 1:
        raise ValueError(f"step_days must be >= 1, got {step_days}")
    z = float(stats.norm.ppf(0.5 + level / 2))
    features = adoption.select("feature_name").unique()
    base = clients.join(features, how="cross").join(adoption, on=["client_id", "feature_name"], how="left")
    span = lambda end: ((end - pl.col("signup_at")).dt.total_seconds() / 86400).floor().clip(lower_bound=0)
    times = base.with_columns(
        pl.col("first_used_at").is_not_null().alias("event"),
        pl.when(pl.col("first_used_at").is_not_null()).then(span(pl.col("first_used_at")))
        .otherwise(span(pl.lit(as_of))).cast(pl.Int64).alias("day"))
    at_day = times.group_by("feature_name", "day").agg(
        pl.col("event").sum().alias("events"), pl.len().alias("leaving")).sort("feature_name", "day")
    km = at_day.with_columns(
        (pl.col("leaving").sum().over("feature_name") - pl.col("leaving").cum_sum().over("feature_name")
         + pl.col("leaving")).alias("at_risk")).with_columns(
        (1 - pl.col("events") / pl.col("at_risk")).cum_prod().over("feature_name").alias("survival"),
        pl.when(pl.col("at_risk") > pl.col("events"))
        .then(pl.col("events") / (pl.col("at_risk") * (pl.col("at_risk") - pl.col("events"))))
        .otherwise(None).cum_sum().over("feature_name").alias("_gw"))
    horizon = int(times["day"].max() or 0)
    grid = features.join(pl.DataFrame({"day": np.arange(0, horizon + 1, step_days, dtype=np.int64)}), how="cross")
    curve = grid.sort("day").join_asof(km.sort("day"), on="day", by="feature_name",
                                                check_sortedness=False).with_columns(
        pl.col("survival").fill_null(1.0), pl.col("_gw").fill_null(0.0))
    se = pl.col("survival") * pl.col("_gw").sqrt()
    out = curve.with_columns(
        (1 - pl.col("survival")).alias("adopted_share"),
        (1 - pl.col("survival") - z * se).clip(0, 1).alias("adopted_low"),
        (1 - pl.col("survival") + z * se).clip(0, 1).alias("adopted_high"))
    watched = times.select("feature_name", "day").rename({"day": "_t"})
    counts = out.select("feature_name", "day").join(watched, on="feature_name").filter(
        pl.col("_t") >= pl.col("day")).group_by("feature_name", "day").agg(pl.len().alias("clients_watched"))
    out = out.join(counts, on=["feature_name", "day"], how="left").with_columns(
        pl.col("clients_watched").fill_null(0))
    out = with_status(out, [(pl.col("clients_watched") == 0, "no_clients")],
                      ["adopted_share", "adopted_low", "adopted_high"])
    return out.select("feature_name", "day", "clients_watched", "adopted_share", "adopted_low",
                      "adopted_high", "status", "status_message").sort("feature_name", "day")


def wilson_interval(successes: pl.Expr, n: pl.Expr, z: float) -> tuple[pl.Expr, pl.Expr]:
    """Wilson score interval of a binomial proportion."""
    p = successes / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * (p * (1 - p) / n + z * z / (4 * n * n)).sqrt() / (1 + z * z / n)
    return centre - half, centre + half


def adoption_by_tier(by_tier: pl.DataFrame, level: float = 0.95) -> pl.DataFrame:
    """``by_tier``: tier, feature_name, active_clients, adopting_clients."""
    z = float(stats.norm.ppf(0.5 + level / 2))
    lo, hi = wilson_interval(pl.col("adopting_clients").cast(pl.Float64),
                             pl.col("active_clients").cast(pl.Float64), z)
    df = by_tier.with_columns(
        (pl.col("adopting_clients") / pl.col("active_clients")).alias("adoption_rate"),
        lo.alias("adoption_low"), hi.alias("adoption_high"))
    df = with_status(df, [(pl.col("active_clients") <= 0, "no_clients")],
                     ["adoption_rate", "adoption_low", "adoption_high"])
    return df.select("tier", "feature_name", "active_clients", "adopting_clients", "adoption_rate",
                     "adoption_low", "adoption_high", "status", "status_message").sort("tier", "feature_name")
