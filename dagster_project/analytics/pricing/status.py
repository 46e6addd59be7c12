"""Status codes of the pricing tables: why a row carries no statistics.

Every row of ``analytics.price_elasticity``, ``price_demand_model``, ``price_simulations``,
``competitive_position`` and ``price_recommendations`` has ``status`` and ``status_message``.
Unless ``status`` is ``ok`` the row's estimates, intervals, forecasts and scores are null:
degenerate input never yields a confident number. A row reports the first cause in the order
of :data:`STATUS_CODES`.
"""

from __future__ import annotations

import polars as pl

OK = "ok"

STATUS_CODES: dict[str, str] = {
    OK: "computed; every statistic is reported",
    "no_signups": "no sign-up in the cells the method uses (or in one of an experiment's arms): "
                  "a log-linear demand cannot be fitted",
    "too_few_weeks": "fewer weeks with the offer shown than min_weeks",
    "no_price_variation": "a single shown price in the method's cells: the price effect is not "
                          "identified",
    "no_experiment": "no pricing-experiment arm was shown for the tier",
    "too_few_cells": "fewer demand cells than the cross-fitting folds need (two per fold)",
    "not_converged": "the fit did not converge or its design is rank deficient (the price is "
                     "collinear with the controls)",
    "no_estimate": "neither the observational nor the experiment estimate is ok",
    "no_list_price": "the tier has no list price in force",
    "no_competitors": "no competitor plan is mapped to the tier",
    "no_elasticity": "the tier's combined elasticity is not ok: no price suggestion",
    "no_holdout": "too few weeks to hold out the last holdout_weeks and still train",
}


def status_table() -> pl.DataFrame:
    """The codes and their meanings as a frame (for metadata and docs)."""
    return pl.DataFrame({"status": list(STATUS_CODES), "meaning": list(STATUS_CODES.values())})


def status_description() -> str:
    """The ``status`` column description: the codes and what they mean."""
    return "ok, or why the row has no statistics (then they are null): " + "; ".join(
        f"{code}: {meaning}" for code, meaning in STATUS_CODES.items())
