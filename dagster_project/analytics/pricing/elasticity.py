"""Price elasticity of sign-ups per tier: observational, from price experiments, and both
combined by precision weighting.

Estimand: the constant elasticity ``e_t = d log E[sign-ups] / d log(shown price)`` of tier ``t``
(log-log demand), from ``marts.fct_price_offers_weekly`` (tier x week x offer cells with their
exposure: days shown, weighted by weekday and traffic share).

- **Observational** (the list-price cells): one Poisson regression with log link over the tiers
  (:mod:`.poisson`), ``log E[n_tw] = log(exposure_tw) + a_t + e_t (log p_tw - mean_t log p) +
  controls_w' g``, with the controls of :mod:`.features` (yearly Fourier terms, trend,
  marketing) shared by the tiers: the season acts on all tiers alike, as a multiplier. A tier
  enters only with sign-ups, at least ``min_weeks`` weeks and two shown prices; the others get
  a status. The price effect is identified by the list price changes against the smooth controls.
- **Experiment** (the pricing experiments' arm cells), per tier: ``log E[n_sa] =
  log(exposure_sa) + c_s + e_t log p_sa`` with a fixed effect per stratum ``s`` (experiment x
  week x list price): arms are compared within the days they ran side by side, so season, trend
  and list price changes cancel. Strata without a sign-up, or with one arm only, carry no information on
  ``e_t`` and are left out. With two arms in one stratum the estimate is ``log((n_1/x_1) / (n_0/x_0)) /
  log(p_1/p_0)``. Observational and experiment cells are disjoint sign-ups, so the two
  estimates are independent.
- **Combined**: when both are ok, the inverse-variance (precision) weighted mean ``sum_m e_m /
  v_m / sum_m 1 / v_m`` with variance ``1 / sum_m 1 / v_m`` (e.g. Borenstein et al. 2009,
  "Introduction to Meta-Analysis", ch. 11, fixed effect); otherwise whichever is ok.

Standard errors are robust (``hc_type``: HC3 by default, see :mod:`.poisson`); intervals
are Wald intervals at ``level`` with normal quantiles. Classification, only from an interval:
``elastic`` when it lies below -1, ``inelastic`` when above -1, otherwise ``undetermined``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl
from scipy import stats

from .features import control_names, demand_controls
from .poisson import fit_poisson
from .status import OK, STATUS_CODES

METHODS = ("observational", "experiment", "combined", "dml")
CLASSES = ("elastic", "inelastic", "undetermined")


@dataclass(frozen=True)
class ElasticitySettings:
    fourier_order: int = 2
    seasonality: bool = True  # False: no Fourier terms (to show the bias it causes)
    trend: bool = True
    marketing: bool = True
    min_weeks: int = 8
    level: float = 0.95
    hc_type: str = "HC3"

    def __post_init__(self):
        if not 0 < self.level < 1:
            raise ValueError(f"level must be in (0, 1), got {self.level}")
        if self.min_weeks < 2:
            raise ValueError(f"min_weeks must be >= 2, got {self.min_weeks}")
        if self.fourier_order < 0:
            raise ValueError(f"fourier_order must be >= 0, got {self.fourier_order}")

    @property
    def controls(self) -> list[str]:
        return control_names(self.fourier_order if self.seasonality else 0, self.trend,
                             self.marketing)


@dataclass(frozen=True)
class ElasticityResult:
    table: pl.DataFrame  # tier x method (observational, experiment, combined)
    coefficients: pl.DataFrame  # the observational regression's terms


SCHEMA = {"tier": pl.String, "method": pl.String, "estimate": pl.Float64,
          "std_error": pl.Float64, "ci_lower": pl.Float64, "ci_upper": pl.Float64,
          "classification": pl.String, "weeks": pl.Int64, "signups": pl.Int64,
          "price_points": pl.Int64, "weight_in_combined": pl.Float64, "hc_type": pl.String,
          "status": pl.String, "status_message": pl.String}


def classify(ci_lower: pl.Expr, ci_upper: pl.Expr) -> pl.Expr:
    """elastic (interval below -1), inelastic (above -1), undetermined; null without interval."""
    return (pl.when(ci_upper < -1).then(pl.lit("elastic"))
            .when(ci_lower > -1).then(pl.lit("inelastic"))
            .when(ci_lower.is_not_null() & ci_upper.is_not_null()).then(pl.lit("undetermined")))


INPUT_SIG_FIGS = 9


def usable_cells(cells: pl.DataFrame) -> pl.DataFrame:
    """Cells with exposure and a shown price (a sign-up without its offer has neither), in a
    fixed order, their real-valued columns (prices included) rounded to ``INPUT_SIG_FIGS`` significant digits, so
    that every warehouse gives the same fit: the engines' sums differ in the last bits, and
    HC3 errors of cells with leverage near 1, the forests' split ties and LightGBM's bins
    magnify such differences (by 1e6 and more on `tiny`); at 9 digits the rounding is far below
    the data's own precision."""
    real = [c for c, dtype in cells.schema.items() if dtype.is_float()]
    return cells.filter((pl.col("exposure") > 0) & pl.col("shown_price").is_not_null()
                        & (pl.col("shown_price") > 0)).with_columns(
        [pl.col(c).round_sig_figs(INPUT_SIG_FIGS) for c in real]).sort(
        "tier", "week_start", "offer", "list_price")


