"""A tiny hand-made raw warehouse for dbt tests.

``create_raw_schema`` (from ``dagster_project.devtools.raw_schema``) creates every landing-contract
table in schema ``raw`` (contract columns with their SQL types plus the lineage columns the
ingest adds); ``build_tiny_warehouse`` fills them with the rows below, which are small enough
that every mart value can be checked by hand (the expected values live in
tests/unit/test_dbt_project.py with the arithmetic spelled out).
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterable
from datetime import date, datetime
from pathlib import Path
from typing import Any

import duckdb

from dagster_project.contract import load_contract
from dagster_project.devtools.raw_schema import LINEAGE_COLUMNS, create_raw_schema

LOADED_AT = datetime(2024, 2, 15, 0, 0)
ROOT = Path(__file__).resolve().parents[1]


def _ts(s: str) -> datetime:
    return datetime.fromisoformat(s)


def insert_rows(
    con: duckdb.DuckDBPyConnection, table_name: str, rows: list[dict[str, Any]]
) -> None:
    """Insert dict rows (missing nullable columns become null) with lineage columns filled."""
    table = load_contract()[table_name]
    names = table.column_names + list(LINEAGE_COLUMNS)
    placeholders = ", ".join("?" for _ in names)
    quoted = ", ".join(f'"{n}"' for n in names)
    values = [
        [row.get(c) for c in table.column_names] + [f"handmade/{table_name}", i, LOADED_AT]
        for i, row in enumerate(rows)
    ]
    if values:
        con.executemany(f"insert into raw.{table_name} ({quoted}) values ({placeholders})", values)


def _sub(event_id, client_id, at, event_type, tier, period, price, discount=0.0, exp=None):
    return {
        "event_id": event_id,
        "client_id": client_id,
        "event_at": _ts(at),
        "event_type": event_type,
        "tier": tier,
        "billing_period": period,
        "monthly_price": price,
        "discount_pct": discount,
        "price_experiment_id": exp,
    }


def _eng(
    content_id,
    client_id,
    platform,
    day,
    impressions,
    likes,
    comments,
    shares,
    saves,
    clicks,
    followers,
):
    return {
        "content_id": content_id,
        "client_id": client_id,
        "platform": platform,
        "observed_date": date.fromisoformat(day),
        "impressions": impressions,
        "reach": impressions // 2,
        "likes": likes,
        "comments": comments,
        "shares": shares,
        "saves": saves,
        "clicks": clicks,
        "followers_gained": followers,
    }


def _api(ts, requests, errors, p50, p95, p99, endpoint="/v1/posts"):
    return {
        "ts": _ts(ts),
        "service": "publisher",
        "endpoint": endpoint,
        "requests": requests,
        "errors": errors,
        "latency_p50_ms": p50,
        "latency_p95_ms": p95,
        "latency_p99_ms": p99,
    }


TINY_ROWS: dict[str, list[dict[str, Any]]] = {
    "clients": [
        {
            "client_id": "c1",
            "business_name": "Cafe One",
            "business_niche": "restaurant",
            "country": "US",
            "signup_at": _ts("2024-01-01 08:00"),
            "acquisition_channel": "organic_search",
        },
        {
            "client_id": "c2",
            "business_name": "Gym Two",
            "business_niche": "fitness",
            "country": "GB",
            "signup_at": _ts("2024-01-05 08:00"),
            "acquisition_channel": "paid_search",
        },
        {
            "client_id": "c3",
            "business_name": "Shop Three",
            "business_niche": "ecommerce",
            "country": "DE",
            "signup_at": _ts("2024-01-10 08:00"),
            "acquisition_channel": "referral",
        },
    ],
    # MRR story (mrr = monthly_price * (1 - discount_pct / 100)):
    #   c1 trial 01-01, subscribes starter 29 on 01-08 (new 29), upgrades to professional 79 at
    #      10 % off on 01-20 (71.1: starter contraction 29, professional expansion 71.1)
    #   c2 business annual 199 at 20 % off on 01-05 (new 159.2), cancels 01-25 (churned 159.2),
    #      reactivates monthly 199 on 02-03 (reactivation 199)
    #   c3 professional 79 on 01-10 (new 79), downgrades to starter 29 on 01-15, renews at 50 % off
    #      on 02-10 (contraction 14.5), cancels 02-12 (churned 14.5)
    "subscription_events": [
        _sub("e01", "c1", "2024-01-01 09:00", "trial_start", "starter", "monthly", 29.0),
        _sub("e02", "c1", "2024-01-08 10:00", "subscribe", "starter", "monthly", 29.0),
        _sub("e03", "c1", "2024-01-20 10:00", "upgrade", "professional", "monthly", 79.0, 10.0),
        _sub("e04", "c2", "2024-01-05 10:00", "subscribe", "business", "annual", 199.0, 20.0),
        _sub("e05", "c2", "2024-01-25 10:00", "cancel", "business", "annual", 199.0, 20.0),
        _sub("e06", "c2", "2024-02-03 10:00", "reactivate", "business", "monthly", 199.0),
        _sub("e07", "c3", "2024-01-10 10:00", "subscribe", "professional", "monthly", 79.0),
        _sub("e08", "c3", "2024-01-15 10:00", "downgrade", "starter", "monthly", 29.0),
        _sub("e09", "c3", "2024-02-10 10:00", "renew", "starter", "monthly", 29.0, 50.0, "px1"),
        _sub("e10", "c3", "2024-02-12 10:00", "cancel", "starter", "monthly", 29.0, 50.0),
    ],
    "plan_prices": [
        {
            "tier": "starter",
            "monthly_price": 29.0,
            "effective_from": _ts("2023-06-01 00:00"),
            "effective_to": None,
            "source": "launch",
        },
        {
            "tier": "starter",
            "monthly_price": 35.0,
            "effective_from": _ts("2024-02-01 00:00"),
            "effective_to": None,
            "source": "list_change",
        },
        {
            "tier": "professional",
            "monthly_price": 79.0,
            "effective_from": _ts("2023-06-01 00:00"),
            "effective_to": None,
            "source": "launch",
        },
        {
            "tier": "business",
            "monthly_price": 199.0,
            "effective_from": _ts("2023-06-01 00:00"),
            "effective_to": None,
            "source": "launch",
        },
        {
            "tier": "enterprise",
            "monthly_price": 499.0,
            "effective_from": _ts("2023-06-01 00:00"),
            "effective_to": None,
            "source": "launch",
        },
    ],
    "competitor_prices": [
        {
            "competitor": "Buffer",
            "plan_name": "Essentials",
            "comparable_tier": "starter",
            "monthly_price": 25.0,
            "observed_at": _ts("2024-01-15 00:00"),
        },
    ],
    "feature_usage_logs": [
        {
            "event_id": "f1",
            "client_id": "c1",
            "user_id": "u1",
            "feature_name": "scheduler",
            "platform": "instagram",
            "timestamp": _ts("2024-01-09 10:00"),
            "duration_seconds": 60.0,
            "time_saved_minutes": 5.0,
        },
        {
            "event_id": "f2",
            "client_id": "c1",
            "user_id": "u2",
            "feature_name": "scheduler",
            "platform": None,
            "timestamp": _ts("2024-01-09 11:00"),
            "duration_seconds": 30.0,
            "time_saved_minutes": 2.0,
        },
        {
            "event_id": "f3",
            "client_id": "c1",
            "user_id": "u1",
            "feature_name": "scheduler",
            "platform": "instagram",
            "timestamp": _ts("2024-01-09 12:00"),
            "duration_seconds": 90.0,
            "time_saved_minutes": 6.0,
        },
        {
            "event_id": "f4",
            "client_id": "c2",
            "user_id": "u9",
            "feature_name": "ai_caption",
            "platform": "tiktok",
            "timestamp": _ts("2024-01-12 12:00"),
            "duration_seconds": 20.0,
            "time_saved_minutes": 10.0,
        },
    ],
    "content": [
        {
            "content_id": "p1",
            "client_id": "c1",
            "platform": "instagram",
            "content_type": "reel",
            "created_at": _ts("2024-01-09 09:00"),
            "published_at": _ts("2024-01-10 09:00"),
            "automated": True,
            "viral_optimized": True,
            "hashtag_count": 5,
            "campaign_id": "cmp1",
        },
        {
            "content_id": "p2",
            "client_id": "c1",
            "platform": "instagram",
            "content_type": "carousel",
            "created_at": _ts("2024-01-09 10:00"),
            "published_at": _ts("2024-01-10 12:00"),
            "automated": False,
            "viral_optimized": False,
            "hashtag_count": 2,
            "campaign_id": None,
        },
        {
            "content_id": "p3",
            "client_id": "c2",
            "platform": "tiktok",
            "content_type": "video",
            "created_at": _ts("2024-01-11 10:00"),
            "published_at": None,
            "automated": False,
            "viral_optimized": False,
            "hashtag_count": 0,
            "campaign_id": None,
        },
    ],
    # c1 instagram 2024-01-10: engagements 70 + 30 = 100 over 1500 impressions -> rate 1/15;
    # 2024-01-11: 0 impressions -> rate null.
    "content_engagement": [
        _eng("p1", "c1", "instagram", "2024-01-10", 1000, 50, 10, 5, 5, 20, 3),
        _eng("p2", "c1", "instagram", "2024-01-10", 500, 20, 0, 5, 5, 4, 1),
        _eng("p1", "c1", "instagram", "2024-01-11", 0, 0, 0, 0, 0, 0, 0),
    ],
    # Paths with a 30-day lookback:
    #   c1/k1: t1 (37 days before v1) -> non-converting [instagram]; t2, t3 -> v1
    #          [email > paid_search]; t4 after v1 with no later order -> non-converting [instagram]
    #   c1/k2: v2 with no touch; c2/k3: t5, t6 (same instant as v3) -> v3 [tiktok > referral]; t7 -> v4
    "touchpoints": [
        {
            "touchpoint_id": "t1",
            "client_id": "c1",
            "customer_id": "k1",
            "channel": "instagram",
            "campaign_id": "cmp1",
            "content_id": "p1",
            "touched_at": _ts("2023-12-20 10:00"),
        },
        {
            "touchpoint_id": "t2",
            "client_id": "c1",
            "customer_id": "k1",
            "channel": "email",
            "campaign_id": None,
            "content_id": None,
            "touched_at": _ts("2024-01-20 10:00"),
        },
        {
            "touchpoint_id": "t3",
            "client_id": "c1",
            "customer_id": "k1",
            "channel": "paid_search",
            "campaign_id": "cmp2",
            "content_id": None,
            "touched_at": _ts("2024-01-25 10:00"),
        },
        {
            "touchpoint_id": "t4",
            "client_id": "c1",
            "customer_id": "k1",
            "channel": "instagram",
            "campaign_id": None,
            "content_id": "p2",
            "touched_at": _ts("2024-02-01 10:00"),
        },
        {
            "touchpoint_id": "t5",
            "client_id": "c2",
            "customer_id": "k3",
            "channel": "tiktok",
            "campaign_id": None,
            "content_id": None,
            "touched_at": _ts("2024-01-10 08:00"),
        },
        {
            "touchpoint_id": "t6",
            "client_id": "c2",
            "customer_id": "k3",
            "channel": "referral",
            "campaign_id": None,
            "content_id": None,
            "touched_at": _ts("2024-01-12 09:00"),
        },
        {
            "touchpoint_id": "t7",
            "client_id": "c2",
            "customer_id": "k3",
            "channel": "direct",
            "campaign_id": None,
            "content_id": None,
            "touched_at": _ts("2024-01-18 09:00"),
        },
    ],
    "conversions": [
        {
            "conversion_id": "v1",
            "client_id": "c1",
            "customer_id": "k1",
            "converted_at": _ts("2024-01-26 10:00"),
            "revenue": 100.0,
            "order_type": "first",
        },
        {
            "conversion_id": "v2",
            "client_id": "c1",
            "customer_id": "k2",
            "converted_at": _ts("2024-01-26 15:00"),
            "revenue": 40.0,
            "order_type": "first",
        },
        {
            "conversion_id": "v3",
            "client_id": "c2",
            "customer_id": "k3",
            "converted_at": _ts("2024-01-12 09:00"),
            "revenue": 60.0,
            "order_type": "first",
        },
        {
            "conversion_id": "v4",
            "client_id": "c2",
            "customer_id": "k3",
            "converted_at": _ts("2024-01-20 09:00"),
            "revenue": 30.0,
            "order_type": "repeat",
        },
    ],
    "marketing_spend": [
        {
            "client_id": "c1",
            "channel": "instagram",
            "campaign_id": "cmp1",
            "spend_date": date(2024, 1, 20),
            "spend": 50.0,
            "impressions": 10000,
            "clicks": 100,
        },
        {
            "client_id": "c1",
            "channel": "instagram",
            "campaign_id": "cmp3",
            "spend_date": date(2024, 1, 20),
            "spend": 25.0,
            "impressions": 5000,
            "clicks": 50,
        },
        {
            "client_id": "c1",
            "channel": "paid_search",
            "campaign_id": "cmp2",
            "spend_date": date(2024, 1, 20),
            "spend": 10.0,
            "impressions": 1000,
            "clicks": 0,
        },
    ],
    # Hour 2024-02-14 10:00: 400 requests, 8 errors (error rate 0.02); p50 request-weighted mean
    # (100*10 + 100*20 + 200*40) / 400 = 27.5; p99 = max = 300.
    "api_requests": [
        _api("2024-02-14 10:00", 100, 0, 10.0, 50.0, 100.0),
        _api("2024-02-14 10:01", 100, 2, 20.0, 60.0, 300.0),
        _api("2024-02-14 10:02", 200, 6, 40.0, 80.0, 200.0),
        _api("2024-02-14 11:00", 0, 0, 0.0, 0.0, 0.0),
    ],
    "resource_usage": [
        {
            "ts": _ts("2024-02-14 10:00"),
            "host": "worker-1",
            "cpu_pct": 40.0,
            "memory_pct": 50.0,
            "disk_pct": 60.0,
            "queue_depth": 3,
        },
        {
            "ts": _ts("2024-02-14 10:01"),
            "host": "worker-1",
            "cpu_pct": 60.0,
            "memory_pct": 52.0,
            "disk_pct": 60.0,
            "queue_depth": 9,
        },
    ],
    "content_generation_jobs": [
        {
            "job_id": "j1",
            "client_id": "c1",
            "content_id": "p1",
            "started_at": _ts("2024-01-09 08:00"),
            "finished_at": _ts("2024-01-09 08:00:30"),
            "status": "succeeded",
            "quality_score": 0.8,
        },
        {
            "job_id": "j2",
            "client_id": "c1",
            "content_id": None,
            "started_at": _ts("2024-01-09 09:00"),
            "finished_at": _ts("2024-01-09 09:00:10"),
            "status": "failed",
            "quality_score": None,
        },
        {
            "job_id": "j3",
            "client_id": "c1",
            "content_id": None,
            "started_at": _ts("2024-01-09 10:00"),
            "finished_at": None,
            "status": "timeout",
            "quality_score": None,
        },
    ],
    "experiments": [
        {
            "experiment_id": "x1",
            "client_id": None,
            "name": "starter_price",
            "hypothesis": "A lower price sells more.",
            "kind": "pricing",
            "unit_type": "client",
            "primary_metric": "conversion",
            "variants": '[{"name": "control", "weight": 0.5}, {"name": "discount", "weight": 0.5}]',
            "start_at": _ts("2024-01-01 00:00"),
            "end_at": None,
            "alpha": 0.05,
            "power": 0.8,
            "mde": 0.1,
        },
    ],
    "experiment_assignments": [
        {
            "experiment_id": "x1",
            "unit_id": "c1",
            "variant": "control",
            "assigned_at": _ts("2024-01-01 09:00"),
            "metric_value": 1.0,
            "converted": True,
            "pre_metric_value": 2.0,
        },
        {
            "experiment_id": "x1",
            "unit_id": "c2",
            "variant": "discount",
            "assigned_at": _ts("2024-01-01 10:00"),
            "metric_value": 3.0,
            "converted": True,
            "pre_metric_value": 1.0,
        },
        {
            "experiment_id": "x1",
            "unit_id": "c3",
            "variant": "control",
            "assigned_at": _ts("2024-01-03 09:00"),
            "metric_value": 0.0,
            "converted": False,
            "pre_metric_value": 4.0,
        },
    ],
}


def build_tiny_warehouse(path: Path | str) -> Path:
    """Create (or overwrite) a DuckDB file at `path` with the raw schema and TINY_ROWS."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with duckdb.connect(str(path)) as con:
        create_raw_schema(con)
        for table_name, rows in TINY_ROWS.items():
            insert_rows(con, table_name, rows)
    return path


