"""The rules of the price-change approval workflow: which proposals exist, who may decide them,
which transitions are allowed, and when an approved price takes effect. Pure: the warehouse side
(conditional updates, the audit log, the price history) is ``defs/pricing/store.py``.

A proposal comes from a recommendation that changes a price (action ``increase``, status ok);
its id follows from the recommendation's, so the same recommendation never makes two. Statuses:

    pending --approve--> approved --(effective date reached)--> implemented
    pending --reject--> rejected
    pending --(a newer recommendation for the tier)--> superseded
    pending --(expires_at passed)--> expired

Nothing else: rejected, superseded, expired and implemented are final, and a decision on a
proposal that is not pending is refused with the reason. A review is refused, naming what is
wrong, when the proposal id is unknown, the decision is not approve or reject, the reviewer is
not an admin, a rejection has no notes, the proposal is not pending or is past its expiry, its
current price is no longer the tier's list price (the recommendation is stale), or (to approve)
the tier already has an approved price waiting for its effective date. An approval takes effect
on the decision's date plus the notice period.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import polars as pl

STATUSES = ("pending", "approved", "rejected", "superseded", "expired", "implemented")
TRANSITIONS: dict[str, tuple[str, ...]] = {
    "pending": ("approved", "rejected", "superseded", "expired"),
    "approved": ("implemented",),
}
DECISIONS = {"approve": "approved", "reject": "rejected"}
DEFAULT_NOTICE_DAYS = 30
DEFAULT_EXPIRY_DAYS = 14


def allowed(before: str, after: str) -> bool:
    return after in TRANSITIONS.get(before, ())


def proposal_id(recommendation_id: str) -> str:
    return "pp-" + recommendation_id.removeprefix("rec-")


def effective_date(decided_at: dt.datetime, notice_days: int) -> dt.date:
    """The decision's (UTC) date plus the notice period."""
    if notice_days < 0:
        raise ValueError(f"notice_days must be >= 0, got {notice_days}")
    return decided_at.date() + dt.timedelta(days=notice_days)


@dataclass(frozen=True)
class Review:
    proposal_id: str
    decision: str
    reviewer: str
    notes: str = ""


def review_errors(review: Review, proposal: dict | None, admins: list[str], now: dt.datetime,
                  list_price: float | None, waiting_approval: str | None) -> list[str]:
    """Why ``review`` of ``proposal`` (its row, None when the id is unknown) must be refused
    (empty: allowed). ``list_price``: the tier's list price in force; ``waiting_approval``: the
    id of another approved, not yet implemented proposal of the tier, if any."""
    errors = []
    if proposal is None:
        errors.append(f"unknown proposal id {review.proposal_id!r}")
    if review.decision not in DECISIONS:
        errors.append(f"decision must be 'approve' or 'reject', got {review.decision!r}")
    if not admins:
        errors.append("no pricing admins are configured (BI_PRICING_ADMINS): nobody may review")
    elif review.reviewer not in admins:
        errors.append(f"reviewer {review.reviewer!r} is not in the pricing admin list")
    if review.decision == "reject" and not review.notes.strip():
        errors.append("a rejection needs notes saying why")
    if proposal is None:
        return errors
    status = proposal["status"]
    if status != "pending":
        if status == "superseded":
            errors.append(f"proposal {review.proposal_id} was superseded by "
                          f"{proposal['superseded_by']} and cannot be decided")
        elif status == "expired":
            errors.append(f"proposal {review.proposal_id} expired at {proposal['expires_at']} "
                          "and cannot be decided")
        else:
            errors.append(f"proposal {review.proposal_id} was already {status} by "
                          f"{proposal['reviewer']} at {proposal['decided_at']}: a second "
                          "decision is refused")
        return errors
    if proposal["expires_at"] <= now:
        errors.append(f"proposal {review.proposal_id} expired at {proposal['expires_at']} "
                      "(not yet marked) and cannot be decided")
    if list_price is None or abs(list_price - proposal["current_price"]) > 0.005:
        errors.append(f"proposal {review.proposal_id} was computed against a list price of "
                      f"{proposal['current_price']:.2f}; the {proposal['tier']} list price is now "
                      f"{'unknown' if list_price is None else f'{list_price:.2f}'} (stale)")
    if review.decision == "approve" and waiting_approval is not None:
        errors.append(f"the {proposal['tier']} tier already has approved proposal "
                      f"{waiting_approval} waiting for its effective date")
    return errors


PROPOSAL_COLUMNS = {
    "proposal_id": pl.String, "recommendation_id": pl.String, "tier": pl.String,
    "action": pl.String, "current_price": pl.Float64, "proposed_price": pl.Float64,
    "price_change_pct": pl.Float64, "expected_revenue_change": pl.Float64,
    "revenue_change_ci_lower": pl.Float64, "revenue_change_ci_upper": pl.Float64,
    "churn_risk_change": pl.Float64, "confidence": pl.Float64, "risk_level": pl.String,
    "reasoning": pl.String, "recommendation_as_of": pl.Date, "status": pl.String,
    "created_at": pl.Datetime("us"), "expires_at": pl.Datetime("us"),
    "superseded_by": pl.String, "decided_at": pl.Datetime("us"), "reviewer": pl.String,
    "review_notes": pl.String, "effective_date": pl.Date, "implemented_at": pl.Datetime("us"),
}


def new_proposals(recommendations: pl.DataFrame, now: dt.datetime, expiry_days: int
                  ) -> pl.DataFrame:
    """Pending proposal rows for the recommendations that change a price (action increase,
    status ok), expiring ``expiry_days`` after ``now``."""
    if expiry_days < 1:
        raise ValueError(f"expiry_days must be >= 1, got {expiry_days}")
    changes = recommendations.filter((pl.col("status") == "ok") & (pl.col("action") == "increase"))
    return changes.select(
        proposal_id=pl.lit("pp-") + pl.col("recommendation_id").str.strip_prefix("rec-"),
        recommendation_id="recommendation_id", tier="tier", action="action",
        current_price="current_price", proposed_price="suggested_price",
        price_change_pct="price_change_pct", expected_revenue_change="expected_revenue_change",
        revenue_change_ci_lower="revenue_change_ci_lower",
        revenue_change_ci_upper="revenue_change_ci_upper",
        churn_risk_change="churn_risk_change", confidence="confidence",
        risk_level="risk_level", reasoning="reasoning", recommendation_as_of="as_of_date",
        status=pl.lit("pending"), created_at=pl.lit(now, pl.Datetime("us")),
        expires_at=pl.lit(now + dt.timedelta(days=expiry_days), pl.Datetime("us")),
        superseded_by=pl.lit(None, pl.String), decided_at=pl.lit(None, pl.Datetime("us")),
        reviewer=pl.lit(None, pl.String), review_notes=pl.lit(None, pl.String),
        effective_date=pl.lit(None, pl.Date), implemented_at=pl.lit(None, pl.Datetime("us")),
    ).cast(PROPOSAL_COLUMNS).sort("tier")