def _summary(cells: pl.DataFrame, tiers: list[str]) -> pl.DataFrame:
    got = cells.group_by("tier").agg(
        weeks=pl.col("week_start").n_unique().cast(pl.Int64),
        signups=pl.col("signups").sum().cast(pl.Int64),
        price_points=pl.col("shown_price").round(2).n_unique().cast(pl.Int64))
    return pl.DataFrame({"tier": tiers}).join(got, on="tier", how="left").with_columns(
        pl.col("weeks", "signups", "price_points").fill_null(0))


def _rows(summary: pl.DataFrame, method: str, status: list[str], message: list[str],
          estimate: np.ndarray, se: np.ndarray, level: float, hc_type: str) -> pl.DataFrame:
    z = stats.norm.ppf(0.5 + level / 2)
    ok = np.array([s == OK for s in status])
    est = np.where(ok, estimate, np.nan)
    err = np.where(ok, se, np.nan)
    df = summary.with_columns(
        method=pl.lit(method), estimate=pl.Series(est).fill_nan(None),
        std_error=pl.Series(err).fill_nan(None), status=pl.Series(status, dtype=pl.String),
        status_message=pl.Series(message, dtype=pl.String), hc_type=pl.lit(hc_type),
        weight_in_combined=pl.lit(None, pl.Float64))
    df = df.with_columns(ci_lower=pl.col("estimate") - z * pl.col("std_error"),
                         ci_upper=pl.col("estimate") + z * pl.col("std_error"))
    return df.with_columns(classification=classify(pl.col("ci_lower"), pl.col("ci_upper"))
                           ).select(list(SCHEMA)).cast(SCHEMA)


def _checks(summary: pl.DataFrame, min_weeks: int | None) -> tuple[list[str], list[str]]:
    status, message = [], []
    for tier, weeks, signups, points in summary.select(
            "tier", "weeks", "signups", "price_points").iter_rows():
        if signups == 0:
            status.append("no_signups")
            message.append(f"{tier}: no sign-up in {weeks} week(s) of the offer")
        elif min_weeks is not None and weeks < min_weeks:
            status.append("too_few_weeks")
            message.append(f"{tier}: {weeks} week(s) with the list offer shown; min_weeks is "
                           f"{min_weeks}")
        elif points < 2:
            status.append("no_price_variation")
            message.append(f"{tier}: one shown price over {weeks} week(s)")
        else:
            status.append(OK)
            message.append(STATUS_CODES[OK])
    return status, message


