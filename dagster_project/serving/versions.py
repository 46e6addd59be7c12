"""``ops.serving_versions``: one counter per watched table, bumped when it changes.

Rows: ``name`` (an asset key as ``schema/table``, e.g. ``reporting/rpt_client_revenue_daily``,
or ``ops/api_tokens``), ``version`` (1, 2, ...), ``updated_at``. The Dagster sensor
``serving_versions_sensor`` bumps the assets it sees materialized; the token CLI bumps
``ops/api_tokens``. The serving API polls the table (one small query every
``poll_interval_s``): a cache entry carries the versions of the tables it read, so a bump makes
every entry over that table unreachable, on every instance at once.
"""

from __future__ import annotations

from collections.abc import Iterable

from dagster_project.warehouse import WarehouseSession

VERSIONS = "ops.serving_versions"
TOKENS_VERSION = "ops/api_tokens"
COLUMNS = [("name", "varchar"), ("version", "bigint"), ("updated_at", "timestamp")]


def bump_versions(session: WarehouseSession, names: Iterable[str]) -> None:
    """Add 1 to the version of each name (created at 1) in the caller's transaction."""
    session.create_table(VERSIONS, COLUMNS)
    now = session.clock()
    for name in sorted(set(names)):
        session.execute(f"update {VERSIONS} set version = version + 1, updated_at = ? "
                        "where name = ?", [now, name])
        session.execute(f"insert into {VERSIONS} (name, version, updated_at) select ?, 1, ? "
                        f"where not exists (select 1 from {VERSIONS} where name = ?)",
                        [name, now, name])


def read_versions(session: WarehouseSession) -> dict[str, int]:
    """Every name's current version ({} before the first bump)."""
    if not session.table_exists(VERSIONS):
        return {}
    return dict(session.read(f"select name, version from {VERSIONS}").rows())
