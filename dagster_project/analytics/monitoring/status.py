"""Status codes of ``analytics.metric_anomalies``: why a series carries no score.

Flagged points have status ``ok`` and every statistic (expected, score). A series that cannot be
scored over the scored period gets one row, at its last time, with the first cause below (in
precedence order), its value and null ``expected``, ``score`` and ``pattern``: degenerate input
never yields a confident number. Same contract as ``analytics/experiments/status.py``.
"""

from __future__ import annotations

import polars as pl

from ..experiments.status import OK

STATUS_CODES: dict[str, str] = {
    OK: "scored; the point is flagged (score at or above the threshold)",
    "no_data": "every value of the series is null (gaps only)",
    "constant_series": "the series does not vary over its history (median and mean absolute "
                       "deviation both 0): no tail probability can be computed",
    "intermittent_series": "more than half of the series' recent steps are 0 (e.g. a "
                           "client's daily revenue): median and MAD would flag every active "
                           "step",
    "insufficient_history": "no point of the series had enough history: fewer earlier "
                            "seasonal periods or residuals than the baseline needs, and (hourly "
                            "and finer series) fewer than the short-history fallback's 7 "
                            "earlier days",
}


def status_table() -> pl.DataFrame:
    """The codes and their meanings as a frame (for metadata and docs)."""
    return pl.DataFrame({"status": list(STATUS_CODES), "meaning": list(STATUS_CODES.values())})
