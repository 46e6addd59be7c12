"""`dbt build` of the whole project on a tiny hand-made warehouse (tests/dbt_helpers.py).

Runs every model, data test and YAML unit test on DuckDB (and on a throwaway PostgreSQL 15
when its binaries are installed; marked `postgres`), then checks a few mart values against
arithmetic done by hand from the rows in TINY_ROWS (the comments there tell the story).
"""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
DBT_PROJECT_DIR = REPO_ROOT / "dbt"



def _dbt_executable() -> str:
    candidate = Path(sys.executable).with_name("dbt")
    return str(candidate) if candidate.exists() else "dbt"


def _run_dbt(tmp: Path, env: dict[str, str]) -> None:
    result = subprocess.run(
        [
            _dbt_executable(),
            "build",
            "--project-dir",
            str(DBT_PROJECT_DIR),
            "--profiles-dir",
            str(DBT_PROJECT_DIR),
            "--target-path",
            str(tmp / "target"),
            "--log-path",
            str(tmp / "logs"),
        ],
        cwd=REPO_ROOT,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]


@pytest.fixture(
    scope="module",
    params=[
        "duckdb",
        pytest.param("postgres", marks=[pytest.mark.postgres, pytest.mark.integration]),
    ],
)
def query(request, tmp_path_factory, dbt_helpers):
    """Build the project on the tiny warehouse of the given backend; yield a `sql -> rows` function."""
    tmp = tmp_path_factory.mktemp(f"dbt_build_{request.param}")
    if request.param == "duckdb":
        warehouse = dbt_helpers.build_tiny_warehouse(tmp / "warehouse.duckdb")
        _run_dbt(tmp, {"DBT_TARGET": "duckdb", "BI_DUCKDB_PATH": str(warehouse)})

        def run(sql: str) -> list[tuple]:
            with duckdb.connect(str(warehouse), read_only=True) as con:
                return con.execute(sql).fetchall()

        yield run
        return
    import psycopg

    server = request.getfixturevalue("pg_server")  # the session's throwaway PostgreSQL
    with psycopg.connect(server.conninfo(), autocommit=True) as con:
        con.execute('drop database if exists "dbt_project_test"')
        con.execute('create database "dbt_project_test"')
    conninfo = server.conninfo("dbt_project_test")
    dbt_helpers.build_tiny_postgres(conninfo)
    _run_dbt(tmp, server.warehouse_env("dbt_project_test"))

    def run(sql: str) -> list[tuple]:
        with psycopg.connect(conninfo) as con:
            return [
                tuple(float(v) if isinstance(v, Decimal) else v for v in row)
                for row in con.execute(sql).fetchall()
            ]

    yield run


def test_tier_migration_counts_as_contraction_in_old_tier_and_expansion_in_new(query):
    # c1 moves from starter 29 to professional 79 at 10 % off on 2024-01-20: 79 * 0.9 = 71.1
    rows = query(
        "select tier, expansion_mrr, contraction_mrr from marts.fct_mrr_daily "
        "where date_day = '2024-01-20'"
    )
    movements = {tier: (expansion, contraction) for tier, expansion, contraction in rows}
    assert movements["starter"] == pytest.approx((0.0, 29.0))
    assert movements["professional"] == pytest.approx((71.1, 0.0))


def test_cancel_then_reactivate_gives_churned_then_reactivation_mrr(query):
    # c2: business 199 at 20 % off = 159.2 churns on 2024-01-25, comes back at 199 on 2024-02-03
    churned, reactivated = query(
        """
        select
            sum(case when date_day = '2024-01-25' then churned_mrr end),
            sum(case when date_day = '2024-02-03' then reactivation_mrr end)
        from marts.fct_mrr_daily
        where tier = 'business'
        """
    )[0]
    assert churned == pytest.approx(159.2)
    assert reactivated == pytest.approx(199.0)


def test_total_mrr_at_as_of_date_matches_current_mrr_of_dim_clients(query):
    # as of 2024-02-14: c1 71.1 + c2 199 + c3 churned 0 = 270.1, from two independent models
    (mrr_daily,) = query("select sum(mrr) from marts.fct_mrr_daily where date_day = '2024-02-14'")[
        0
    ]
    dim = query("select sum(current_mrr) from marts.dim_clients")[0][0]
    assert mrr_daily == pytest.approx(270.1)
    assert dim == pytest.approx(270.1)


