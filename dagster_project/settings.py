"""The one place that reads environment variables (the serving API's own `BI_SERVING_*` are read
by `dagster_project/serving/settings.py`). Everything else asks `get_settings()`."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from psycopg.conninfo import make_conninfo

PROJECT_ROOT = Path(__file__).resolve().parents[1]
DBT_PROJECT_DIR = PROJECT_ROOT / "dbt"
# DuckDB caches and computes up to 80% of RAM by default; bounded, it spills joins, sorts and
# aggregates to disk instead. The pipeline process and dbt each get this much.
DEFAULT_DUCKDB_MEMORY_LIMIT = "1.5GB"
# Spark Connect's own default port, which `make spark-up` (devtools/sparkserver.py) also uses
DEFAULT_SPARK_CONNECT_URL = "sc://127.0.0.1:15002"
BACKENDS = ("duckdb", "postgres", "spark")


@dataclass(frozen=True)
class Settings:
    data_dir: Path
    landing_dir: Path
    truth_dir: Path
    warehouse_backend: str  # "duckdb" | "postgres" | "spark"
    duckdb_path: Path
    duckdb_memory_limit: str  # DuckDB's buffer pool per process (it spills past it)
    pg_host: str
    pg_port: int
    pg_user: str
    pg_password: str
    pg_db: str
    spark_connect_url: str = DEFAULT_SPARK_CONNECT_URL  # the Spark backend's server
    pricing_admins: tuple[str, ...] = ()  # who may approve or reject pricing proposals

    @property
    def dbt_target(self) -> str:
        """dbt's target follows the warehouse (``dbt/profiles.yml`` names them alike)."""
        return self.warehouse_backend

    @property
    def postgres_dsn(self) -> str:
        """libpq connection string built from the ``BI_PG_*`` settings."""
        return make_conninfo(
            host=self.pg_host,
            port=self.pg_port,
            user=self.pg_user,
            password=self.pg_password or None,
            dbname=self.pg_db,
        )


def get_settings() -> Settings:
    """Settings from the environment (see .env.example for every variable)."""
    data_dir = Path(os.environ.get("BI_DATA_DIR", PROJECT_ROOT / "data")).resolve()
    backend = os.environ.get("BI_WAREHOUSE", "duckdb").lower()
    if backend not in BACKENDS:
        raise ValueError(f"BI_WAREHOUSE must be one of {', '.join(BACKENDS)}, got {backend!r}")
    return Settings(
        data_dir=data_dir,
        landing_dir=Path(os.environ.get("BI_LANDING_DIR", data_dir / "landing")).resolve(),
        truth_dir=Path(os.environ.get("BI_TRUTH_DIR", data_dir / "truth")).resolve(),
        warehouse_backend=backend,
        duckdb_path=Path(os.environ.get("BI_DUCKDB_PATH", data_dir / "warehouse.duckdb")).resolve(),
        duckdb_memory_limit=os.environ.get("BI_DUCKDB_MEMORY_LIMIT", DEFAULT_DUCKDB_MEMORY_LIMIT),
        # the same variables and defaults as the postgres output of dbt/profiles.yml
        pg_host=os.environ.get("BI_PG_HOST", "127.0.0.1"),
        pg_port=int(os.environ.get("BI_PG_PORT", "5432")),
        pg_user=os.environ.get("BI_PG_USER", "postgres"),
        pg_password=os.environ.get("BI_PG_PASSWORD", ""),
        pg_db=os.environ.get("BI_PG_DB", "bi"),
        spark_connect_url=os.environ.get("BI_SPARK_CONNECT_URL", DEFAULT_SPARK_CONNECT_URL),
        pricing_admins=tuple(a.strip() for a in os.environ.get("BI_PRICING_ADMINS", "").split(",")
                             if a.strip()),
    )


def export_dbt_environment(settings: Settings) -> None:
    """Make dbt subprocesses use the same warehouse as this process.

    dbt reads its connection from ``dbt/profiles.yml``, which takes the target, the DuckDB path
    and the PostgreSQL connection from these variables; dagster-dbt passes this process's
    environment on to dbt. Set, not defaulted: the target always follows ``BI_WAREHOUSE``.
    """
    os.environ["DBT_TARGET"] = settings.dbt_target
    os.environ["BI_DUCKDB_PATH"] = str(settings.duckdb_path)
    os.environ["BI_DUCKDB_MEMORY_LIMIT"] = settings.duckdb_memory_limit
    os.environ["BI_PG_HOST"] = settings.pg_host
    os.environ["BI_PG_PORT"] = str(settings.pg_port)
    os.environ["BI_PG_USER"] = settings.pg_user
    os.environ["BI_PG_PASSWORD"] = settings.pg_password
    os.environ["BI_PG_DB"] = settings.pg_db


def channel_secret(variable: str) -> str | None:
    """The value of the environment variable an alert channel names for a secret or an
    address (``alert_rules.yml`` holds only the names); None when unset or empty."""
    return os.environ.get(variable) or None
