"""Weekly demand (sign-ups) per tier: a LightGBM model, its held-out error against a
seasonal-naive baseline, and its forecast at the current list price.

Cells of ``marts.fct_price_offers_weekly`` are summed to tier x week: sign-ups ``n``, exposure
``x`` and the exposure-weighted mean log shown price. LightGBM (Ke et al. 2017) fits the Poisson
log-likelihood with ``log x`` as the initial score (an offset), on the tier (categorical), the
log shown price relative to the tier's launch price (constrained monotone decreasing: demand
never rises with price) and the controls of :mod:`.features` (Fourier terms, trend, marketing).
Deterministic (one thread, fixed seed).

Held out: the last ``holdout_weeks`` weeks; the model is trained on the weeks before and scored
by the mean absolute error of the predicted sign-ups. Baseline: the seasonal naive forecast
(Hyndman & Athanasopoulos, FPP3 s. 5.2) with a period of 52 weeks, ``n_hat_w = x_w n_{w-52} /
x_{w-52}``, when the training weeks reach a year back; with less history than that it cannot
be formed and the naive forecast (the last training week's rate) stands in, and
``baseline`` says so.

Forecast: the model refitted on every week predicts each of the next ``horizon`` weeks at the
current list price, a full week's exposure (seven days: the weekday weights average one) and
the last week's marketing spend. Trees cannot extrapolate a price they have not seen, so the
demand at other prices is this forecast times ``(p / p0) ^ e`` with the tier's elasticity
(:mod:`.simulate`), whose interval carries the price response's uncertainty.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import lightgbm as lgb
import numpy as np
import polars as pl

from .elasticity import usable_cells
from .features import control_names, demand_controls
from .status import OK, STATUS_CODES

SEASON_WEEKS = 52
FULL_WEEK_EXPOSURE = 7.0


@dataclass(frozen=True)
class DemandSettings:
    holdout_weeks: int = 8
    min_train_weeks: int = 8
    n_estimators: int = 100
    learning_rate: float = 0.05
    num_leaves: int = 7
    min_child_samples: int = 5
    fourier_order: int = 2
    seed: int = 0

    def __post_init__(self):
        if self.holdout_weeks < 1 or self.min_train_weeks < 2:
            raise ValueError("holdout_weeks >= 1 and min_train_weeks >= 2 required")


@dataclass(frozen=True)
class DemandResult:
    evaluation: pl.DataFrame  # tier (and 'all') x held-out errors of the model and the baseline
    holdout: pl.DataFrame  # tier x held-out week: actual, model, baseline
    forecast: pl.DataFrame  # tier x future week: expected sign-ups at the current list price
    importance: pl.DataFrame  # feature: gain
    baseline: str  # seasonal_naive_52 or naive_last_week


def tier_weeks(cells: pl.DataFrame, fourier_order: int) -> pl.DataFrame:
    """Tier x week: sign-ups, exposure, log price vs the tier's first list price, controls."""
    cells = usable_cells(cells)
    launch = cells.sort("week_start").group_by("tier").agg(
        launch_price=pl.col("list_price").drop_nulls().first())
    weekly = cells.group_by("tier", "week_start").agg(
        signups=pl.col("signups").sum(), exposure=pl.col("exposure").sum(),
        log_price=(pl.col("shown_price").log() * pl.col("exposure")).sum()
        / pl.col("exposure").sum(),
        list_price=pl.col("list_price").sort_by("exposure").last(),
        discount=(pl.col("avg_discount_pct").fill_null(0) * pl.col("signups")).sum(),
        marketing_spend_per_day=pl.col("marketing_spend_per_day").first())
    weeks = weekly.group_by("week_start").agg(pl.col("marketing_spend_per_day").first()).sort("week_start")
    controls = demand_controls(weeks, fourier_order)
    return (weekly.drop("marketing_spend_per_day").join(launch, on="tier")
            .join(controls, on="week_start")
            .with_columns(log_price_vs_launch=pl.col("log_price") - pl.col("launch_price").log())
            .sort("tier", "week_start"))


def _features(df: pl.DataFrame, tiers: list[str], names: list[str]) -> np.ndarray:
    code = df["tier"].replace_strict({t: i for i, t in enumerate(tiers)}, return_dtype=pl.Float64)
    return np.column_stack([code.to_numpy(), df["log_price_vs_launch"].to_numpy(),
                            df.select(names).to_numpy()])


def _fit(df: pl.DataFrame, tiers: list[str], names: list[str], s: DemandSettings) -> lgb.Booster:
    data = lgb.Dataset(_features(df, tiers, names), label=df["signups"].to_numpy(),
                       init_score=np.log(df["exposure"].to_numpy()), categorical_feature=[0],
                       feature_name=["tier", "log_price_vs_launch", *names], free_raw_data=False)
    params = {"objective": "poisson", "learning_rate": s.learning_rate,
              "num_leaves": s.num_leaves, "min_child_samples": s.min_child_samples,
              "min_data_per_group": 1, "cat_smooth": 1.0,
              "monotone_constraints": [0, -1] + [0] * len(names),
              "monotone_constraints_method": "advanced", "seed": s.seed, "deterministic": True,
              "force_row_wise": True, "num_threads": 1, "verbose": -1}
    return lgb.train(params, data, num_boost_round=s.n_estimators)


def _predict(model: lgb.Booster, df: pl.DataFrame, tiers, names) -> np.ndarray:
    # raw_score excludes the init_score offset: add log(exposure) back
    return np.exp(model.predict(_features(df, tiers, names), raw_score=True)) * df["exposure"].to_numpy()


