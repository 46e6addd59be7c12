"""The approval workflow against the real tables, on DuckDB and PostgreSQL: proposals from
recommendations (idempotent, superseding, expiring), the admin review (allowed transitions only,
every refusal named and audited, nothing else written), the implementation of approved prices
(exactly once), and two reviews racing on PostgreSQL."""

from __future__ import annotations

import datetime as dt
import threading

import polars as pl
import pytest

from dagster_project.analytics.pricing.approval import Review, allowed, effective_date
from dagster_project.defs.pricing import store

NOW = dt.datetime(2026, 3, 2, 9, 0)
ADMINS = ["alice@example.com", "bob@example.com"]


def recommendation(tier="starter", current=29.0, suggested=31.9, rid=None, action="increase"):
    return pl.DataFrame({
        "recommendation_id": [rid or f"rec-{tier}-{current}-{suggested}"], "tier": [tier],
        "action": [action], "current_price": [current], "suggested_price": [suggested],
        "price_change_pct": [suggested / current - 1], "expected_revenue_change": [120.0],
        "revenue_change_ci_lower": [40.0], "revenue_change_ci_upper": [200.0],
        "churn_risk_change": [0.002], "confidence": [0.97], "risk_level": ["medium"],
        "reasoning": ["because"], "as_of_date": [dt.date(2026, 2, 28)], "status": ["ok"]})


def seed_prices(warehouse, prices=(("starter", 29.0), ("business", 199.0))):
    with warehouse.session() as s:
        store.ensure_tables(s)
        s.write(store.PRICES, pl.DataFrame({
            "tier": [t for t, _ in prices], "monthly_price": [p for _, p in prices],
            "effective_from": [dt.datetime(2025, 1, 1)] * len(prices),
            "effective_to": [None] * len(prices), "source": ["launch"] * len(prices),
            "_source_file": ["seed"] * len(prices), "_source_row": list(range(len(prices))),
            "_loaded_at": [NOW] * len(prices)},
            schema_overrides={"effective_to": pl.Datetime("us")}), mode="append")


def snapshot(warehouse) -> dict[str, pl.DataFrame]:
    out = {}
    with warehouse.session() as s:
        for t in (store.PROPOSALS, store.PRICES, "audit.audit_log", "analytics.alert_events"):
            out[t] = s.read(f"select * from {t}") if s.table_exists(t) else pl.DataFrame()
    return out


def audit(warehouse) -> pl.DataFrame:
    return warehouse.read("select actor, action, object, cast(before as varchar) as before, "
                          "cast(after as varchar) as after from audit.audit_log order by id")


@pytest.fixture
def wh(any_warehouse):
    if any_warehouse.backend == "postgres":
        from dagster_project.postgres.roles import apply_roles

        apply_roles(any_warehouse.postgres_dsn)  # creates the protected audit log
    seed_prices(any_warehouse)
    return any_warehouse


def test_transition_table_allows_only_decisions_of_pending_and_implementation_of_approved():
    assert allowed("pending", "approved") and allowed("pending", "rejected")
    assert allowed("approved", "implemented")
    for before in ("rejected", "superseded", "expired", "implemented"):
        for after in ("approved", "rejected", "pending", "implemented"):
            assert not allowed(before, after)
    assert effective_date(dt.datetime(2026, 1, 31, 23, 0), 30) == dt.date(2026, 3, 2)


def test_the_same_recommendation_never_makes_two_proposals(wh):
    rec = recommendation()
    first = store.sync_proposals(wh, rec, 14, NOW)
    second = store.sync_proposals(wh, rec, 14, NOW + dt.timedelta(hours=1))
    assert len(first.created) == 1 and second.created == [] and second.unchanged == first.created
    assert wh.scalar("select count(*) from ops.pricing_proposals") == 1


def test_a_hold_or_a_failed_recommendation_makes_no_proposal(wh):
    store.sync_proposals(wh, pl.concat([recommendation(action="hold"),
                                        recommendation(tier="business").with_columns(
                                            status=pl.lit("no_elasticity"))]), 14, NOW)
    assert wh.scalar("select count(*) from ops.pricing_proposals") == 0


