"""Create or update the engine's PostgreSQL roles, schemas, BI grants and the audit log.

    python -m dagster_project.postgres.roles [--dsn "host=... port=... user=postgres dbname=bi"]

Idempotent: running it again changes nothing. Run it as a superuser (or the database owner
with CREATEROLE that is a member of bi_writer and bi_audit_owner); without superuser rights
everything is set up except the event trigger that refuses DROP of ``audit.audit_log``.
Without ``--dsn`` the connection comes from the same variables as ``dbt/profiles.yml``
(BI_PG_HOST, BI_PG_PORT, BI_PG_USER, BI_PG_PASSWORD, BI_PG_DB).

The SQL lives in ``sql/*.sql`` next to this file and runs in file-name order, in one
transaction: either everything is applied or nothing is. What each role may do is described
at the top of each file and in README ("Roles and BI access").
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

SQL_DIR = Path(__file__).with_name("sql")
# Serialises concurrent runs (an arbitrary constant: "bi_roles" in ASCII).
ADVISORY_LOCK_KEY = 0x62695F726F6C6573

WRITER, READER, CLIENT, AUDIT_OWNER = "bi_writer", "bi_reader", "bi_client", "bi_audit_owner"


def default_dsn() -> str:
    """The warehouse connection from settings (BI_PG_HOST, BI_PG_PORT, BI_PG_USER, ...)."""
    from dagster_project.settings import get_settings

    return get_settings().postgres_dsn


def sql_files() -> list[Path]:
    """The SQL scripts, in the order they run."""
    return sorted(SQL_DIR.glob("*.sql"))


# reporting relations with a client_id column that are not tables: no policy can scope them
UNSCOPED = (
    "select c.relname from pg_class c join pg_namespace n on n.oid = c.relnamespace"
    " join pg_attribute a on a.attrelid = c.oid and a.attname = 'client_id' and not a.attisdropped"
    " where n.nspname = 'reporting' and c.relkind not in ('r', 'p') order by 1"
)


def apply_roles(conninfo: str) -> tuple[list[str], list[str]]:
    """Run every script in one transaction; returns the reporting tables under row security
    and the client-keyed reporting relations that are not tables (views left by an older
    build: bi_client cannot read them until dbt rebuilds them as tables)."""
    import psycopg

    with psycopg.connect(conninfo) as con:
        con.execute("select pg_advisory_xact_lock(%s)", [ADVISORY_LOCK_KEY])
        for path in sql_files():
            try:
                con.execute(path.read_text())
            except psycopg.Error as exc:
                raise RuntimeError(f"{path.name}: {exc}") from exc
        secured = con.execute(
            "select c.relname from pg_class c join pg_namespace n on n.oid = c.relnamespace "
            "where n.nspname = 'reporting' and c.relrowsecurity order by 1"
        ).fetchall()
        unscoped = con.execute(UNSCOPED).fetchall()
    return [r[0] for r in secured], [r[0] for r in unscoped]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m dagster_project.postgres.roles",
        description="Create or update the BI engine's PostgreSQL roles, grants and audit log "
        "(idempotent).",
    )
    parser.add_argument(
        "--dsn",
        default=None,
        help="libpq connection string of an administrator (default: from BI_PG_HOST, "
        "BI_PG_PORT, BI_PG_USER, BI_PG_PASSWORD, BI_PG_DB)",
    )
    args = parser.parse_args(argv)
    try:
        secured, unscoped = apply_roles(args.dsn or default_dsn())
    except Exception as exc:  # noqa: BLE001 - a CLI: one clear line, non-zero exit
        print(f"roles: failed: {exc}", file=sys.stderr)
        return 1
    print(
        f"roles: {WRITER} (owns raw, raw_quarantine, staging, intermediate, marts, analytics, "
        f"reporting, ops), {READER} (SELECT marts, analytics, reporting), {CLIENT} (rows of "
        f"app.client_id), {AUDIT_OWNER} (owns audit.audit_log, append-only, hash-chained)"
    )
    print(f"row-level security on {len(secured)} reporting table(s): {', '.join(secured) or '-'}")
    if unscoped:
        print(f"warning: client-keyed reporting relations that are not tables, unreadable by "
              f"{CLIENT} until dbt rebuilds them as tables: {', '.join(unscoped)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
