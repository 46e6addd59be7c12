"""The pricing marts of a simulated landing folder, built by dbt in a private DuckDB file.

Shared by ``tests/integration/test_pricing_truth_small.py`` and ``bench/bench_pricing.py``: the
raw tables the pricing marts read are loaded from the landing folder's Parquet files (the others
stay empty), then dbt builds ``fct_price_offers_weekly`` and ``fct_competitor_prices_weekly``
and what they read (data tests skipped: they are the pipeline's business, not the truth's).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import duckdb

from dagster_project.devtools.raw_schema import create_raw_schema

ROOT = Path(__file__).resolve().parents[2]
SOURCE_TABLES = ("subscription_events", "plan_prices", "competitor_prices", "experiments",
                 "experiment_assignments", "marketing_spend", "clients")
MARTS = ("fct_price_offers_weekly", "fct_competitor_prices_weekly")


def build_pricing_marts(landing: Path, db: Path, extra_marts: tuple[str, ...] = (),
                        extra_tables: tuple[str, ...] = ()) -> Path:
    """``db`` with raw.* loaded from ``landing`` and the pricing marts (plus ``extra_marts``,
    whose raw inputs are ``extra_tables``) built by dbt; returns ``db``."""
    work = db.parent
    work.mkdir(parents=True, exist_ok=True)
    with duckdb.connect(str(db)) as con:
        create_raw_schema(con)
        for table in SOURCE_TABLES + extra_tables:
            files = list((landing / table).glob("**/*.parquet"))
            if not files:
                continue
            cols = [r[0] for r in con.execute(f"describe raw.{table}").fetchall()]
            data = ", ".join(c for c in cols if not c.startswith("_"))
            con.execute(f"insert into raw.{table} ({data}, _source_file, _source_row, _loaded_at) "
                        f"select {data}, 'landing', 0, now() from read_parquet("
                        f"'{landing / table}/**/*.parquet', hive_partitioning = false)")
    env = {**os.environ, "DBT_TARGET": "duckdb", "BI_DUCKDB_PATH": str(db)}
    dbt = Path(sys.executable).parent / "dbt"
    run = subprocess.run(
        [str(dbt), "build", "--project-dir", str(ROOT / "dbt"), "--profiles-dir", str(ROOT / "dbt"),
         "--target-path", str(work / "target"), "--log-path", str(work / "logs"),
         "--select", *(f"+{m}" for m in MARTS + extra_marts), "--exclude", "test_type:data"],
        env=env, capture_output=True, text=True, check=False)
    if run.returncode != 0:
        raise RuntimeError(f"dbt build failed:\n{run.stdout[-3000:]}")
    return db
