"""Double machine learning estimate of each tier's elasticity: a robustness check of the
parametric controls.

Partially linear model (Chernozhukov et al. 2018, "Double/debiased machine learning for
treatment and structural parameters", Econometrics Journal 21, s. 4.1, the partialling-out
score): ``Y = theta D + g(X) + e`` and ``D = m(X) + v`` with ``Y = log((signups + 0.5) /
exposure)`` of a cell (0.5: the usual continuity correction, which pulls estimates from cells
with very few sign-ups towards 0), ``D = log(shown price)`` and ``X`` the controls of
:mod:`.features` (yearly Fourier terms, trend, marketing). ``g`` and ``m`` are learned by random
forests (scikit-learn) without any functional form; with ``K``-fold cross-fitting each cell's
residuals ``Y - l(X)`` and ``D - m(X)`` come from forests fitted on the other folds, and

    theta = sum_i v_i u_i / sum_i v_i^2,
    Var(theta) = mean(psi^2) / mean(v^2)^2 / n,   psi_i = (u_i - theta v_i) v_i

(the score's own, heteroskedasticity-robust variance). The tier's cells are the list-price cells
and its experiment arms: forests can follow a list price's steps in time, so without the
parametric smoothness of the season and trend, the price effect is identified only by the arms
(randomised within a week) and by the cells around each change that the held-out forest misses;
the interval says how much the parametric estimate leans on that smoothness.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl
from scipy import stats
from sklearn.ensemble import RandomForestRegressor
from sklearn.model_selection import KFold

from .elasticity import SCHEMA, classify, usable_cells
from .features import demand_controls
from .status import OK, STATUS_CODES

SCORE = "DML score (HC0-type)"


@dataclass(frozen=True)
class DmlSettings:
    n_folds: int = 5
    n_estimators: int = 100
    min_samples_leaf: int = 2
    fourier_order: int = 2
    level: float = 0.95
    seed: int = 0

    def __post_init__(self):
        if self.n_folds < 2:
            raise ValueError(f"n_folds must be >= 2, got {self.n_folds}")
        if not 0 < self.level < 1:
            raise ValueError(f"level must be in (0, 1), got {self.level}")


def partialling_out(y: np.ndarray, d: np.ndarray, X: np.ndarray, settings: DmlSettings
                    ) -> tuple[float, float]:
    """(theta, standard error) of the module docstring's score, cross-fitted."""
    u, v = np.empty_like(y), np.empty_like(d)
    folds = KFold(settings.n_folds, shuffle=True, random_state=settings.seed)
    for train, test in folds.split(X):
        for target, resid in ((y, u), (d, v)):
            forest = RandomForestRegressor(
                n_estimators=settings.n_estimators, min_samples_leaf=settings.min_samples_leaf,
                random_state=settings.seed, n_jobs=1).fit(X[train], target[train])
            resid[test] = target[test] - forest.predict(X[test])
    j = np.mean(v * v)
    if j <= 1e-12:
        return float("nan"), float("nan")
    theta = float(np.sum(v * u) / np.sum(v * v))
    psi = (u - theta * v) * v
    return theta, float(np.sqrt(np.mean(psi * psi) / j ** 2 / len(y)))


def dml_elasticities(cells: pl.DataFrame, settings: DmlSettings = DmlSettings()) -> pl.DataFrame:
    """Rows of method dml, one per tier, in the schema of :mod:`.elasticity`."""
    cells = usable_cells(cells)
    z = stats.norm.ppf(0.5 + settings.level / 2)
    weeks = cells.group_by("week_start").agg(pl.col("marketing_spend_per_day").first()).sort("week_start")
    controls = demand_controls(weeks, settings.fourier_order)
    names = [c for c in controls.columns if c not in weeks.columns]
    data = cells.join(controls.drop("marketing_spend_per_day"), on="week_start").sort(
        "tier", "week_start", "offer", "list_price")
    rows = []
    for tier in sorted(data["tier"].unique().to_list()):
        t = data.filter(pl.col("tier") == tier)
        d = t["shown_price"].log().to_numpy()
        y = np.log((t["signups"].to_numpy() + 0.5) / t["exposure"].to_numpy())
        theta = se = None
        if t["signups"].sum() == 0:
            status, message = "no_signups", f"{tier}: no sign-up in {t.height} cell(s)"
        elif t.height < 2 * settings.n_folds:
            status, message = "too_few_cells", (f"{tier}: {t.height} cell(s); {settings.n_folds} "
                                                "folds need two each")
        elif np.ptp(d) < 1e-9:
            status, message = "no_price_variation", f"{tier}: one shown price"
        else:
            theta, se = partialling_out(y, d, t.select(names).to_numpy(), settings)
            ok = np.isfinite(theta) and np.isfinite(se)
            status = OK if ok else "not_converged"
            message = STATUS_CODES[OK] if ok else (
                f"{tier}: the held-out forests predict the price exactly (no residual price "
                "variation)")
            theta, se = (theta, se) if ok else (None, None)
        rows.append({"tier": tier, "method": "dml", "estimate": theta, "std_error": se,
                     "weeks": t["week_start"].n_unique(), "signups": int(t["signups"].sum()),
                     "price_points": t["shown_price"].round(2).n_unique(),
                     "weight_in_combined": None, "hc_type": SCORE, "status": status,
                     "status_message": message})
    df = pl.DataFrame(rows, schema={k: v for k, v in SCHEMA.items()
                                    if k not in ("ci_lower", "ci_upper", "classification")})
    df = df.with_columns(ci_lower=pl.col("estimate") - z * pl.col("std_error"),
                         ci_upper=pl.col("estimate") + z * pl.col("std_error"))
    return df.with_columns(classification=classify(pl.col("ci_lower"), pl.col("ci_upper"))
                           ).select(list(SCHEMA)).cast(SCHEMA)
