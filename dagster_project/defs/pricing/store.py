"""The approval workflow in the warehouse: ``ops.pricing_proposals``, the audit log, the alert
event and the price history. The rules are ``analytics.pricing.approval``; this module applies
them with writes that are safe when two runs race (PostgreSQL):

- every status change is a conditional update (``... where proposal_id = ? and status = ?
  returning ...``): of two concurrent changes of one proposal exactly one finds the old status,
  the other changes nothing and is refused;
- a review or an implementation holds the tier's advisory lock (``pricing:<tier>``) for its
  transaction and reads the proposal after taking it, so the checks see the committed state;
- an implementation flips the proposal to implemented (conditionally) and appends the price in
  the same transaction: the price is written exactly once or not at all.

Every transition and every refused review is appended to ``audit.audit_log`` (actor, action,
``pricing_proposals/<id>``, the row before and after). No Dagster here: the jobs and the
sensor call these functions, and so does the property-based test.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import polars as pl

from dagster_project.alert_events import alert_event, write_alert_events
from dagster_project.analytics.pricing.approval import (
    DECISIONS,
    PROPOSAL_COLUMNS,
    Review,
    effective_date,
    new_proposals,
    review_errors,
)
from dagster_project.audit import record_audit
from dagster_project.contract import load_contract
from dagster_project.ingest.tables import LINEAGE_COLUMNS
from dagster_project.warehouse import Warehouse, WarehouseSession

PROPOSALS = "ops.pricing_proposals"
PRICES = "raw.plan_prices"
SYSTEM = "system:pricing"
_SQL_TYPES = {pl.String: "varchar", pl.Float64: "double precision", pl.Date: "date"}


def _sql_type(dtype: pl.DataType) -> str:
    return "timestamp" if isinstance(dtype, pl.Datetime) else _SQL_TYPES[dtype]


def ensure_tables(s: WarehouseSession) -> None:
    """ops.pricing_proposals (keyed on proposal_id) and raw.plan_prices, if missing."""
    s.create_table(PROPOSALS, [(c, _sql_type(t) + (" primary key" if c == "proposal_id" else ""))
                               for c, t in PROPOSAL_COLUMNS.items()])
    s.create_table(PRICES, [(c.name, c.sql_type) for c in load_contract()["plan_prices"].columns]
                   + LINEAGE_COLUMNS)


def _object(pid: str) -> str:
    return f"pricing_proposals/{pid}"


def read_proposal(s: WarehouseSession, pid: str) -> dict | None:
    rows = s.read(f"select * from {PROPOSALS} where proposal_id = ?", [pid])
    return rows.row(0, named=True) if rows.height else None


def list_price(s: WarehouseSession, tier: str, at: dt.datetime) -> float | None:
    """The tier's list price in force at ``at`` (the latest price row that started by then)."""
    return s.scalar(f"select monthly_price from {PRICES} where tier = ? and effective_from <= ? "
                    "order by effective_from desc limit 1", [tier, at])


def _transition(s: WarehouseSession, pid: str, before: str, after: str, actor: str,
                sets: dict) -> dict | None:
    """Change ``pid`` from ``before`` to ``after`` (with ``sets``) if it still is ``before``;
    audited; the row after, or None when another writer changed it first."""
    old = read_proposal(s, pid)
    assignments = ", ".join(["status = ?", *(f"{c} = ?" for c in sets)])
    changed = s.scalar(f"update {PROPOSALS} set {assignments} where proposal_id = ? and "
                       "status = ? returning proposal_id", [after, *sets.values(), pid, before])
    if changed is None:
        return None
    new = read_proposal(s, pid)
    record_audit(s, actor, f"pricing_proposal.{after}", _object(pid), old, new)
    return new


def expire_overdue(s: WarehouseSession, now: dt.datetime, actor: str = SYSTEM) -> list[str]:
    """Mark the pending proposals whose expires_at has passed as expired; their ids."""
    due = s.read(f"select proposal_id from {PROPOSALS} where status = 'pending' and "
                 "expires_at <= ? order by proposal_id", [now])["proposal_id"].to_list()
    return [pid for pid in due if _transition(s, pid, "pending", "expired", actor, {})]


@dataclass(frozen=True)
class SyncResult:
    created: list[str]
    superseded: list[str]
    expired: list[str]
    unchanged: list[str]  # recommendations that already have their proposal


def sync_proposals(warehouse: Warehouse, recommendations: pl.DataFrame, expiry_days: int,
                   now: dt.datetime | None = None, actor: str = SYSTEM) -> SyncResult:
    """Expire overdue proposals, then add a pending proposal for every price-changing
    recommendation that has none (its id follows from the recommendation's, and it is the
    table's key: the same recommendation never makes two), superseding the tier's older
    pending ones. One transaction."""
    with warehouse.session() as s:
        ensure_tables(s)
        now = now or s.clock()
        fresh = new_proposals(recommendations, now, expiry_days)
        # every tier lock before the first audit entry, whose lock is held to commit: a review
        # takes its tier's lock, then the audit lock, so this order cannot deadlock with it
        for tier in sorted(set(fresh["tier"])):
            s.lock(f"pricing:{tier}")
        expired = expire_overdue(s, now, actor)
        created, superseded, unchanged = [], [], []
        for row in fresh.iter_rows(named=True):
            pid = row["proposal_id"]
            if read_proposal(s, pid) is not None:
                unchanged.append(pid)
                continue
            s.write(PROPOSALS, pl.DataFrame([row], schema=PROPOSAL_COLUMNS), mode="append")
            record_audit(s, actor, "pricing_proposal.pending", _object(pid), None,
                         read_proposal(s, pid))
            created.append(pid)
            older = s.read(f"select proposal_id from {PROPOSALS} where tier = ? and status = "
                           "'pending' and proposal_id <> ? order by proposal_id",
                           [row["tier"], pid])["proposal_id"].to_list()
            superseded += [o for o in older if _transition(
                s, o, "pending", "superseded", actor, {"superseded_by": pid})]
    return SyncResult(created, superseded, expired, unchanged)


