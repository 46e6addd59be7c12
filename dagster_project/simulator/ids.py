"""Small vectorized helpers: deterministic ids, timestamps and random streams."""

from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl

US_PER_DAY = 86_400_000_000
US_PER_MIN = 60_000_000
EPOCH = dt.date(1970, 1, 1)


def rng(seed: int, stream: int, day: int) -> np.random.Generator:
    """Independent random stream per (seed, component, day); days may start at -1."""
    return np.random.default_rng([seed, stream, day + 10])


def day_us(start: dt.date, day: int) -> int:
    """Microseconds since the epoch at midnight UTC of simulated day ``day``."""
    return ((start - EPOCH).days + day) * US_PER_DAY


def make_ids(prefix: str, nums: np.ndarray, width: int) -> pl.Series:
    s = pl.Series(np.asarray(nums, dtype=np.int64)).cast(pl.String).str.zfill(width)
    return pl.select(pl.concat_str([pl.lit(prefix), s])).to_series()


def ts(us: np.ndarray) -> pl.Series:
    return pl.Series(np.asarray(us, dtype=np.int64)).cast(pl.Datetime("us"))


def pick(values, idx: np.ndarray) -> pl.Series:
    """values[idx] as a polars String series (idx may hold -1 for null)."""
    idx = np.asarray(idx, dtype=np.int64)
    arr = pl.Series(list(values), dtype=pl.String)
    out = arr.gather(np.where(idx < 0, 0, idx))
    if (idx < 0).any():
        out = pl.select(pl.when(pl.Series(idx < 0)).then(None).otherwise(out)).to_series()
    return out


def choice_rows(g: np.random.Generator, probs: np.ndarray) -> np.ndarray:
    """One categorical draw per row of a (n, k) probability matrix."""
    cdf = np.cumsum(probs, axis=1)
    cdf /= cdf[:, -1:]
    u = g.random(len(probs))[:, None]
    return np.minimum((u > cdf).sum(axis=1), probs.shape[1] - 1)
