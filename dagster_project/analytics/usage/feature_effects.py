"""How features go with revenue and with post reach: client fixed-effects estimates.

Two estimands, both within clients (a client's own before/after or with/without), never a raw
correlation across clients (which would mostly compare big clients with small ones):

* **Feature adoption and revenue** (unit: client x week). revenue_cw = a_c + d_w +
  sum_f b_f adopted_fcw + e_cw, adopted_fcw = 1 from the week of the client's first use of
  feature f. Client and week fixed effects (two-way; the week effects absorb seasonality and
  the platform's growth), every feature in one regression. b_f is the change in the client's
  weekly revenue after adopting f, other features held; the relative lift divides it by the
  mean weekly revenue of the panel. Identified by clients who adopt during the panel
  ("switchers"): fewer than ``min_clients`` switchers is ``too_few_clients``.
* **Content flags and reach** (unit: post; viral_optimized, automated). log(1 + y_p) = a_c +
  g_{platform x content type} + sum_f b_f flag_fp + e_p for y = lifetime impressions and
  engagements of posts observed for their whole engagement window. exp(b_f) - 1 is the
  relative lift of a flagged post (multiplicative model; the +1 biases it by about 1 / y
  towards 0, negligible for posts with hundreds of impressions). The publish hour is left out
  of the controls: it does not depend on the flags, and its effect (a 1.5x lift on a sixth of
  the posts in the simulator) adds about 3% to a residual variance of 0.8 on the log scale,
  while its 143 platform x hour dummies made the fit about eight times slower (19 s against
  2.5 s on the `medium` posts, measured on a loaded machine).

Both are the within estimator of :mod:`.fixed_effects` with client-clustered errors. They are
associations: a feature adopted because revenue was about to rise is not told apart (no
instrument), which the table's ``method`` column says.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from .fixed_effects import dummies, fit_within
from .status import with_status

FLAGS = ("viral_optimized", "automated")
POST_OUTCOMES = ("impressions", "engagements")
COLUMNS = ["feature", "outcome", "unit", "estimate", "std_error", "ci_low", "ci_high", "p_value",
           "lift", "lift_low", "lift_high", "n_obs", "n_clients", "n_switching_clients",
           "status", "status_message", "method"]
VALUES = ["estimate", "std_error", "ci_low", "ci_high", "p_value", "lift", "lift_low", "lift_high"]


def _rows(fit, features: list[str], outcome: str, unit: str, switching: dict[str, int],
          relative, method: str) -> pl.DataFrame:
    est = dict(zip(fit.names, zip(fit.estimate, fit.std_error, fit.ci_low, fit.ci_high, fit.p_value)))
    nan = (np.nan,) * 5
    vals = np.array([est.get(f, nan) for f in features], dtype=float).reshape(len(features), 5)
    lift = relative(vals[:, [0, 2, 3]])
    return pl.DataFrame({
        "feature": features, "outcome": outcome, "unit": unit,
        **{c: vals[:, i] for i, c in enumerate(["estimate", "std_error", "ci_low", "ci_high", "p_value"])},
        "lift": lift[:, 0], "lift_low": lift[:, 1], "lift_high": lift[:, 2],
        "n_obs": fit.n_obs, "n_clients": fit.n_groups,
        "n_switching_clients": [switching.get(f, 0) for f in features], "method": method,
    }).with_columns(pl.col(VALUES).fill_nan(None))


def adoption_revenue_effects(panel: pl.DataFrame, adoption: pl.DataFrame, level: float = 0.95,
                             min_clients: int = 10) -> pl.DataFrame:
    """``panel``: client_id, week_start, revenue (one row per client-week, zeros included).
    ``adoption``: client_id, feature_name, first_used_at."""
    features = sorted(adoption["feature_name"].unique().to_list())
    first = adoption.with_columns(pl.col("first_used_at").dt.truncate("1w").cast(pl.Date).alias("adopted_week"))
    wide = first.pivot(on="feature_name", index="client_id", values="adopted_week")
    df = panel.join(wide, on="client_id", how="left").sort("client_id", "week_start")
    X = np.column_stack([(df[f].is_not_null() & (df[f] <= df["week_start"])).to_numpy().astype(float)
                         for f in features]) if features else np.zeros((df.height, 0))
    switching = {f: int(pl.DataFrame({"c": df["client_id"], "x": X[:, i]}).group_by("c").agg(
        pl.col("x").n_unique() > 1)["x"].sum()) for i, f in enumerate(features)}
    W, _ = dummies(df["week_start"].cast(pl.String).to_numpy(), "week")
    fit = fit_within(df["revenue"].to_numpy(), X, df["client_id"].to_numpy(), features, level, controls=W)
    mean = float(df["revenue"].mean()) if df.height else np.nan
    rows = _rows(fit, features, "revenue_per_week", "client_week", switching,
                 lambda v: v / mean if mean > 0 else np.full_like(v, np.nan),
                 "two-way fixed effects (client, week), client-clustered errors; association")
    return with_status(rows, [(pl.col("n_switching_clients") < min_clients, "too_few_clients"),
                              (pl.col("std_error").is_null() | (pl.col("std_error") <= 0), "no_variation")],
                       VALUES).select(COLUMNS)


def content_flag_effects(posts: pl.DataFrame, level: float = 0.95, min_clients: int = 10) -> pl.DataFrame:
    """``posts`` (complete posts only): client_id, platform, content_type, viral_optimized,
    automated, impressions, engagements."""
    df = posts.sort("client_id")
    flags = np.column_stack([df[f].cast(pl.Float64).to_numpy() for f in FLAGS])
    switching = {f: int(df.group_by("client_id").agg(pl.col(f).n_unique() > 1)[f].sum()) for f in FLAGS}
    controls, _ = dummies((df["platform"] + "/" + df["content_type"]).to_numpy(), "segment")
    out = []
    for outcome in POST_OUTCOMES:
        fit = fit_within(np.log1p(df[outcome].cast(pl.Float64).to_numpy()), flags, df["client_id"].to_numpy(),
                         list(FLAGS), level, controls=controls)
        out.append(_rows(fit, list(FLAGS), f"{outcome}_per_post", "post", switching, np.expm1,
                         "client fixed effects, platform x type controls, "
                         "log(1 + y), client-clustered errors; association"))
    rows = pl.concat(out)
    return with_status(rows, [(pl.col("n_switching_clients") < min_clients, "too_few_clients"),
                              (pl.col("std_error").is_null() | (pl.col("std_error") <= 0), "no_variation")],
                       VALUES).select(COLUMNS)
