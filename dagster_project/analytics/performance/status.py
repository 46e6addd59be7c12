"""Status codes and health levels of the performance tables.

``status`` / ``status_message`` say whether a row's statistics could be computed (null unless
``ok``); ``health`` (healthy, warning, critical) is the verdict of the documented rules in
:mod:`.slo`, :mod:`.latency`, :mod:`.generation` and :mod:`.health`.
"""

from __future__ import annotations

import polars as pl

OK = "ok"
HEALTH_LEVELS = ("healthy", "warning", "critical")  # in increasing severity

STATUS_CODES: dict[str, str] = {
    OK: "computed; every statistic is reported",
    "no_requests": "no request in the window: availability and burn rates are undefined",
    "no_data": "no row in the evaluation window",
    "no_baseline": "no row in the baseline window: no latency ratio",
    "no_jobs": "no content-generation job in the window",
}


def status_table() -> pl.DataFrame:
    return pl.DataFrame({"status": list(STATUS_CODES), "meaning": list(STATUS_CODES.values())})
