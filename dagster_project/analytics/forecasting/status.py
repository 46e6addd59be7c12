"""Status codes of the forecasting tables: why a row carries no forecast.

Every row of analytics.revenue_forecast, mrr_forecast, capacity_forecast and forecast_backtest
has ``status`` and ``status_message``. Unless ``status`` is ``ok`` the row's forecast, interval,
coverage, probability and scores are null: a degenerate series never yields a confident number,
and never a NaN passed off as a value. The series rules are checked in the order listed; the
first that applies is reported.
"""

from __future__ import annotations

import polars as pl

OK = "ok"

STATUS_CODES: dict[str, str] = {
    OK: "computed; every value is reported",
    "insufficient_history": "the history is too short for a rolling-origin backtest "
                            "(min_train_days + (folds - 1) x fold_step + 1 days): no member can "
                            "be weighed and no interval calibrated, so no forecast",
    "too_short": "the series has fewer than two seasonal periods of history: neither the "
                 "seasonal naive forecast's scale nor any member can be estimated",
    "all_zeros": "every value of the series is 0: no scale, no forecast",
    "inactive": "no nonzero value in the last `window` days although earlier values were "
                "nonzero (e.g. a client that churned mid-history): no forecast",
    "constant": "the series does not vary from one season to the next (seasonal naive "
                "in-sample MAE 0): MASE and intervals are undefined",
    "too_many_gaps": "more than max_gap_share of the last 2 x window days were missing and "
                     "imputed (level series)",
    "too_few_residuals": "fewer backtest residuals at this horizon than the interval level "
                         "needs ((n + 1) x level > n): no calibrated interval",
    "uncalibrated_horizon": "no backtest residual at this horizon (capacity): interval and "
                            "crossing probability are null; the point forecast and crossing "
                            "date are the trend model's",
    "no_series": "no series of this member was evaluated in this fold",
}


def status_table() -> pl.DataFrame:
    """The codes and their meanings as a frame (for metadata and docs)."""
    return pl.DataFrame({"status": list(STATUS_CODES), "meaning": list(STATUS_CODES.values())})


def status_description() -> str:
    """The ``status`` column description: the codes and what they mean."""
    return "ok, or why the row has no forecast (then its values are null): " + "; ".join(
        f"{code}: {meaning}" for code, meaning in STATUS_CODES.items())