def build_tiny_postgres(conninfo: str) -> None:
    """Create schema raw with every contract table in a PostgreSQL database and load TINY_ROWS."""
    import psycopg

    with psycopg.connect(conninfo, autocommit=True) as con:
        con.execute("drop schema if exists raw cascade")
        con.execute("create schema raw")
        for table in load_contract().values():
            cols = [f'"{c.name}" {c.sql_type}' for c in table.columns]
            cols += [f"{name} {sql_type}" for name, sql_type in LINEAGE_COLUMNS.items()]
            con.execute(f"create table raw.{table.name} ({', '.join(cols)})")
            names = table.column_names + list(LINEAGE_COLUMNS)
            quoted = ", ".join(f'"{n}"' for n in names)
            placeholders = ", ".join("%s" for _ in names)
            with con.cursor() as cur:
                cur.executemany(
                    f"insert into raw.{table.name} ({quoted}) values ({placeholders})",
                    [
                        [row.get(c) for c in table.column_names]
                        + [f"handmade/{table.name}", i, LOADED_AT]
                        for i, row in enumerate(TINY_ROWS.get(table.name, []))
                    ],
                )


def build_marts_from_landing(landing: Path, folder: Path, tables: Iterable[str],
                             select: Iterable[str], exclude: Iterable[str] = ("test_type:data",)
                             ) -> Path:
    """A DuckDB file in ``folder`` with ``tables`` copied straight from a simulated landing
    folder into ``raw`` (no ingest: the planted-truth tests check the analytics, not the
    contract) and the dbt models ``select`` built on them; its path."""
    folder.mkdir(parents=True, exist_ok=True)
    db = folder / "w.duckdb"
    with duckdb.connect(str(db)) as con:
        create_raw_schema(con)
        for table in tables:
            cols = [r[0] for r in con.execute(f"describe raw.{table}").fetchall()]
            data = ", ".join(c for c in cols if not c.startswith("_"))
            con.execute(f"""insert into raw.{table} ({data}, _source_file, _source_row, _loaded_at)
                select {data}, 'landing', 0, now()
                from read_parquet('{landing / table}/**/*.parquet', hive_partitioning = false)""")
    run = subprocess.run(
        [str(ROOT / ".venv/bin/dbt"), "build", "--project-dir", str(ROOT / "dbt"),
         "--profiles-dir", str(ROOT / "dbt"), "--target-path", str(folder / "target"),
         "--log-path", str(folder / "logs"), "--select", *select, "--exclude", *exclude],
        env={**os.environ, "DBT_TARGET": "duckdb", "BI_DUCKDB_PATH": str(db)},
        capture_output=True, text=True, check=False)
    assert run.returncode == 0, run.stdout[-3000:]
    return db
