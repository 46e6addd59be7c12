"""Daily series as a dense panel: one row per series, one column per day.

The rules for imperfect input, applied here once for every forecast:

- **Flows** (``fill="zero"``, e.g. daily revenue from ``marts.fct_revenue_daily``, which lists
  only the days with orders): a missing day after the series' first observation is a day
  with nothing, i.e. 0. Nothing is flagged as imputed.
- **Levels** (``fill="interpolate"``, e.g. MRR or CPU utilisation): a missing day between two
  observations is linearly interpolated, missing days after the last observation carry it
  forward; both are flagged in ``imputed`` (the series rules in ``series_status`` reject a
  series with too many of them).
- Duplicate (series, day) rows are summed for flows and averaged for levels.
- Before a series' first observation its cells are NaN: the series did not exist yet.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Literal

import numpy as np
import polars as pl

Fill = Literal["zero", "interpolate"]


@dataclass(frozen=True)
class Panel:
    """``values[i, t]``: series ``ids[i]`` on day ``start + t`` (NaN before its first day)."""

    ids: tuple[str, ...]
    start: dt.date
    values: np.ndarray
    imputed: np.ndarray

    @property
    def days(self) -> int:
        return self.values.shape[1]

    def dates(self) -> list[dt.date]:
        return [self.start + dt.timedelta(days=t) for t in range(self.days)]

    def truncate(self, days: int) -> Panel:
        """The first ``days`` days (what was known at the end of day ``start + days - 1``)."""
        if not 1 <= days <= self.days:
            raise ValueError(f"days must be in [1, {self.days}], got {days}")
        return Panel(self.ids, self.start, self.values[:, :days], self.imputed[:, :days])


def build_panel(df: pl.DataFrame, id_col: str, date_col: str, value_col: str, fill: Fill,
                as_of: dt.date | None = None) -> Panel:
    """A dense panel from long rows ``(id, date, value)``, from the earliest date to ``as_of``
    (default: the latest date); rows after ``as_of`` are ignored."""
    if fill not in ("zero", "interpolate"):
        raise ValueError(f"fill must be 'zero' or 'interpolate', got {fill!r}")
    rows = df.select(pl.col(id_col).cast(pl.String).alias("id"), pl.col(date_col).cast(pl.Date)
                     .alias("day"), pl.col(value_col).cast(pl.Float64).alias("y"))
    rows = rows.drop_nulls()
    if as_of is not None:
        rows = rows.filter(pl.col("day") <= as_of)
    rows = rows.group_by("id", "day").agg(pl.col("y").sum() if fill == "zero" else pl.col("y").mean())
    if rows.height == 0:
        return Panel((), as_of or dt.date(2000, 1, 1), np.zeros((0, 1)), np.zeros((0, 1), bool))
    start = rows["day"].min()
    end = as_of or rows["day"].max()
    ids = tuple(sorted(rows["id"].unique().to_list()))
    code = {s: i for i, s in enumerate(ids)}
    i = rows["id"].replace_strict(code, return_dtype=pl.Int64).to_numpy()
    t = rows.select((pl.col("day") - pl.lit(start)).dt.total_days())["day"].to_numpy()
    observed = np.full((len(ids), (end - start).days + 1), np.nan)
    observed[i, t] = rows["y"].to_numpy()
    values, imputed = _fill(observed, fill)
    return Panel(ids, start, values, imputed)


def _fill(observed: np.ndarray, fill: Fill) -> tuple[np.ndarray, np.ndarray]:
    seen = ~np.isnan(observed)
    n, days = observed.shape
    cols = np.broadcast_to(np.arange(days), (n, days))
    prev = np.maximum.accumulate(np.where(seen, cols, -1), axis=1)  # last observed day so far
    started = prev >= 0
    if fill == "zero":
        return np.where(started, np.nan_to_num(observed), np.nan), np.zeros_like(seen)
    nxt = np.minimum.accumulate(np.where(seen, cols, days)[:, ::-1], axis=1)[:, ::-1]
    rows = np.arange(n)[:, None]
    y_prev = observed[rows, np.clip(prev, 0, None)]
    y_next = observed[rows, np.clip(nxt, None, days - 1)]
    inner = started & (nxt < days)
    frac = np.where(inner, (cols - prev) / np.maximum(nxt - prev, 1), 0.0)
    values = np.where(inner, y_prev + frac * (y_next - y_prev), y_prev)
    values = np.where(seen, observed, np.where(started, values, np.nan))
    return values, started & ~seen
