"""Client churn risk: the chance a client cancels within 30 days, from its month-end snapshots.

Rows are ``marts.fct_client_monthly_snapshots`` (features as of a day's end, label: a
cancellation in the next 30 days). Time-based split of the labelled snapshot dates, so no
row's future leaks into an earlier one: the last labelled date is the held-out test period,
the one before it the calibration period, all earlier ones the training period.

- Model: LightGBM gradient-boosted trees (binary log-loss, deterministic, one thread), raw
  scores calibrated on the calibration period by Platt scaling (a logistic regression on the
  raw log-odds) or isotonic regression. A calibration map never reverses the model's ranking:
  when Platt's fitted slope is <= 0 (the calibration period's churners did not score above its
  stayers), the maximum-likelihood fit under the constraint slope >= 0 is the flat one, so every
  risk is the calibration period's churn rate, and the status message says so (isotonic
  regression is non-decreasing by construction).
- Baseline: an L2 logistic regression on the same features (nulls filled with the training
  median, standardized), calibrated the same way.
- Held-out figures of both on the test period: ROC AUC, Brier score, and the expected
  calibration error ECE = sum_b (n_b / n) |mean(p)_b - mean(y)_b| over ``CALIBRATION_BINS``
  equal-count bins of the predicted probability.
- Drivers: LightGBM's own per-prediction contributions (``pred_contrib=True``: the
  TreeSHAP contributions of each feature to the raw log-odds); a row's top three are the
  features with the largest absolute contribution, named in words with their direction.

Every snapshot (past months included, in-sample for the training months) is scored by the
model whose held-out figures are reported. Statuses: ``insufficient_history`` (fewer than 3
labelled snapshot dates), ``single_class`` (a period without both churners and stayers), else
``ok``; without a model every risk is null.
"""

from __future__ import annotations

from dataclasses import dataclass

import lightgbm as lgb
import numpy as np
import polars as pl
from sklearn.isotonic import IsotonicRegression
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import brier_score_loss, roc_auc_score

CALIBRATION_BINS = 10

#: model feature -> how it reads in a driver ("<words> (raises risk)")
FEATURES: dict[str, str] = {
    "signup_price_vs_launch": "price at sign-up vs the tier's launch price",
    "price_vs_launch": "current list price vs the tier's launch price",
    "annual_billing": "annual billing",
    "discount_pct": "discount",
    "tier_rank": "current tier",
    "signup_tier_rank": "tier at sign-up",
    "in_trial": "in trial",
    "paid_days": "days as a paying client",
    "days_since_signup": "days since sign-up",
    "upgrades": "upgrades",
    "downgrades": "downgrades",
    "past_cancellations": "past cancellations",
    "features_adopted": "features adopted",
    "feature_uses_30d": "feature uses in the last 30 days",
    "usage_trend": "feature-use trend (last 30 days vs the 30 before)",
    "posts_30d": "posts in the last 30 days",
    "posting_trend": "posting-rate trend",
    "log_impressions_30d": "impressions in the last 30 days",
    "engagement_rate_30d": "engagement rate in the last 30 days",
    "log_mrr": "MRR",
}


@dataclass(frozen=True)
class ChurnSettings:
    n_estimators: int = 300
    learning_rate: float = 0.03
    num_leaves: int = 7
    min_child_samples: int = 40
    reg_lambda: float = 1.0
    calibration: str = "platt"  # or "isotonic"
    seed: int = 0

    def __post_init__(self):
        if self.calibration not in ("platt", "isotonic"):
            raise ValueError(f"calibration must be 'platt' or 'isotonic', got {self.calibration!r}")
        if self.n_estimators < 1 or self.num_leaves < 2 or self.learning_rate <= 0:
            raise ValueError("n_estimators >= 1, num_leaves >= 2 and learning_rate > 0 required")


@dataclass(frozen=True)
class ChurnResult:
    scores: pl.DataFrame  # client x snapshot: churn_risk, baseline_risk, split, drivers, status
    metrics: pl.DataFrame  # model x (auc, brier, ece) on the test period
    calibration_curve: pl.DataFrame  # model x bin: mean predicted, observed rate, rows
    importance: pl.DataFrame  # feature: mean |contribution| over the test period
    status: str
    status_message: str
    periods: dict[str, list]  # train / calibration / test snapshot dates


