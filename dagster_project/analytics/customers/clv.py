"""Customer lifetime value: BG/NBD purchases x Gamma-Gamma spend, per customer and per segment.

Two levels of fit (times in days, as ``marts.dim_end_customers`` gives them):

1. Pooled: BG/NBD on every customer's (x, t_x, T) and Gamma-Gamma on every repeat buyer's
   (x, m_x), by maximum likelihood (:mod:`.bgnbd`, :mod:`.gamma_gamma`).
2. Per client, where it has at least ``min_customers`` customers and a repeat buyer: the MAP
   estimate under a Gaussian prior on the log parameters centred on the pooled estimate, with
   the precision of ``shrinkage_customers`` pooled customers (the pooled observed information
   divided by the pooled customer count, times that number). A client with few customers is
   pulled towards the pooled fit; one with many follows its own data. Clients below the
   threshold, and clients whose own fit does not converge, use the pooled parameters
   (``parameter_source`` and the fits table say which and why).

Per customer: P(alive), expected purchases in the next ``horizon_days``, expected spend per
purchase (Gamma-Gamma conditional mean; the population mean for customers without a repeat
purchase, as in Fader, Hardie & Lee 2005b) and the discounted 12-month CLV

    CLV = E[spend] * sum_{m=1..months} (E[Y(m L)] - E[Y((m-1) L)]) / (1 + d)^m,

L = 365.25 / 12 days, d the monthly discount rate, E[Y(t)] the BG/NBD conditional expectation
(the monthly approximation the lifetimes package uses as well).

Per client x segment: customers, mean and total CLV, with a parametric-bootstrap interval
over the fitted parameters: ``bootstrap_draws`` draws of each client's log parameters from
N(estimate, covariance) (both models), every customer re-scored per draw, percentiles of the
segment's mean and total. The interval covers parameter uncertainty, not the customers' own
randomness.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from . import bgnbd, gamma_gamma
from .fitting import GroupFit

DAYS_PER_MONTH = 365.25 / 12


@dataclass(frozen=True)
class ClvSettings:
    months: int = 12
    monthly_discount: float = 0.01
    horizon_days: int = 90
    min_customers: int = 50
    shrinkage_customers: float = 200.0
    bootstrap_draws: int = 100
    interval_level: float = 0.9
    seed: int = 0

    def __post_init__(self):
        if self.months < 1 or self.horizon_days < 1:
            raise ValueError("months and horizon_days must be >= 1")
        if not 0 <= self.monthly_discount < 1:
            raise ValueError(f"monthly_discount must be in [0, 1), got {self.monthly_discount}")
        if not 0 < self.interval_level < 1:
            raise ValueError(f"interval_level must be in (0, 1), got {self.interval_level}")
        if self.shrinkage_customers <= 0 or self.bootstrap_draws < 0:
            raise ValueError("shrinkage_customers > 0 and bootstrap_draws >= 0 required")


@dataclass(frozen=True)
class ClvResult:
    customers: pl.DataFrame
    segments: pl.DataFrame
    fits: pl.DataFrame
    pooled_status: str
    pooled_message: str


def discounted_purchases(theta: np.ndarray, x, t_x, T, months: int, discount: float,
                         period: float = DAYS_PER_MONTH) -> np.ndarray:
    """sum_m (E[Y(m period)] - E[Y((m-1) period)]) / (1 + d)^m per customer, computed as
    P(alive) times :func:`bgnbd.discounted_purchases_if_alive` (eq. 10 factors so)."""
    m = np.arange(1, months + 1, dtype=float)
    return bgnbd.discounted_purchases_if_alive(theta, period * m, (1 + discount) ** -m, x, T
                                               ) * bgnbd.p_alive(theta, x, t_x, T)


def _pooled_status(x: np.ndarray, T: np.ndarray, fit: GroupFit | None, model: str) -> tuple[str, str]:
    if len(x) == 0:
        return "no_customers", f"{model}: no customer with an order of revenue > 0"
    if not np.any(T > 0):
        return "no_time_variation", (f"{model}: every customer's first order is on the as-of "
                                     "date (T = 0): the data hold no purchase timing")
    if not np.any(x > 0):
        return "no_repeat_buyers", f"{model}: no customer has a repeat purchase"
    if fit is None or not fit.converged[0]:
        return "not_converged", f"{model}: the pooled fit did not converge ({fit.message if fit else ''})"
    return "ok", "computed"


def _prior(fit: GroupFit, customers: float, strength: float):
    """Prior mean and precision (log parameters) equivalent to ``strength`` pooled customers."""
    cov = fit.covariance[0]
    if not np.isfinite(cov).all():
        return None, None
    return np.log(fit.params[0]), np.linalg.inv(cov) * strength / customers


def _client_fits(model, data: tuple, groups: np.ndarray, n_groups: int, eligible: np.ndarray,
                 pooled: GroupFit, n_pooled: float, settings: ClvSettings):
    """Per-client MAP fits for the eligible clients; parameters, covariance, source, reason."""
    k = pooled.params.shape[1]
    params = np.broadcast_to(pooled.params[0], (n_groups, k)).copy()
    cov = np.broadcast_to(pooled.covariance[0], (n_groups, k, k)).copy()
    source = np.full(n_groups, "pooled", dtype=object)
    mean, precision = _prior(pooled, n_pooled, settings.shrinkage_customers)
    if mean is None or not eligible.any():
        return params, cov, source, np.zeros(n_groups, dtype=bool)
    index = np.full(n_groups, -1)
    index[eligible] = np.arange(eligible.sum())
    rows = eligible[groups]
    fit = model.fit(*(d[rows] for d in data), groups=index[groups[rows]],
                    n_groups=int(eligible.sum()), prior_mean=mean, prior_precision=precision)
    good = fit.converged & np.isfinite(fit.covariance).all(axis=(1, 2))
    target = np.flatnonzero(eligible)[good]
    params[target], cov[target] = fit.params[good], fit.covariance[good]
    source[target] = "client"
    not_converged = np.zeros(n_groups, dtype=bool)
    not_converged[np.flatnonzero(eligible)[~good]] = True
    return params, cov, source, not_converged


def lifetime_value(customers: pl.DataFrame, segments: pl.DataFrame | None = None,
                   settings: ClvSettings = ClvSettings()) -> ClvResult:
    """CLV of every row of ``marts.dim_end_customers`` (see the module docstring).

    ``segments``: client_id, customer_id, segment (the RFM segments); customers without one
    are grouped under ``(none)``."""
    customers = customers.sort("client_id", "customer_id")
    valid = customers.filter(pl.col("valid_orders") > 0)
    if valid.height == 0:
        return _failed(customers, pl.DataFrame(schema={"client_id": pl.String,
                                                       "customers": pl.Int64,
                                                       "repeat_buyers": pl.Int64}),
                       *_pooled_status(np.zeros(0), np.zeros(0), None, "BG/NBD"))
    clients = valid["client_id"].unique().sort()
    g = valid["client_id"].replace_strict(dict(zip(clients, range(len(clients)))),
                                          return_dtype=pl.Int64).to_numpy()
    n_g = len(clients)
    x = valid["repeat_order_days"].to_numpy().astype(float)
    t_x = valid["days_first_to_last_order"].to_numpy().astype(float)
    T = valid["days_since_first_order"].to_numpy().astype(float)
    m = valid["repeat_order_day_value"].fill_null(0.0).to_numpy()
    repeat = x > 0
    bg_pool = bgnbd.fit(x, t_x, T) if repeat.any() and (T > 0).any() else None
    gg_pool = gamma_gamma.fit(x[repeat], m[repeat]) if repeat.any() else None
    bg_status = _pooled_status(x, T, bg_pool, "BG/NBD")
    gg_status = _pooled_status(x[repeat], T[repeat], gg_pool, "Gamma-Gamma")
    if gg_status[0] == "ok" and gg_pool.params[0, 1] <= 1:
        gg_status = ("not_converged", "Gamma-Gamma: q <= 1, the mean spend does not exist")
    n_customers = np.bincount(g, minlength=n_g)
    n_repeat = np.bincount(g, repeat.astype(float), minlength=n_g).astype(int)
    eligible = (n_customers >= settings.min_customers) & (n_repeat >= 1)
    ok_pool = bg_status[0] == "ok" and gg_status[0] == "ok"
    fits = pl.DataFrame({"client_id": clients, "customers": n_customers, "repeat_buyers": n_repeat})
    if not ok_pool:
        status, message = bg_status if bg_status[0] != "ok" else gg_status
        return _failed(customers, fits, status, message)
    bg_params, bg_cov, bg_src, bg_nc = _client_fits(
        bgnbd, (x, t_x, T), g, n_g, eligible, bg_pool, len(x), settings)
    gg_params, gg_cov, gg_src, gg_nc = _client_fits(
        gamma_gamma, (x[repeat], m[repeat]), g[repeat], n_g, eligible, gg_pool,
        float(repeat.sum()), settings)
    source = np.where((bg_src == "client") & (gg_src == "client"), "client", "pooled")
    reason = np.select(
        [source == "client", ~eligible & (n_customers < settings.min_customers), ~eligible,
         bg_nc | gg_nc],
        ["own fit, shrunk towards the pooled fit",
         f"fewer than {settings.min_customers} customers: pooled parameters",
         "no repeat buyer: pooled parameters",
         "the client's own fit did not converge: pooled parameters"],
        "pooled parameters")
    # a client uses one source for both models, so its CLV reads one consistent story
    pooled_rows = source == "pooled"
    bg_params[pooled_rows], bg_cov[pooled_rows] = bg_pool.params[0], bg_pool.covariance[0]
    gg_params[pooled_rows], gg_cov[pooled_rows] = gg_pool.params[0], gg_pool.covariance[0]
    scored = _score(bg_params[g], gg_params[g], x, t_x, T, m, settings)
    fits = fits.with_columns(
        parameter_source=pl.Series(source.astype(str)), parameter_reason=pl.Series(reason),
        **{f"bgnbd_{n}": bg_params[:, j] for j, n in enumerate(bgnbd.PARAMS)},
        **{f"gg_{n}": gg_params[:, j] for j, n in enumerate(gamma_gamma.PARAMS)},
        status=pl.lit("ok"), status_message=pl.lit("computed"))
    out = valid.select("client_id", "customer_id").with_columns(
        parameter_source=pl.Series(source[g].astype(str)),
        **{k: pl.Series(v) for k, v in scored.items()})
    seg = _segment_frame(valid, segments)
    table = customers.select("client_id", "customer_id").join(
        out, on=["client_id", "customer_id"], how="left").with_columns(
        status=pl.when(pl.col("parameter_source").is_null()).then(pl.lit("no_valid_orders"))
        .otherwise(pl.lit("ok")),
        status_message=pl.when(pl.col("parameter_source").is_null())
        .then(pl.lit("every order of the customer has revenue <= 0: nothing to score"))
        .otherwise(pl.lit("computed")))
    intervals = _segment_intervals(valid, seg, g, scored["clv"], (bg_params, bg_cov),
                                   (gg_params, gg_cov), x, t_x, T, m, settings)
    return ClvResult(table, intervals, fits, "ok", "computed")


def _score(bg: np.ndarray, gg: np.ndarray, x, t_x, T, m, settings: ClvSettings) -> dict:
    spend = gamma_gamma.expected_spend(gg, x, m)
    purchases = discounted_purchases(bg, x, t_x, T, settings.months, settings.monthly_discount)
    return {"p_alive": bgnbd.p_alive(bg, x, t_x, T),
            "expected_purchases": bgnbd.expected_purchases(bg, settings.horizon_days, x, t_x, T),
            "expected_spend": spend, "clv": spend * purchases}


def _segment_frame(valid: pl.DataFrame, segments: pl.DataFrame | None) -> np.ndarray:
    if segments is None:
        return np.full(valid.height, "(none)", dtype=object)
    joined = valid.select("client_id", "customer_id").join(
        segments.select("client_id", "customer_id", "segment"),
        on=["client_id", "customer_id"], how="left", maintain_order="left")
    return joined["segment"].fill_null("(none)").to_numpy()


def _draw(params: np.ndarray, cov: np.ndarray, draws: int, g: np.random.Generator) -> np.ndarray:
    """(draws, clients, k) natural parameters from N(log params, cov) per client."""
    chol = np.linalg.cholesky(cov)
    z = g.standard_normal((draws, *params.shape))
    return np.exp(np.log(params)[None] + np.einsum("cij,bcj->bci", chol, z))


def _segment_intervals(valid, seg, g, clv, bg, gg, x, t_x, T, m, settings) -> pl.DataFrame:
    keys = valid.select("client_id").with_columns(segment=pl.Series(seg, dtype=pl.String))
    groups = keys.group_by("client_id", "segment").agg(customers=pl.len()).sort(
        "client_id", "segment").with_row_index("cell")
    cell = keys.join(groups, on=["client_id", "segment"], how="left",
                     maintain_order="left")["cell"].to_numpy().astype(np.int64)
    n_cells = groups.height
    size = np.bincount(cell, minlength=n_cells)
    point_total = np.bincount(cell, clv, minlength=n_cells)
    lo_q, hi_q = 50 * (1 - settings.interval_level), 50 * (1 + settings.interval_level)
    lower_mean = upper_mean = lower_total = upper_total = np.full(n_cells, np.nan)
    if settings.bootstrap_draws > 0:
        rng = np.random.default_rng(settings.seed)
        bg_draws = _draw(*bg, settings.bootstrap_draws, rng)
        gg_draws = _draw(*gg, settings.bootstrap_draws, rng)
        totals = np.stack([np.bincount(cell, _score(bd[g], gd[g], x, t_x, T, m, settings)["clv"],
                                       minlength=n_cells)
                           for bd, gd in zip(bg_draws, gg_draws)])
        lower_total, upper_total = np.percentile(totals, [lo_q, hi_q], axis=0)
        lower_mean, upper_mean = lower_total / size, upper_total / size
    return groups.drop("cell").with_columns(
        clv_mean=pl.Series(point_total / size), clv_mean_lower=pl.Series(lower_mean),
        clv_mean_upper=pl.Series(upper_mean), clv_total=pl.Series(point_total),
        clv_total_lower=pl.Series(lower_total), clv_total_upper=pl.Series(upper_total),
        status=pl.lit("ok" if settings.bootstrap_draws > 0 else "no_interval"),
        status_message=pl.lit("computed" if settings.bootstrap_draws > 0
                              else "bootstrap_draws = 0: no interval"),
    ).with_columns(pl.col(pl.Float64).fill_nan(None))


def _failed(customers: pl.DataFrame, fits: pl.DataFrame, status: str, message: str) -> ClvResult:
    stats = {c: pl.lit(None, pl.Float64) for c in
             ("p_alive", "expected_purchases", "expected_spend", "clv")}
    table = customers.select("client_id", "customer_id").with_columns(
        parameter_source=pl.lit(None, pl.String), **stats, status=pl.lit(status),
        status_message=pl.lit(message))
    segments = pl.DataFrame(schema={
        "client_id": pl.String, "segment": pl.String, "customers": pl.UInt32,
        **{c: pl.Float64 for c in ("clv_mean", "clv_mean_lower", "clv_mean_upper", "clv_total",
                                   "clv_total_lower", "clv_total_upper")},
        "status": pl.String, "status_message": pl.String})
    fits = fits.with_columns(parameter_source=pl.lit(None, pl.String),
                             parameter_reason=pl.lit(message), status=pl.lit(status),
                             status_message=pl.lit(message))
    return ClvResult(table, segments, fits, status, message)