def observational(cells: pl.DataFrame, tiers: list[str], settings: ElasticitySettings
                  ) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Rows of method observational (one per tier) and the fitted terms; see the module."""
    listed = cells.filter(pl.col("offer") == "list")
    summary = _summary(listed, tiers)
    status, message = _checks(summary, settings.min_weeks)
    fit_tiers = [t for t, s in zip(tiers, status) if s == OK]
    estimate, se = np.full(len(tiers), np.nan), np.full(len(tiers), np.nan)
    terms = pl.DataFrame(schema={"term": pl.String, "estimate": pl.Float64,
                                 "std_error": pl.Float64})
    if fit_tiers:
        data = listed.filter(pl.col("tier").is_in(fit_tiers))
        order = 0 if not settings.seasonality else settings.fourier_order
        weeks = data.group_by("week_start").agg(pl.col("marketing_spend_per_day").first()).sort("week_start")
        controls = demand_controls(weeks, order, settings.trend, settings.marketing)
        data = data.join(controls.drop("marketing_spend_per_day"), on="week_start").sort(
            "tier", "week_start", "offer", "list_price")
        log_p = pl.col("shown_price").log()
        data = data.with_columns(x=log_p - log_p.mean().over("tier"))
        names = [f"intercept[{t}]" for t in fit_tiers] + [f"log_price[{t}]" for t in fit_tiers]
        dummies = np.column_stack([(data["tier"] == t).to_numpy() for t in fit_tiers]).astype(float)
        X = np.column_stack([dummies, dummies * data["x"].to_numpy()[:, None],
                             data.select(settings.controls).to_numpy().reshape(data.height, -1)])
        names += settings.controls
        fit = fit_poisson(data["signups"].to_numpy(), X, data["exposure"].to_numpy(),
                          settings.hc_type)
        k = len(fit_tiers)
        for j, tier in enumerate(fit_tiers):
            i = tiers.index(tier)
            if fit.converged:
                estimate[i], se[i] = fit.beta[k + j], fit.std_error[k + j]
            else:
                status[i] = "not_converged"
                message[i] = (f"{tier}: the pooled Poisson regression did not converge in "
                              f"{fit.iterations} iterations or its design is rank deficient")
        if fit.converged:
            terms = pl.DataFrame({"term": names, "estimate": fit.beta,
                                  "std_error": fit.std_error})
    return _rows(summary, "observational", status, message, estimate, se, settings.level,
                 settings.hc_type), terms


def experimental(cells: pl.DataFrame, tiers: list[str], settings: ElasticitySettings
                 ) -> pl.DataFrame:
    """Rows of method experiment (one per tier); see the module docstring."""
    arms = cells.filter(pl.col("offer") != "list")
    summary = _summary(arms, tiers)
    status, message = [], []
    estimate, se = np.full(len(tiers), np.nan), np.full(len(tiers), np.nan)
    for i, tier in enumerate(tiers):
        data = arms.filter(pl.col("tier") == tier)
        per_arm = data.group_by("offer").agg(pl.col("signups").sum()).sort("offer")
        if data.height == 0:
            status.append("no_experiment")
            message.append(f"{tier}: no pricing-experiment arm was shown")
            continue
        if (per_arm["signups"] == 0).any():
            empty = ", ".join(per_arm.filter(pl.col("signups") == 0)["offer"])
            status.append("no_signups")
            message.append(f"{tier}: no sign-up in arm(s) {empty}")
            continue
        strata = data.with_columns(stratum=pl.concat_str(
            "price_experiment_id", pl.col("week_start").cast(pl.String),
            pl.col("list_price").cast(pl.String), separator="|"))
        strata = strata.filter((pl.col("signups").sum().over("stratum") > 0)
                               & (pl.len().over("stratum") > 1)).sort("stratum", "offer")
        log_p = strata["shown_price"].log().to_numpy()
        if strata.height == 0 or np.ptp(log_p) < 1e-9:
            status.append("no_price_variation")
            message.append(f"{tier}: the arms showed one price")
            continue
        labels = strata["stratum"].unique(maintain_order=True).to_list()
        D = np.column_stack([(strata["stratum"] == s).to_numpy() for s in labels]).astype(float)
        X = np.column_stack([D, log_p - log_p.mean()])
        fit = fit_poisson(strata["signups"].to_numpy(), X, strata["exposure"].to_numpy(),
                          settings.hc_type)
        if not fit.converged:
            status.append("not_converged")
            message.append(f"{tier}: the arm comparison did not converge or is rank deficient")
            continue
        status.append(OK)
        message.append(STATUS_CODES[OK])
        estimate[i], se[i] = fit.beta[-1], fit.std_error[-1]
    return _rows(summary, "experiment", status, message, estimate, se, settings.level,
                 settings.hc_type)


def combine(observed: pl.DataFrame, experiment: pl.DataFrame, level: float
            ) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """(observational, experiment, combined) rows with the precision weights filled in."""
    both = observed.join(experiment, on="tier", suffix="_exp").sort("tier")
    z = stats.norm.ppf(0.5 + level / 2)
    ok_o = pl.col("status") == OK
    ok_e = pl.col("status_exp") == OK
    prec_o = 1 / pl.col("std_error") ** 2
    prec_e = 1 / pl.col("std_error_exp") ** 2
    w_o = pl.when(ok_o & ok_e).then(prec_o / (prec_o + prec_e)).when(ok_o).then(1.0).otherwise(0.0)
    combined = both.with_columns(w_o=w_o).select(
        "tier",
        method=pl.lit("combined"),
        estimate=pl.when(ok_o | ok_e).then(
            pl.col("w_o") * pl.col("estimate").fill_null(0)
            + (1 - pl.col("w_o")) * pl.col("estimate_exp").fill_null(0)),
        std_error=pl.when(ok_o & ok_e).then((1 / (prec_o + prec_e)).sqrt())
        .when(ok_o).then(pl.col("std_error")).when(ok_e).then(pl.col("std_error_exp")),
        weeks=pl.max_horizontal("weeks", "weeks_exp"),
        signups=pl.col("signups") + pl.col("signups_exp"),
        price_points=pl.col("price_points") + pl.col("price_points_exp"),
        weight_in_combined=pl.lit(None, pl.Float64), hc_type="hc_type",
        status=pl.when(ok_o | ok_e).then(pl.lit(OK)).otherwise(pl.lit("no_estimate")),
        status_message=pl.when(ok_o & ok_e).then(pl.lit(
            "precision-weighted mean of the observational and experiment estimates"))
        .when(ok_o).then(pl.lit("observational estimate only (experiment: ")
                         + pl.col("status_exp") + pl.lit(")"))
        .when(ok_e).then(pl.lit("experiment estimate only (observational: ")
                         + pl.col("status") + pl.lit(")"))
        .otherwise(pl.lit("observational: ") + pl.col("status") + pl.lit("; experiment: ")
                   + pl.col("status_exp")),
        w_o="w_o",
    ).with_columns(ci_lower=pl.col("estimate") - z * pl.col("std_error"),
                   ci_upper=pl.col("estimate") + z * pl.col("std_error"))
    weights = combined.select("tier", "w_o", both_ok=pl.col("status") == OK)
    observed = observed.join(weights, on="tier").with_columns(
        weight_in_combined=pl.when(pl.col("both_ok")).then(pl.col("w_o"))).select(list(SCHEMA))
    experiment = experiment.join(weights, on="tier").with_columns(
        weight_in_combined=pl.when(pl.col("both_ok")).then(1 - pl.col("w_o"))).select(list(SCHEMA))
    combined = combined.with_columns(
        classification=classify(pl.col("ci_lower"), pl.col("ci_upper"))).select(list(SCHEMA))
    return observed, experiment, combined.cast(SCHEMA)


def estimate_elasticities(cells: pl.DataFrame, settings: ElasticitySettings = ElasticitySettings()
                          ) -> ElasticityResult:
    """Per tier: the observational, experiment and combined elasticities (module docstring).

    ``cells``: ``marts.fct_price_offers_weekly`` rows (week_start, tier, offer,
    price_experiment_id, list_price, shown_price, exposure, signups, marketing_spend_per_day)."""
    cells = usable_cells(cells)
    tiers = sorted(cells["tier"].unique().to_list())
    obs, terms = observational(cells, tiers, settings)
    exp = experimental(cells, tiers, settings)
    obs, exp, comb = combine(obs, exp, settings.level)
    order = {m: i for i, m in enumerate(METHODS)}
    table = pl.concat([obs, exp, comb]).with_columns(
        _m=pl.col("method").replace_strict(order, return_dtype=pl.Int64)).sort("tier", "_m").drop("_m")
    return ElasticityResult(table, terms)
