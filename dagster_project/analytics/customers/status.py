"""Status codes of the customers tables: why a row carries no statistics.

Every row of analytics.customer_rfm, customer_clusters, customer_clv, customer_clv_segments,
customer_clv_fits, client_churn_risk and client_health has ``status`` and ``status_message``.
Unless ``status`` is ``ok`` the row's scores, probabilities and values are null: degenerate
input never yields a confident number, and never a NaN passed off as a value.
"""

from __future__ import annotations

import polars as pl

STATUS_CODES: dict[str, str] = {
    "ok": "computed; every statistic is reported",
    "no_valid_orders": "every order of the customer has revenue <= 0 (refunds, test orders): "
                       "not a purchase, nothing to score",
    "single_customer": "the client has one customer with orders: RFM scores rank customers "
                       "within a client, so there is nothing to rank against",
    "no_customers": "no customer has an order with revenue > 0",
    "no_time_variation": "every customer's first order is on the as-of date: the data hold no "
                         "purchase timing for BG/NBD",
    "no_repeat_buyers": "no customer has a repeat purchase: BG/NBD and Gamma-Gamma cannot be "
                        "fitted",
    "not_converged": "the maximum-likelihood fit did not converge (or Gamma-Gamma's q <= 1: "
                     "no mean spend)",
    "no_interval": "no bootstrap draws were asked for: the point estimate only",
    "too_few_customers": "fewer customers than twice the largest k: no clusters",
    "insufficient_history": "fewer than 3 labelled snapshot dates: no train, calibration and "
                            "test period for the churn model",
    "single_class": "a period of the churn model's split has no churner (or only churners)",
    "no_model": "no churn risk for the snapshot, so no health segment",
}


def status_table() -> pl.DataFrame:
    """The codes and their meanings as a frame (for metadata and docs)."""
    return pl.DataFrame({"status": list(STATUS_CODES), "meaning": list(STATUS_CODES.values())})


def status_description() -> str:
    """The ``status`` column description: the codes and what they mean."""
    return "ok, or why the row has no statistics (then they are null): " + "; ".join(
        f"{code}: {meaning}" for code, meaning in STATUS_CODES.items())
