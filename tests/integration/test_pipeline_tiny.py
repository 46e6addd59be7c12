"""End to end on tiny data: every asset materializes through Dagster and the marts reconcile."""

from __future__ import annotations

import dagster as dg
import polars as pl
import pytest
from polars.testing import assert_frame_equal

from dagster_project.contract import RAW_TABLES

pytestmark = pytest.mark.integration


def run_job(name: str, instance: dg.DagsterInstance | None = None) -> dg.ExecuteInProcessResult:
    from dagster_project.definitions import defs

    job = defs().resolve_job_def(name)
    return job.execute_in_process(instance=instance or dg.DagsterInstance.get())



def landing_frame(env, table: str) -> pl.DataFrame:
    return pl.read_parquet(env.landing / table / "**" / "*.parquet")


LOAD_TIME_COLUMNS = ("_loaded_at", "loaded_at", "quarantined_at", "rejected_at", "built_at")


def table_snapshots(env) -> dict[str, pl.DataFrame]:
    """Every table in raw, raw_quarantine, ops and marts, sorted (non-float columns first)."""
    tables = env.query(
        "select table_schema || '.' || table_name as t from information_schema.tables "
        "where table_schema in ('raw', 'raw_quarantine', 'ops', 'marts') "
        "and table_type = 'BASE TABLE'",
    )["t"].to_list()
    out = {}
    for t in sorted(tables):
        df = env.query(f"select * from {t}")
        df = df.drop([c for c in LOAD_TIME_COLUMNS if c in df.columns])
        floats = [c for c, d in df.schema.items() if d.is_float()]
        others = [c for c in df.columns if c not in floats]
        out[t] = df.sort(others + floats)
    return out


@pytest.fixture(scope="module")
def built(built_tiny_env):
    """A copy of the session's tiny nightly build (conftest: the same job, run once)."""
    return built_tiny_env


def test_every_raw_table_holds_every_landing_row(built):
    env, _ = built
    for table in RAW_TABLES:
        n_raw = env.query(f"select count(*) as n from raw.{table}")["n"][0]
        assert n_raw == landing_frame(env, table).height, table


def test_revenue_reconciles_from_raw_to_marts(built):
    env, _ = built
    truth = landing_frame(env, "conversions")["revenue"].sum()
    daily = env.query("select sum(revenue) as r from marts.fct_revenue_daily")["r"][0]
    orders = env.query("select sum(revenue) as r from marts.fct_conversions")["r"][0]
    assert daily == pytest.approx(truth, rel=1e-9)
    assert orders == pytest.approx(truth, rel=1e-9)


def test_posts_reconcile_from_raw_to_marts(built):
    env, _ = built
    content = landing_frame(env, "content")
    n_perf = env.query("select count(*) as n from marts.fct_content_performance")["n"][0]
    assert n_perf == content.height
    published = content.filter(pl.col("published_at").is_not_null()).height
    usage = env.query(
        "select sum(posts_published) as posts, sum(impressions) as impressions "
        "from marts.fct_platform_usage_daily",
    )
    assert usage["posts"][0] == published
    assert usage["impressions"][0] == landing_frame(env, "content_engagement")["impressions"].sum()


def test_current_mrr_matches_the_latest_subscription_event_of_each_client(built):
    env, _ = built
    events = landing_frame(env, "subscription_events").sort(["event_at", "event_id"])
    latest = events.group_by("client_id").last()
    expected = latest.select(
        pl.when(pl.col("event_type").is_in(["cancel", "trial_start"]))
        .then(0.0)
        .otherwise(pl.col("monthly_price") * (1 - pl.col("discount_pct") / 100))
        .sum()
    ).item()
    dim = env.query("select sum(current_mrr) as m from marts.dim_clients")["m"][0]
    last_day = env.query(
        "select sum(mrr) as m from marts.fct_mrr_daily "
        "where date_day = (select max(date_day) from marts.fct_mrr_daily)",
    )["m"][0]
    assert dim == pytest.approx(expected, rel=1e-9)
    assert last_day == pytest.approx(expected, rel=1e-9)


def test_second_run_changes_nothing(built):
    env, _ = built
    before = table_snapshots(env)
    assert run_job("nightly_refresh").success
    after = table_snapshots(env)
    assert after.keys() == before.keys()
    for table, frame in before.items():
        # keys, counts, strings and integers identical; floats to 1e-12 relative, because
        # DuckDB's parallel sums may round the last bit differently from run to run
        assert_frame_equal(after[table], frame, check_exact=False, rel_tol=1e-12, abs_tol=1e-9)


def test_dbt_models_report_row_counts_and_columns_read_from_the_warehouse(built):
    env, result = built
    meta = {m.asset_key.to_user_string(): m.materialization.metadata
            for m in result.get_asset_materialization_events()}
    fact = meta["marts/fct_revenue_daily"]
    assert fact["dagster/row_count"].value == env.query(
        "select count(*) as n from marts.fct_revenue_daily")["n"][0] > 0
    columns = fact["dagster/column_schema"].schema.columns
    assert [c.name for c in columns] == env.query("select * from marts.fct_revenue_daily limit 0").columns
    described = {c.name: c.description for c in columns}
    assert described["client_id"]  # from the model's YAML
    assert fact["dagster/table_name"].value == "marts.fct_revenue_daily"
    view = meta["staging/stg_raw__conversions"]
    assert "dagster/row_count" not in view  # counting a view would run its query
    assert [c.name for c in view["dagster/column_schema"].schema.columns] == env.query(
        "select * from staging.stg_raw__conversions limit 0").columns
