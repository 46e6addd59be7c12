"""The parameters of a forecast (what an analyst may change through the Dagster config)."""

from __future__ import annotations

from dataclasses import dataclass, field

from .global_models import GLOBAL_MEMBERS, GlobalSettings

MEMBERS = (*GLOBAL_MEMBERS, "ets")


@dataclass(frozen=True)
class ForecastSettings:
    """``horizon`` days ahead at ``levels``; ``members`` besides seasonal naive (always one);
    ``folds`` backtest origins ``fold_step`` days apart, the first after ``min_train_days``;
    conformal residuals pooled over ``band`` horizons either side; series rules use
    ``window`` and ``max_gap_share``; Holt-Winters on the last ``ets_window`` days."""

    horizon: int = 90
    levels: tuple[float, ...] = (0.8, 0.95)
    members: tuple[str, ...] = MEMBERS
    season: int = 7
    folds: int = 3
    fold_step: int = 14
    min_train_days: int = 56
    band: int = 3
    max_gap_share: float = 0.2
    ets_window: int = 112
    ets_damped: bool = False
    nonnegative: bool = True
    max_stack_cells: int = 20_000
    seed: int = 0
    models: GlobalSettings = field(default_factory=GlobalSettings)

    def __post_init__(self):
        if self.horizon < 1:
            raise ValueError(f"horizon must be >= 1 day, got {self.horizon}")
        if not self.levels or any(not 0 < lv < 1 for lv in self.levels):
            raise ValueError(f"levels must be in (0, 1), got {self.levels}")
        unknown = set(self.members) - set(MEMBERS)
        if unknown:
            raise ValueError(f"unknown members {sorted(unknown)}; known: {MEMBERS} "
                             "(seasonal_naive is always one)")
        if self.folds < 2:
            raise ValueError(f"folds must be >= 2 (intervals are cross-fitted), got {self.folds}")
        if self.fold_step < 1 or self.band < 0:
            raise ValueError("fold_step must be >= 1 and band >= 0")
        if self.min_train_days < self.models.window + self.season:
            raise ValueError(f"min_train_days must be >= window + season = "
                             f"{self.models.window + self.season}, got {self.min_train_days}")
        if not 0 <= self.max_gap_share <= 1:
            raise ValueError(f"max_gap_share must be in [0, 1], got {self.max_gap_share}")
        if self.season != self.models.season:
            raise ValueError("season and models.season must agree")

    def backtest_horizon(self, days: int) -> int:
        """Horizon the backtest can evaluate in a ``days``-long history (< 1: none)."""
        return min(self.horizon, days - self.min_train_days - (self.folds - 1) * self.fold_step)