def test_a_newer_recommendation_supersedes_the_older_pending_proposal(wh):
    old = store.sync_proposals(wh, recommendation(suggested=31.9), 14, NOW).created[0]
    new = store.sync_proposals(wh, recommendation(suggested=30.9), 14, NOW).created[0]
    rows = wh.read("select proposal_id, status, superseded_by from ops.pricing_proposals")
    states = {r["proposal_id"]: r for r in rows.iter_rows(named=True)}
    assert states[old]["status"] == "superseded" and states[old]["superseded_by"] == new
    assert states[new]["status"] == "pending"
    refused = store.review_proposal(wh, Review(old, "approve", ADMINS[0]), ADMINS, 30, NOW)
    assert not refused.accepted and "superseded by" in refused.message


def test_a_pending_proposal_expires_after_the_configured_days(wh):
    pid = store.sync_proposals(wh, recommendation(), 3, NOW).created[0]
    later = NOW + dt.timedelta(days=3, seconds=1)
    refused = store.review_proposal(wh, Review(pid, "approve", ADMINS[0]), ADMINS, 30, later)
    assert not refused.accepted and "expired" in refused.message
    assert store.sync_proposals(wh, recommendation(tier="business", current=199.0,
                                                   suggested=209.0), 3, later).expired == [pid]
    assert wh.scalar("select status from ops.pricing_proposals where proposal_id = ?",
                     [pid]) == "expired"
    again = store.review_proposal(wh, Review(pid, "approve", ADMINS[0]), ADMINS, 30, later)
    assert "expired at" in again.message
    assert audit(wh).filter(pl.col("action") == "pricing_proposal.expired").height == 1


def test_approval_sets_the_effective_date_audits_and_announces_the_change(wh):
    pid = store.sync_proposals(wh, recommendation(), 14, NOW).created[0]
    out = store.review_proposal(wh, Review(pid, "approve", ADMINS[1], "ok"), ADMINS, 30, NOW)
    assert out.accepted and out.proposal["status"] == "approved"
    assert out.proposal["effective_date"] == dt.date(2026, 4, 1)  # 2026-03-02 + 30 days
    entry = audit(wh).filter(pl.col("action") == "pricing_proposal.approved").row(0, named=True)
    assert entry["actor"] == ADMINS[1] and entry["object"] == f"pricing_proposals/{pid}"
    assert '"pending"' in entry["before"] and '"approved"' in entry["after"]
    event = wh.read("select * from analytics.alert_events").row(0, named=True)
    assert event["source"] == "pricing" and event["entity"] == "starter"
    assert "29.00 to 31.90 on 2026-04-01" in event["title"]


def test_a_second_decision_is_refused_with_a_clear_message(wh):
    pid = store.sync_proposals(wh, recommendation(), 14, NOW).created[0]
    assert store.review_proposal(wh, Review(pid, "reject", ADMINS[0], "too soon"), ADMINS, 30,
                                 NOW).accepted
    again = store.review_proposal(wh, Review(pid, "approve", ADMINS[1]), ADMINS, 30, NOW)
    assert not again.accepted
    assert "already rejected by alice@example.com" in again.message
    assert "second decision is refused" in again.message


@pytest.mark.parametrize(("review", "message"), [
    (Review("pp-nope", "approve", ADMINS[0]), "unknown proposal id 'pp-nope'"),
    (Review("{pid}", "approve", "mallory"), "reviewer 'mallory' is not in the pricing admin list"),
    (Review("{pid}", "accept", ADMINS[0]), "decision must be 'approve' or 'reject', got 'accept'"),
    (Review("{pid}", "reject", ADMINS[0], "  "), "a rejection needs notes"),
])
def test_bad_reviews_are_refused_naming_the_problem_and_only_audited(wh, review, message):
    pid = store.sync_proposals(wh, recommendation(), 14, NOW).created[0]
    review = Review(review.proposal_id.format(pid=pid), review.decision, review.reviewer,
                    review.notes)
    before = snapshot(wh)
    out = store.review_proposal(wh, review, ADMINS, 30, NOW)
    after = snapshot(wh)
    assert not out.accepted and message in out.message
    for table in (store.PROPOSALS, store.PRICES, "analytics.alert_events"):
        assert after[table].equals(before[table]), table
    added = after["audit.audit_log"].height - before["audit.audit_log"].height
    assert added == 1
    assert audit(wh)["action"][-1] == "pricing_proposal.review_refused"


