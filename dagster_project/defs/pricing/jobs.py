"""The approval workflow's jobs: proposals from recommendations (started by the sensor), the
admin's review (launched from the Launchpad) and the daily implementation of approved prices."""

import dagster as dg
from pydantic import Field

from dagster_project.analytics.pricing.approval import (
    DEFAULT_EXPIRY_DAYS,
    DEFAULT_NOTICE_DAYS,
    Review,
)
from dagster_project.defs.dbt.relation_metadata import TABLE_NAME
from dagster_project.defs.pricing import store
from dagster_project.domains import domain
from dagster_project.settings import get_settings
from dagster_project.warehouse import Warehouse

# Written by the jobs below, not by an asset; declared so that reporting.rpt_pricing_proposals
# (its dbt source) shows where its rows come from.
pricing_proposals_table = dg.AssetSpec(
    ["ops", "pricing_proposals"], group_name="pricing", owners=domain("pricing").owners,
    kinds={"table", get_settings().warehouse_backend}, metadata={TABLE_NAME: store.PROPOSALS},
    description="The pricing approval workflow's state, one row per proposal (pending, "
    "approved, rejected, superseded, expired, implemented): written by the propose_prices, "
    "review_pricing_proposal and apply_approved_prices jobs, not materialized by a run.")


class ProposeConfig(dg.Config):
    expiry_days: int = Field(default=DEFAULT_EXPIRY_DAYS, ge=1, description="Days a pending "
                             "proposal waits for a decision before it expires.")


@dg.op
def write_pricing_proposals(context: dg.OpExecutionContext, config: ProposeConfig,
                            warehouse: Warehouse) -> None:
    """Expire overdue proposals; add a pending proposal per new price-changing recommendation
    (idempotent: one per recommendation), superseding the tier's older pending ones."""
    recs = warehouse.read("select * from analytics.price_recommendations")
    res = store.sync_proposals(warehouse, recs, config.expiry_days)
    context.log.info(f"proposals: {len(res.created)} created, {len(res.superseded)} superseded, "
                     f"{len(res.expired)} expired, {len(res.unchanged)} already proposed")
    context.add_output_metadata({"created": ", ".join(res.created) or "none",
                                 "superseded": ", ".join(res.superseded) or "none",
                                 "expired": ", ".join(res.expired) or "none",
                                 "already_proposed": ", ".join(res.unchanged) or "none"})


@dg.job(description="Write ops.pricing_proposals from analytics.price_recommendations: a "
        "pending proposal per price-changing recommendation (never two for one), newer ones "
        "superseding older pending ones, overdue ones expired. Started by "
        "pricing_proposals_sensor.")
def propose_prices():
    write_pricing_proposals()


class ReviewConfig(dg.Config):
    """An admin's decision on one pricing proposal (ops.pricing_proposals)."""

    proposal_id: str = Field(description="The proposal to decide (pp-...).")
    decision: str = Field(description="approve or reject.")
    reviewer: str = Field(description="Who decides; must be in the admin list "
                          "(BI_PRICING_ADMINS).")
    notes: str = Field(default="", description="Why; required to reject.")
    notice_days: int = Field(default=DEFAULT_NOTICE_DAYS, ge=0, description="Days from the "
                             "decision to the new price's effective date (the notice period).")


@dg.op
def review_pricing_proposal_op(context: dg.OpExecutionContext, config: ReviewConfig,
                               warehouse: Warehouse) -> None:
    """Approve or reject the proposal; refused (with the reasons, and an audit entry) when the
    rules forbid it. An approval sets the effective date and announces the change."""
    outcome = store.review_proposal(
        warehouse, Review(config.proposal_id.strip(), config.decision.strip().lower(),
                          config.reviewer.strip(), config.notes),
        list(get_settings().pricing_admins), config.notice_days)
    if not outcome.accepted:
        raise dg.Failure(description=f"review of {config.proposal_id!r} refused: "
                         f"{outcome.message}")
    p = outcome.proposal
    context.log.info(outcome.message)
    context.add_output_metadata({"proposal_id": p["proposal_id"], "status": p["status"],
                                 "tier": p["tier"], "proposed_price": p["proposed_price"],
                                 "effective_date": str(p["effective_date"] or "")})


# the Launchpad opens with this config: fill in the proposal and the reviewer (left empty, so
# launching it unedited is refused, and the refusal audited)
REVIEW_LAUNCHPAD = {"ops": {"review_pricing_proposal_op": {"config": {
    "proposal_id": "", "decision": "approve", "reviewer": "", "notes": "",
    "notice_days": DEFAULT_NOTICE_DAYS}}}}


@dg.job(config=REVIEW_LAUNCHPAD,
        description="An admin approves or rejects a pricing proposal. Config (Launchpad): "
        "ops: {review_pricing_proposal_op: {config: {proposal_id, decision: approve|reject, "
        "reviewer, notes (required to reject), notice_days (30)}}}. Only pending proposals can "
        "be decided, once; every decision and refusal goes to audit.audit_log; an approval takes "
        "effect notice_days after the decision and writes an alert event announcing it.")
def review_pricing_proposal():
    review_pricing_proposal_op()


@dg.op
def apply_approved_prices_op(context: dg.OpExecutionContext, warehouse: Warehouse) -> None:
    """Append the price of every approved proposal whose effective date has come to the price
    history (raw.plan_prices, source approved_proposal), exactly once."""
    applied = store.apply_due(warehouse)
    context.log.info(f"{len(applied)} approved price(s) applied")
    context.add_output_metadata({"applied": ", ".join(applied) or "none"})


@dg.job(description="Daily: implement the approved pricing proposals whose effective date has "
        "come (raw.plan_prices gets the new price with source approved_proposal; the marts show "
        "it after the next dbt build). A rerun changes nothing.")
def apply_approved_prices():
    apply_approved_prices_op()


apply_approved_prices_schedule = dg.ScheduleDefinition(
    job=apply_approved_prices, cron_schedule="30 0 * * *", execution_timezone="UTC",
    default_status=dg.DefaultScheduleStatus.RUNNING)