@dataclass(frozen=True)
class ReviewOutcome:
    accepted: bool
    message: str
    proposal: dict | None  # the row after the decision (or as it was, when refused)


def _waiting(s: WarehouseSession, tier: str, pid: str) -> str | None:
    return s.scalar(f"select proposal_id from {PROPOSALS} where tier = ? and status = "
                    "'approved' and proposal_id <> ? order by proposal_id limit 1", [tier, pid])


def review_proposal(warehouse: Warehouse, review: Review, admins: list[str], notice_days: int,
                    now: dt.datetime | None = None) -> ReviewOutcome:
    """Decide a proposal, or refuse with the reasons; either way one audit entry. An approval
    sets the effective date (decision date + notice_days) and writes the alert event that
    announces the change."""
    with warehouse.session() as s:
        ensure_tables(s)
        now = now or s.clock()
        proposal = read_proposal(s, review.proposal_id)
        if proposal is not None:
            s.lock(f"pricing:{proposal['tier']}")
            proposal = read_proposal(s, review.proposal_id)  # committed state, under the lock
        price = list_price(s, proposal["tier"], now) if proposal else None
        waiting = _waiting(s, proposal["tier"], review.proposal_id) if proposal else None
        errors = review_errors(review, proposal, admins, now, price, waiting)
        after = None
        if not errors:
            target = DECISIONS[review.decision]
            sets = {"decided_at": now, "reviewer": review.reviewer,
                    "review_notes": review.notes or None}
            if target == "approved":
                sets["effective_date"] = effective_date(now, notice_days)
            after = _transition(s, review.proposal_id, "pending", target, review.reviewer, sets)
            if after is None:
                errors = [f"proposal {review.proposal_id} was decided by another review first"]
        if errors:
            message = "; ".join(errors)
            record_audit(s, review.reviewer or "(none)", "pricing_proposal.review_refused",
                         _object(review.proposal_id), proposal,
                         {"decision": review.decision, "notes": review.notes, "refused": message})
            return ReviewOutcome(False, message, proposal)
        if after["status"] == "approved":
            write_alert_events(s, [price_change_event(after)])
        return ReviewOutcome(True, f"proposal {review.proposal_id} {after['status']}", after)


def price_change_event(p: dict) -> dict:
    """The alert announcing an approved list price change (delivered by the alerting work)."""
    return alert_event(
        p["decided_at"], "pricing", "info", p["tier"],
        f"{p['tier']} list price changes from {p['current_price']:.2f} to "
        f"{p['proposed_price']:.2f} on {p['effective_date']}",
        {"proposal_id": p["proposal_id"], "tier": p["tier"], "old_price": p["current_price"],
         "new_price": p["proposed_price"], "effective_date": p["effective_date"],
         "reviewer": p["reviewer"], "notes": p["review_notes"]})


def apply_due(warehouse: Warehouse, now: dt.datetime | None = None, actor: str = SYSTEM
              ) -> list[str]:
    """Implement every approved proposal whose effective date has come: the proposal becomes
    implemented and its price is appended to raw.plan_prices (source approved_proposal,
    effective from the effective date) in one transaction each. A rerun finds nothing due."""
    with warehouse.session() as s:
        ensure_tables(s)
        now = now or s.clock()
        expire_overdue(s, now, actor)
        due = s.read(f"select proposal_id from {PROPOSALS} where status = 'approved' and "
                     "effective_date <= ? order by effective_date, proposal_id",
                     [now.date()])["proposal_id"].to_list()
    applied = []
    for pid in due:
        with warehouse.session() as s:
            tier = read_proposal(s, pid)["tier"]
            s.lock(f"pricing:{tier}")
            after = _transition(s, pid, "approved", "implemented", actor, {"implemented_at": now})
            if after is None:
                continue  # implemented by a concurrent run
            start = dt.datetime.combine(after["effective_date"], dt.time())
            if s.scalar(f"select count(*) from {PRICES} where tier = ? and effective_from = ?",
                        [tier, start]):
                raise ValueError(f"{PRICES} already has a {tier} price from {start}: proposal "
                                 f"{pid} is not applied")
            s.write(PRICES, pl.DataFrame({
                "tier": [tier], "monthly_price": [after["proposed_price"]],
                "effective_from": [start], "effective_to": [None], "source": ["approved_proposal"],
                "_source_file": [_object(pid)], "_source_row": [1], "_loaded_at": [now]},
                schema={"tier": pl.String, "monthly_price": pl.Float64,
                        "effective_from": pl.Datetime("us"), "effective_to": pl.Datetime("us"),
                        "source": pl.String, "_source_file": pl.String, "_source_row": pl.Int64,
                        "_loaded_at": pl.Datetime("us")}), mode="append")
            applied.append(pid)
    return applied
