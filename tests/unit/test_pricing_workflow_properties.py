"""Property-based test of the approval workflow (hypothesis): at least 1,000 random sequences of
recommend / review / advance the clock / expire / apply / rerun against the real tables
(ops.pricing_proposals, raw.plan_prices, audit.audit_log; DuckDB, and fewer on PostgreSQL), after
each of which:

- no price changes without an approved proposal: every approved_proposal price row belongs to
  an implemented proposal whose approval by an admin is in the audit log;
- none changes twice: one price row per implemented proposal, and never two rows per tier and
  effective date;
- every decision is in the audit log: one approved or rejected entry per decided proposal, one
  review_refused entry per refused review, and every audited transition is an allowed one.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dagster_project.analytics.pricing.approval import Review, allowed
from dagster_project.defs.pricing import store

ADMINS = ["alice", "bob"]
REVIEWERS = [*ADMINS, "mallory"]
TIERS = ("starter", "business")
START = dt.datetime(2026, 1, 5, 9, 0)

recommend = st.tuples(st.just("recommend"), st.sampled_from(TIERS),
                      st.sampled_from([0.02, 0.05, 0.1]), st.booleans())
review = st.tuples(st.just("review"), st.integers(0, 6),
                   st.sampled_from(["approve", "approve", "reject", "accept"]),
                   st.sampled_from(REVIEWERS), st.sampled_from(["", "why not"]),
                   st.integers(0, 3))
advance = st.tuples(st.just("advance"), st.integers(1, 4))
other = st.tuples(st.sampled_from(["apply", "expire", "rerun"]))
operations = st.lists(st.one_of(recommend, review, advance, other), min_size=1, max_size=12)


def recommendation(tier: str, current: float, suggested: float, now: dt.datetime) -> pl.DataFrame:
    return pl.DataFrame({
        "recommendation_id": [f"rec-{tier}-{current:.2f}-{suggested:.2f}"],
        "tier": [tier], "action": ["increase"], "current_price": [current],
        "suggested_price": [suggested], "price_change_pct": [suggested / current - 1],
        "expected_revenue_change": [1.0], "revenue_change_ci_lower": [0.5],
        "revenue_change_ci_upper": [2.0], "churn_risk_change": [0.001], "confidence": [0.99],
        "risk_level": ["low"], "reasoning": ["r"], "as_of_date": [now.date()], "status": ["ok"]})


NO_RECOMMENDATION = recommendation("starter", 1.0, 1.0, START).clear()


def reset(warehouse) -> int:
    """Empty the proposals and the price history and seed the launch prices; the audit log's
    last id (it is append-only: each sequence checks the entries after it)."""
    with warehouse.session() as s:
        store.ensure_tables(s)
        for table in (store.PROPOSALS, store.PRICES):
            s.execute(f"delete from {table}")
        last = s.scalar("select max(id) from audit.audit_log") if s.table_exists(
            "audit.audit_log") else None
        s.write(store.PRICES, pl.DataFrame({
            "tier": list(TIERS), "monthly_price": [29.0, 199.0],
            "effective_from": [dt.datetime(2025, 1, 1)] * 2, "effective_to": [None, None],
            "source": ["launch", "launch"], "_source_file": ["seed", "seed"],
            "_source_row": [0, 1], "_loaded_at": [START, START]},
            schema_overrides={"effective_to": pl.Datetime("us")}), mode="append")
    return last or 0


def run(warehouse, ops) -> int:
    """Apply ``ops``; the number of refused reviews."""
    now, refused, last = START, 0, None
    for op in ops:
        if op[0] == "rerun" and last is not None:
            op = last
        kind = op[0]
        if kind == "recommend":
            _, tier, step, stale = op
            with warehouse.session() as s:
                price = store.list_price(s, tier, now)
            current = price - 1.0 if stale else price
            suggested = round(current * (1 + step), 2)
            store.sync_proposals(warehouse, recommendation(tier, current, suggested, now), 3, now)
        elif kind == "review":
            _, target, decision, reviewer, notes, notice = op
            ids = warehouse.read(f"select proposal_id from {store.PROPOSALS} order by "
                                 "created_at, proposal_id")["proposal_id"].to_list()
            pid = ids[target] if target < len(ids) else f"pp-unknown-{target}"
            out = store.review_proposal(warehouse, Review(pid, decision, reviewer, notes),
                                        ADMINS, notice, now)
            refused += not out.accepted
        elif kind == "advance":
            now += dt.timedelta(days=op[1])
        elif kind == "apply":
            store.apply_due(warehouse, now)
        elif kind == "expire":
            store.sync_proposals(warehouse, NO_RECOMMENDATION, 3, now)
        if kind in ("recommend", "apply", "expire"):
            last = op
    return refused


def check_invariants(warehouse, refused: int, audit_from: int) -> None:
    proposals = warehouse.read(f"select * from {store.PROPOSALS}")
    prices = warehouse.read(f"select * from {store.PRICES} where source = 'approved_proposal'")
    log = warehouse.read("select actor, action, object, cast(before as varchar) as before, "
                         "cast(after as varchar) as after from audit.audit_log where id > ? order by id",
                         [audit_from])
    implemented = proposals.filter(pl.col("status") == "implemented")
    # none changes twice
    assert prices["_source_file"].n_unique() == prices.height
    assert prices.select("tier", "effective_from").n_unique() == prices.height
    assert prices.height == implemented.height
    # no price changes without an approved proposal, approved by an admin
    joined = prices.with_columns(proposal_id=pl.col("_source_file").str.strip_prefix(
        "pricing_proposals/")).join(implemented, on="proposal_id", how="left")
    assert joined["status"].null_count() == 0
    assert (joined["monthly_price"] == joined["proposed_price"]).all()
    assert (joined["effective_from"].dt.date() == joined["effective_date"]).all()
    approvals = log.filter(pl.col("action") == "pricing_proposal.approved")
    for pid in implemented["proposal_id"]:
        mine = approvals.filter(pl.col("object") == f"pricing_proposals/{pid}")
        assert mine.height == 1 and mine["actor"][0] in ADMINS
    # every decision is in the audit log, every refusal too, every transition allowed
    decided = proposals.filter(pl.col("decided_at").is_not_null()).height
    assert log.filter(pl.col("action").is_in(
        ["pricing_proposal.approved", "pricing_proposal.rejected"])).height == decided
    assert log.filter(pl.col("action") == "pricing_proposal.review_refused").height == refused
    for row in log.filter(pl.col("action") != "pricing_proposal.review_refused").iter_rows(
            named=True):
        after = json.loads(row["after"])["status"]
        before = json.loads(row["before"])["status"] if row["before"] else None
        assert before is None and after == "pending" or allowed(before, after), row
    for pid, status in proposals.select("proposal_id", "status").iter_rows():
        history = log.filter((pl.col("object") == f"pricing_proposals/{pid}")
                             & (pl.col("action") != "pricing_proposal.review_refused"))
        assert history["action"][-1] == f"pricing_proposal.{status}"


class OneConnection:
    """The DuckDB warehouse with one connection kept open: each session is still its own
    transaction (begin, commit or rollback) over the same DuckDBSession code and real tables,
    without the 20-40 ms of opening the file per session, which would make 1,000 sequences
    take half an hour."""

    def __init__(self, path: str):
        import duckdb

        self.con = duckdb.connect(path)

    @contextlib.contextmanager
    def session(self):
        from dagster_project.warehouse.duckdb_backend import DuckDBSession

        self.con.execute("begin transaction")
        try:
            yield DuckDBSession(self.con)
            self.con.execute("commit")
        except BaseException:
            self.con.execute("rollback")
            raise

    def read(self, sql, params=None):
        with self.session() as s:
            return s.read(sql, params)

    def scalar(self, sql, params=None):
        with self.session() as s:
            return s.scalar(sql, params)


@pytest.fixture(scope="module")
def duck(tmp_path_factory):
    wh = OneConnection(str(tmp_path_factory.mktemp("props") / "w.duckdb"))
    yield wh
    wh.con.close()


@settings(max_examples=1000, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(ops=operations)
def test_random_workflows_on_duckdb_keep_prices_approved_once_and_audited(duck, ops):
    audit_from = reset(duck)
    check_invariants(duck, run(duck, ops), audit_from)


@pytest.fixture(scope="module")
def pg(pg_server):
    import uuid

    import psycopg

    from dagster_project.postgres.roles import apply_roles
    from dagster_project.warehouse import Warehouse

    name = f"props_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(pg_server.conninfo(), autocommit=True) as con:
        con.execute(f'create database "{name}"')
    apply_roles(pg_server.conninfo(name))  # creates the protected audit log
    return Warehouse(backend="postgres", postgres_dsn=pg_server.conninfo(name))


@pytest.mark.postgres
@settings(max_examples=150, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(ops=operations)
def test_random_workflows_on_postgres_keep_prices_approved_once_and_audited(pg, ops):
    audit_from = reset(pg)
    check_invariants(pg, run(pg, ops), audit_from)
