"""The series rules: which series get a forecast, and from which members.

Checked on the history up to the forecast origin, in this order (the first that applies is
the series' status, see ``status.STATUS_CODES``):

1. ``too_short``: fewer than 2 x season observed days.
2. ``all_zeros``: every observed value is 0.
3. ``inactive``: no nonzero value in the last ``window`` days (e.g. a client that churned).
4. ``constant``: seasonal naive in-sample MAE 0 (no scale for MASE or intervals).
5. ``too_many_gaps``: more than ``max_gap_share`` of the last 2 x window days were imputed.

A series that passes is forecast by the ensemble when it has at least ``window`` observed days
(what the global members and Holt-Winters need), otherwise by seasonal naive alone (its
``method`` is then ``seasonal_naive``, with seasonal naive's own calibrated intervals).
"""

from __future__ import annotations

import numpy as np

from .metrics import seasonal_scale
from .status import OK, STATUS_CODES

ENSEMBLE, FALLBACK = "ensemble", "seasonal_naive"


def series_status(history: np.ndarray, imputed: np.ndarray, season: int, window: int,
                  max_gap_share: float) -> tuple[np.ndarray, np.ndarray]:
    """``(status, method)`` per series (object arrays)."""
    seen = ~np.isnan(history)
    n_obs = seen.sum(axis=1)
    nonzero = seen & (np.nan_to_num(history) != 0)
    recent_nonzero = nonzero[:, -window:].any(axis=1)
    scale = seasonal_scale(history, season)
    gap_share = imputed[:, -2 * window:].mean(axis=1) if history.shape[1] else np.zeros(0)
    checks = [
        ("too_short", n_obs < 2 * season),
        ("all_zeros", ~nonzero.any(axis=1)),
        ("inactive", ~recent_nonzero),
        ("constant", ~(np.nan_to_num(scale) > 0)),
        ("too_many_gaps", gap_share > max_gap_share),
    ]
    status = np.full(history.shape[0], OK, dtype=object)
    for code, cond in reversed(checks):  # the first rule that applies wins
        assert code in STATUS_CODES
        status = np.where(cond, code, status)
    method = np.where(n_obs >= window, ENSEMBLE, FALLBACK).astype(object)
    return status, method