def model_features(snapshots: pl.DataFrame) -> pl.DataFrame:
    """The model's feature columns (see :data:`FEATURES`) from the snapshot columns."""
    tiers = snapshots.select("tier", "tier_rank").unique().drop_nulls()
    signup_rank = pl.col("signup_tier").replace_strict(
        dict(tiers.iter_rows()), default=None, return_dtype=pl.Int64)
    return snapshots.select(
        "signup_price_vs_launch", "price_vs_launch",
        annual_billing=(pl.col("billing_period") == "annual").cast(pl.Float64),
        discount_pct="discount_pct", tier_rank="tier_rank", signup_tier_rank=signup_rank,
        in_trial=(pl.col("status") == "trial").cast(pl.Float64),
        paid_days="paid_days", days_since_signup="days_since_signup", upgrades="upgrades",
        downgrades="downgrades", past_cancellations="past_cancellations",
        features_adopted="features_adopted", feature_uses_30d="feature_uses_30d",
        usage_trend=usage_trend(), posts_30d="posts_30d", posting_trend="posting_trend",
        log_impressions_30d=pl.col("impressions_30d").cast(pl.Float64).log1p(),
        engagement_rate_30d=pl.when(pl.col("impressions_30d") > 0).then(
            pl.col("engagements_30d") / pl.col("impressions_30d")),
        log_mrr=pl.col("mrr").log1p(),
    ).cast(pl.Float64)


def usage_trend() -> pl.Expr:
    """ln((feature uses in the last 30 days + 1) / (uses in the 30 days before + 1))."""
    return ((pl.col("feature_uses_30d") + 1) / (pl.col("feature_uses_prev_30d") + 1)).log()


def split_periods(snapshots: pl.DataFrame) -> dict[str, list]:
    """Labelled snapshot dates: the last is the test period, the one before calibration."""
    labelled = sorted(snapshots.filter(pl.col("churned_next_30d").is_not_null())
                      ["snapshot_date"].unique().to_list())
    return {"train": labelled[:-2], "calibration": labelled[-2:-1], "test": labelled[-1:]}


def expected_calibration_error(p: np.ndarray, y: np.ndarray, bins: int = CALIBRATION_BINS) -> float:
    """ECE over ``bins`` equal-count bins of ``p`` (see the module docstring)."""
    curve = calibration_curve(p, y, bins)
    return float((curve["rows"] / len(p) * (curve["mean_predicted"] - curve["observed_rate"]).abs()
                  ).sum())


def calibration_curve(p: np.ndarray, y: np.ndarray, bins: int = CALIBRATION_BINS) -> pl.DataFrame:
    """Mean prediction and observed rate per equal-count bin of ``p`` (ties kept together)."""
    order = pl.DataFrame({"p": p, "y": y.astype(float)}).with_columns(
        bin=((pl.col("p").rank("min") - 1) * bins / len(p)).floor().cast(pl.Int64))
    return order.group_by("bin").agg(mean_predicted=pl.col("p").mean(),
                                     observed_rate=pl.col("y").mean(),
                                     rows=pl.len()).sort("bin")


class _Calibrator:
    def __init__(self, method: str, raw: np.ndarray, y: np.ndarray):
        self.method = method
        self.flat = False  # Platt's slope came out <= 0: the constrained fit is the base rate
        if method == "platt":
            self.model = LogisticRegression(C=1e6, tol=1e-10, max_iter=1000).fit(raw[:, None], y)
            self.flat = bool(self.model.coef_[0, 0] <= 0)
            self.rate = float(np.mean(y))
        else:
            self.model = IsotonicRegression(out_of_bounds="clip", y_min=0, y_max=1).fit(raw, y)

    def __call__(self, raw: np.ndarray) -> np.ndarray:
        if self.flat:
            return np.full(len(raw), self.rate)
        if self.method == "platt":
            return self.model.predict_proba(raw[:, None])[:, 1]
        return self.model.predict(raw)


def _empty(snapshots: pl.DataFrame, status: str, message: str, periods) -> ChurnResult:
    scores = snapshots.select("client_id", "snapshot_date").with_columns(
        churn_risk=pl.lit(None, pl.Float64), baseline_risk=pl.lit(None, pl.Float64),
        split=pl.lit(None, pl.String),
        **{f"driver_{k}": pl.lit(None, pl.String) for k in (1, 2, 3)},
        **{f"driver_{k}_contribution": pl.lit(None, pl.Float64) for k in (1, 2, 3)},
        status=pl.lit(status), status_message=pl.lit(message))
    empty = pl.DataFrame(schema={"model": pl.String, "auc": pl.Float64, "brier": pl.Float64,
                                 "ece": pl.Float64, "test_rows": pl.Int64,
                                 "test_churners": pl.Int64})
    curve = pl.DataFrame(schema={"model": pl.String, "bin": pl.Int64,
                                 "mean_predicted": pl.Float64, "observed_rate": pl.Float64,
                                 "rows": pl.UInt32})
    imp = pl.DataFrame(schema={"feature": pl.String, "driver": pl.String,
                               "mean_abs_contribution": pl.Float64})
    return ChurnResult(scores, empty, curve, imp, status, message, periods)