def test_dim_clients_marks_the_cancelled_client_churned(query):
    row = query(
        "select current_status, is_churned, churned_at, tenure_days from marts.dim_clients "
        "where client_id = 'c3'"
    )[0]
    # subscribed 2024-01-10, cancelled 2024-02-12: 33 days of tenure
    assert row == ("churned", True, datetime(2024, 2, 12, 10), 33)


def test_engagement_rate_is_engagements_over_impressions(query):
    rates = dict(
        query(
            "select activity_date, engagement_rate from marts.fct_platform_usage_daily "
            "where client_id = 'c1' and platform = 'instagram'"
        )
    )
    # 2024-01-10: (50+10+5+5) + (20+0+5+5) = 100 engagements over 1000 + 500 impressions
    assert rates[date(2024, 1, 10)] == pytest.approx(100 / 1500)
    assert rates[date(2024, 1, 11)] is None


def test_customer_paths_respect_the_30_day_lookback(query):
    rows = query(
        "select path_id, converted, touch_count, channel_path, revenue from marts.fct_customer_paths "
        "where customer_id = 'k1'"
    )
    # t1 is 37 days before order v1: its own non-converting path; t4 follows the last order
    assert {row[0]: row[1:] for row in rows} == {
        "c1:k1:0:n": (False, 1, "instagram", 0.0),
        "c1:k1:0:c": (True, 2, "email > paid_search", 100.0),
        "c1:k1:1:n": (False, 1, "instagram", 0.0),
    }


def test_hourly_api_p50_is_request_weighted_and_p99_is_the_minute_maximum(query):
    p50, p99, error_rate = query(
        "select latency_p50_ms, latency_p99_ms, error_rate from marts.fct_api_performance_hourly "
        "where hour_at = '2024-02-14 10:00:00'"
    )[0]
    assert p50 == pytest.approx((100 * 10 + 100 * 20 + 200 * 40) / 400)
    assert p99 == 300.0
    assert error_rate == pytest.approx(8 / 400)


def test_end_customer_summary_counts_days_orders_and_touches_by_hand(query):
    # c2/k3 orders 60 on 01-12 and 30 on 01-20; as-of 2024-02-14 (the latest API minute):
    # T = 33 days, t_x = 8, recency 25; one repeat day worth 30; touches tiktok, referral, direct
    rows = query(
        "select valid_orders, repeat_order_days, total_revenue, avg_order_value, "
        "repeat_order_day_value, days_since_first_order, days_first_to_last_order, "
        "days_since_last_order, mean_days_between_orders, touches, channels, social_touch_share "
        "from marts.dim_end_customers where client_id = 'c2' and customer_id = 'k3'")
    assert rows == [(2, 1, 90.0, 45.0, 30.0, 33, 8, 25, 8.0, 3, 3, pytest.approx(1 / 3))]
    one = query("select repeat_order_days, repeat_order_day_value, days_since_last_order "
                "from marts.dim_end_customers where customer_id = 'k2'")
    assert one == [(0, None, 19)]


def test_client_snapshot_at_month_end_holds_state_usage_and_an_open_label(query):
    # 2024-01-31: c2 cancelled on 01-25 (not at risk any more); c1 upgraded to professional
    # (launch 79: rank 2 of 4, headroom 2) at 10 % off -> MRR 71.1, signed up on starter at its
    # launch price (ln 1 = 0), three scheduler uses on 01-09; Jan 31 + 30 days is after the
    # as-of date 02-14, so the label is still open (null)
    rows = query(
        "select client_id, tier, tier_rank, tier_headroom, mrr, signup_price_vs_launch, "
        "upgrades, features_adopted, feature_uses_30d, churned_next_30d "
        "from marts.fct_client_monthly_snapshots where snapshot_date = date '2024-01-31' "
        "order by client_id")
    assert rows == [("c1", "professional", 2, 2, pytest.approx(71.1), 0.0, 1, 1, 3, None),
                    ("c3", "starter", 1, 3, 29.0, 0.0, 0, 0, 0, None)]
    dates = query("select distinct snapshot_date from marts.fct_client_monthly_snapshots "
                  "order by 1")
    assert dates == [(date(2024, 1, 31),), (date(2024, 2, 14),)]