def test_a_proposal_computed_against_an_old_list_price_is_refused_as_stale(wh):
    pid = store.sync_proposals(wh, recommendation(current=27.0, suggested=29.5), 14, NOW).created[0]
    out = store.review_proposal(wh, Review(pid, "approve", ADMINS[0]), ADMINS, 30, NOW)
    assert not out.accepted and "list price is now 29.00 (stale)" in out.message


def test_approved_price_is_applied_once_when_its_effective_date_arrives(wh):
    pid = store.sync_proposals(wh, recommendation(), 14, NOW).created[0]
    store.review_proposal(wh, Review(pid, "approve", ADMINS[0]), ADMINS, 30, NOW)
    assert store.apply_due(wh, NOW + dt.timedelta(days=29)) == []  # not yet
    day = dt.datetime(2026, 4, 1, 0, 30)
    assert store.apply_due(wh, day) == [pid]
    assert store.apply_due(wh, day) == [] and store.apply_due(wh, day + dt.timedelta(days=3)) == []
    rows = wh.read("select * from raw.plan_prices where source = 'approved_proposal'")
    assert rows.height == 1
    row = rows.row(0, named=True)
    assert (row["tier"], row["monthly_price"], row["effective_from"]) == (
        "starter", 31.9, dt.datetime(2026, 4, 1))
    assert row["_source_file"] == f"pricing_proposals/{pid}"
    assert wh.scalar("select status from ops.pricing_proposals") == "implemented"
    with wh.session() as s:
        assert store.list_price(s, "starter", day) == 31.9


def test_a_tier_with_an_approved_price_waiting_cannot_approve_another(wh):
    a = store.sync_proposals(wh, recommendation(suggested=31.9), 14, NOW).created[0]
    store.review_proposal(wh, Review(a, "approve", ADMINS[0]), ADMINS, 30, NOW)
    b = store.sync_proposals(wh, recommendation(suggested=30.9), 14, NOW).created[0]
    out = store.review_proposal(wh, Review(b, "approve", ADMINS[0]), ADMINS, 30, NOW)
    assert not out.accepted and f"already has approved proposal {a}" in out.message


@pytest.mark.postgres
def test_two_reviews_racing_on_postgres_exactly_one_wins(pg_dsn):
    from dagster_project.postgres.roles import apply_roles
    from dagster_project.warehouse import Warehouse

    apply_roles(pg_dsn)
    wh = Warehouse(backend="postgres", postgres_dsn=pg_dsn)
    tiers = ("starter", "professional", "business", "enterprise")
    seed_prices(wh, [(t, 100.0) for t in tiers])
    for round_, tier in enumerate(tiers):  # one tier per round: an approval blocks its tier
        rec = recommendation(tier=tier, current=100.0, suggested=105.0, rid=f"rec-race-{round_}")
        pid = store.sync_proposals(wh, rec, 14, NOW).created[0]
        barrier = threading.Barrier(2)
        outcomes = []

        def decide(decision, reviewer, notes, pid=pid, barrier=barrier, outcomes=outcomes):
            barrier.wait()
            outcomes.append(store.review_proposal(wh, Review(pid, decision, reviewer, notes),
                                                  ADMINS, 30, NOW))

        threads = [threading.Thread(target=decide, args=("approve", ADMINS[0], "")),
                   threading.Thread(target=decide, args=("reject", ADMINS[1], "no"))]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert sorted(o.accepted for o in outcomes) == [False, True]
        loser = next(o for o in outcomes if not o.accepted)
        assert "already" in loser.message or "decided by another review first" in loser.message
        entries = audit(wh).filter(pl.col("object") == f"pricing_proposals/{pid}")
        assert entries.filter(pl.col("action").is_in(
            ["pricing_proposal.approved", "pricing_proposal.rejected"])).height == 1
        assert entries.filter(pl.col("action") == "pricing_proposal.review_refused").height == 1