def churn_risk(snapshots: pl.DataFrame, settings: ChurnSettings = ChurnSettings()) -> ChurnResult:
    """Fit, calibrate, evaluate and score; see the module docstring."""
    snapshots = snapshots.sort("snapshot_date", "client_id")
    periods = split_periods(snapshots)
    if not periods["train"]:
        return _empty(snapshots, "insufficient_history",
                      f"{sum(len(v) for v in periods.values())} labelled snapshot date(s); a "
                      "train, a calibration and a test period need 3", periods)
    date, label = snapshots["snapshot_date"], snapshots["churned_next_30d"]
    masks = {name: date.is_in(dates).to_numpy() for name, dates in periods.items()}
    y = label.fill_null(False).cast(pl.Int64).to_numpy()
    for name, mask in masks.items():
        if len(np.unique(y[mask])) < 2:
            return _empty(snapshots, "single_class",
                          f"the {name} period ({', '.join(map(str, periods[name]))}) has "
                          f"{'no churner' if y[mask].sum() == 0 else 'only churners'}", periods)
    X = model_features(snapshots)
    names = X.columns
    Xn = X.to_numpy()
    train, cal, test = masks["train"], masks["calibration"], masks["test"]
    booster = lgb.LGBMClassifier(
        n_estimators=settings.n_estimators, learning_rate=settings.learning_rate,
        num_leaves=settings.num_leaves, min_child_samples=settings.min_child_samples,
        reg_lambda=settings.reg_lambda, subsample=1.0, colsample_bytree=1.0,
        random_state=settings.seed, deterministic=True, force_row_wise=True, n_jobs=1,
        verbose=-1).fit(Xn[train], y[train])
    raw = booster.predict(Xn, raw_score=True)
    calibrator = _Calibrator(settings.calibration, raw[cal], y[cal])
    risk = calibrator(raw)
    median = np.nanmedian(Xn[train], axis=0)
    median = np.where(np.isnan(median), 0.0, median)
    filled = np.where(np.isnan(Xn), median, Xn)
    mean, sd = filled[train].mean(axis=0), filled[train].std(axis=0)
    z = (filled - mean) / np.where(sd > 0, sd, 1.0)
    logit = LogisticRegression(C=1.0, max_iter=2000).fit(z[train], y[train])
    base_raw = logit.decision_function(z)
    base_calibrator = _Calibrator(settings.calibration, base_raw[cal], y[cal])
    base = base_calibrator(base_raw)
    message = "computed" + "".join(
        f"; the {name} scores did not rank the calibration period's churners above its stayers "
        f"(Platt slope <= 0), so its {column} is that period's churn rate for every client"
        for name, column, c in (("LightGBM", "churn_risk", calibrator),
                                ("logistic baseline", "baseline_risk", base_calibrator)) if c.flat)
    metrics, curves = [], []
    for model, p in (("lightgbm", risk), ("logistic_baseline", base)):
        metrics.append({"model": model, "auc": float(roc_auc_score(y[test], p[test])),
                        "brier": float(brier_score_loss(y[test], p[test])),
                        "ece": expected_calibration_error(p[test], y[test]),
                        "test_rows": int(test.sum()), "test_churners": int(y[test].sum())})
        curves.append(calibration_curve(p[test], y[test]).with_columns(model=pl.lit(model)))
    contrib = booster.predict(Xn, pred_contrib=True)[:, :-1]
    top = np.argsort(-np.abs(contrib), axis=1, kind="stable")[:, :3]
    picked = np.take_along_axis(contrib, top, axis=1)
    words = np.array([FEATURES[n] for n in names], dtype=object)
    drivers = {}
    for k in range(3):
        direction = np.where(picked[:, k] > 0, " (raises risk)", " (lowers risk)")
        drivers[f"driver_{k + 1}"] = (words[top[:, k]] + direction).astype(str)
        drivers[f"driver_{k + 1}_contribution"] = picked[:, k]
    split = np.select([train, cal, test], ["train", "calibration", "test"], "unlabelled")
    scores = snapshots.select("client_id", "snapshot_date").with_columns(
        churn_risk=pl.Series(risk), baseline_risk=pl.Series(base), split=pl.Series(split),
        **{k: pl.Series(v) for k, v in drivers.items()},
        status=pl.lit("ok"), status_message=pl.lit(message))
    importance = pl.DataFrame({
        "feature": names, "driver": [FEATURES[n] for n in names],
        "mean_abs_contribution": np.abs(contrib[test]).mean(axis=0)}).sort(
        "mean_abs_contribution", "feature", descending=[True, False])
    return ChurnResult(scores, pl.DataFrame(metrics), pl.concat(curves).select(
        "model", "bin", "mean_predicted", "observed_rate", "rows"), importance, "ok", message,
        periods)
