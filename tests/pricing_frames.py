"""Small hand-made inputs of the pricing analytics (loaded by path by the pricing tests)."""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
import polars as pl

MONDAY = dt.date(2025, 1, 6)


def weekly_cells(elasticity: dict[str, float], weeks: int = 40, seed: int = 0,
                 change_weeks: tuple[int, ...] = (12, 26), rate: float = 30.0,
                 season_amplitude: float = 0.25, expected: bool = False) -> pl.DataFrame:
    """List-price cells (one per tier x week, seven days of exposure) whose sign-ups are
    Poisson with mean ``rate * season * (p / p_launch) ^ e`` (``expected``: the mean itself).
    Each tier's price rises 10% at the first change week and falls 5% at the second."""
    g = np.random.default_rng(seed)
    rows = []
    for t, (tier, e) in enumerate(sorted(elasticity.items())):
        launch = 30.0 * (t + 1)
        for w in range(weeks):
            start = MONDAY + dt.timedelta(weeks=w)
            price = launch * (1.1 if w >= change_weeks[0] else 1.0) * (
                0.95 if w >= change_weeks[1] else 1.0)
            doy = (start + dt.timedelta(days=3)).timetuple().tm_yday
            season = 1 + season_amplitude * math.cos(2 * math.pi * (doy - 15) / 365.25)
            mu = rate * season * (price / launch) ** e
            rows.append({"week_start": start, "tier": tier, "offer": "list",
                         "price_experiment_id": None, "variant": None, "list_price": price,
                         "shown_price": price, "traffic_share": 1.0, "exposure_days": 7,
                         "exposure": 7.0, "signups": mu if expected else int(g.poisson(mu)),
                         "avg_discount_pct": 5.0, "avg_shown_price": price,
                         "marketing_spend_per_day": 1000.0 * (1 + 0.01 * w)})
    return pl.DataFrame(rows, schema_overrides={"price_experiment_id": pl.String,
                                                "variant": pl.String,
                                                "signups": pl.Float64 if expected else pl.Int64})


def arm_cells(tier: str, counts: list[tuple[int, int]], prices=(30.0, 36.0),
              exposure=(3.5, 3.5)) -> pl.DataFrame:
    """Experiment cells: per week (stratum) the (control, treatment) sign-ups."""
    rows = []
    for w, pair in enumerate(counts):
        for arm, n in enumerate(pair):
            rows.append({"week_start": MONDAY + dt.timedelta(weeks=w), "tier": tier,
                         "offer": f"e1:{('control', 'high')[arm]}", "price_experiment_id": "e1",
                         "variant": ("control", "high")[arm], "list_price": prices[0],
                         "shown_price": prices[arm], "traffic_share": 0.5, "exposure_days": 7,
                         "exposure": exposure[arm], "signups": n, "avg_discount_pct": 0.0,
                         "avg_shown_price": prices[arm], "marketing_spend_per_day": 1000.0})
    return pl.DataFrame(rows)
