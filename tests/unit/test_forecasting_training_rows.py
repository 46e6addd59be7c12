"""The global members' training rows: the sample drawn without listing every candidate equals
the sample drawn from the full list (series x origins x horizons, filtered), the way the
rows were first built; random panels with gaps, late starts and zero levels."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from dagster_project.analytics.forecasting.features import OriginStats, Rows, training_rows


def listed_training_rows(stats: OriginStats, horizon: int, stride: int, max_rows: int,
                         rng: np.random.Generator) -> Rows:
    """The reference: every candidate triple listed, filtered, then sampled."""
    n, days = stats.level.shape
    origins = np.arange(days - 2, -1, -stride)
    s, o, h = (a.ravel() for a in np.meshgrid(np.arange(n), origins, np.arange(1, horizon + 1),
                                               indexing="ij"))
    keep = o + h <= days - 1
    s, o, h = s[keep], o[keep], h[keep]
    keep = stats.usable()[s, o]
    s, o, h = s[keep], o[keep], h[keep]
    if s.size > max_rows:
        pick = np.sort(rng.choice(s.size, size=max_rows, replace=False))
        s, o, h = s[pick], o[pick], h[pick]
    return stats.rows(s, o, h, with_target=True)


def panel(seed: int, n: int, days: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    history = rng.gamma(2.0, 10.0, size=(n, days))
    history[rng.random((n, days)) < 0.3] = 0.0
    history[rng.random(n) < 0.2] = 0.0  # series with a zero level: never usable
    starts = rng.integers(0, days, n)
    history[np.arange(days)[None, :] < starts[:, None]] = np.nan
    return history


@settings(max_examples=150, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(1, 12), days=st.integers(2, 90),
       horizon=st.integers(1, 40), stride=st.integers(1, 9), max_rows=st.integers(1, 3000))
def test_sampled_rows_equal_the_rows_sampled_from_the_full_list(seed, n, days, horizon, stride,
                                                                 max_rows):
    stats = OriginStats.of(panel(seed, n, days), 14, 7, seed % 7)
    got = training_rows(stats, horizon, stride, max_rows, np.random.default_rng(seed))
    want = listed_training_rows(stats, horizon, stride, max_rows, np.random.default_rng(seed))
    np.testing.assert_array_equal(got.series, want.series)
    np.testing.assert_array_equal(got.target_index, want.target_index)
    np.testing.assert_array_equal(got.x, want.x)
    np.testing.assert_array_equal(got.y, want.y)


def test_a_large_panel_is_sampled_to_max_rows_from_usable_origins_only():
    stats = OriginStats.of(panel(3, 400, 200), 28, 7, 0)
    rows = training_rows(stats, 90, 3, 5_000, np.random.default_rng(0))
    origin = rows.target_index - rows.x[:, 9].astype(int)  # FEATURES[9] is the horizon
    assert rows.y.size == 5_000
    assert stats.usable()[rows.series, origin].all()
    assert (rows.target_index <= 199).all() and ((200 - 2 - origin) % 3 == 0).all()