def demand_model(cells: pl.DataFrame, horizon: int, settings: DemandSettings = DemandSettings()
                 ) -> DemandResult:
    """Fit, evaluate and forecast; see the module docstring."""
    names = control_names(settings.fourier_order, True, True)
    data = tier_weeks(cells, settings.fourier_order)
    tiers = sorted(data["tier"].unique().to_list())
    weeks = sorted(data["week_start"].unique().to_list())
    holdout_start = weeks[-settings.holdout_weeks] if len(weeks) >= (
        settings.holdout_weeks + settings.min_train_weeks) else None
    seasonal = holdout_start is not None and weeks[0] <= holdout_start - dt.timedelta(
        weeks=SEASON_WEEKS)
    baseline_name = "seasonal_naive_52" if seasonal else "naive_last_week"
    holdout = pl.DataFrame(schema={"tier": pl.String, "week_start": pl.Date,
                                   "signups": pl.Int64, "model": pl.Float64,
                                   "baseline": pl.Float64})
    if holdout_start is not None:
        train = data.filter(pl.col("week_start") < holdout_start)
        test = data.filter(pl.col("week_start") >= holdout_start)
        model = _fit(train, tiers, names, settings)
        rate = pl.col("signups") / pl.col("exposure")
        if seasonal:
            past = train.select("tier", week_start=pl.col("week_start")
                                + pl.duration(weeks=SEASON_WEEKS), past_rate=rate)
        else:
            past = train.sort("week_start").group_by("tier").agg(past_rate=rate.last())
        on = ["tier", "week_start"] if seasonal else ["tier"]
        holdout = test.join(past, on=on, how="left").select(
            "tier", "week_start", pl.col("signups").cast(pl.Int64),
            model=pl.Series(_predict(model, test, tiers, names)),
            baseline=pl.col("past_rate") * pl.col("exposure"))
    errors = pl.concat([
        holdout.group_by("tier").agg(
            holdout_weeks=pl.len().cast(pl.Int64),
            model_mae=(pl.col("model") - pl.col("signups")).abs().mean(),
            baseline_mae=(pl.col("baseline") - pl.col("signups")).abs().mean()),
        holdout.select(tier=pl.lit("all"), holdout_weeks=pl.len().cast(pl.Int64),
                       model_mae=(pl.col("model") - pl.col("signups")).abs().mean(),
                       baseline_mae=(pl.col("baseline") - pl.col("signups")).abs().mean())])
    evaluation = pl.DataFrame({"tier": [*tiers, "all"]}).join(errors, on="tier", how="left")
    ok = holdout_start is not None
    evaluation = evaluation.with_columns(
        holdout_weeks=pl.col("holdout_weeks").fill_null(0),
        model_mae=pl.col("model_mae") if ok else pl.lit(None, pl.Float64),
        baseline_mae=pl.col("baseline_mae") if ok else pl.lit(None, pl.Float64),
        baseline=pl.lit(baseline_name),
        status=pl.lit(OK if ok else "no_holdout"),
        status_message=pl.lit(STATUS_CODES[OK] if ok else (
            f"{len(weeks)} week(s); holding out {settings.holdout_weeks} leaves fewer than "
            f"min_train_weeks ({settings.min_train_weeks}) to train on"))
    ).with_columns(mae_ratio=pl.col("model_mae") / pl.col("baseline_mae"))
    final = _fit(data, tiers, names, settings)
    forecast = _forecast(final, data, tiers, names, horizon, settings.fourier_order)
    importance = pl.DataFrame({"feature": final.feature_name(),
                               "gain": final.feature_importance("gain")}).sort(
        "gain", "feature", descending=[True, False])
    return DemandResult(evaluation, holdout.sort("tier", "week_start"), forecast, importance,
                        baseline_name)


def _forecast(model: lgb.Booster, data: pl.DataFrame, tiers, names, horizon: int,
              fourier_order: int) -> pl.DataFrame:
    last_week = data["week_start"].max()
    history = data.group_by("week_start").agg(pl.col("trend").first()).sort("week_start")
    future = pl.DataFrame({"week_start": [last_week + dt.timedelta(weeks=h)
                                          for h in range(1, horizon + 1)]})
    spend = data.filter(pl.col("week_start") == last_week)["marketing"][0]
    # the controls of the future weeks on the history's scale: trend in years from the same
    # origin, Fourier terms of their own dates, marketing held at the last week's level
    span = pl.concat([history.select("week_start"), future]).with_columns(
        marketing_spend_per_day=pl.lit(1.0))
    controls = demand_controls(span, fourier_order, trend=True, marketing=False)
    offset = (history["trend"].to_numpy() - controls.filter(
        pl.col("week_start") <= last_week).sort("week_start")["trend"].to_numpy()).mean()
    controls = controls.with_columns(trend=pl.col("trend") + offset, marketing=pl.lit(spend))
    latest = data.sort("week_start").group_by("tier").agg(
        pl.col("list_price", "launch_price", "week_start").last(),
        discount=pl.col("discount").sum() / pl.col("signups").sum().clip(1))
    grid = latest.join(future, how="cross", suffix="_f").drop("week_start").rename(
        {"week_start_f": "week_start"}).join(controls, on="week_start").with_columns(
        log_price_vs_launch=(pl.col("list_price") / pl.col("launch_price")).log(),
        exposure=pl.lit(FULL_WEEK_EXPOSURE)).sort("tier", "week_start")
    return grid.select("tier", "week_start", "list_price",
                       avg_discount_pct="discount",
                       expected_signups=pl.Series(_predict(model, grid, tiers, names)))
