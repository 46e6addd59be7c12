"""BI access and isolation on PostgreSQL, proven by connecting as the roles themselves.

On a database of its own in the session's throwaway server: the roles command runs twice
(`python -m dagster_project.postgres.roles`, the documented CLI), the hand-made raw rows of
tests/dbt_helpers.py are loaded and dbt builds the reporting models (and everything upstream)
as bi_writer, the pipeline's role. The expected rows of each client come from the same table
read by the superuser, who is not subject to row-level security.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest
from psycopg import errors

from dagster_project.audit import record_audit
from dagster_project.warehouse import Warehouse

pytestmark = [pytest.mark.integration, pytest.mark.postgres]

REPO_ROOT = Path(__file__).resolve().parents[2]
DBT_PROJECT_DIR = REPO_ROOT / "dbt"
DB = "bi_roles"
CLIENT_TABLES = (
    "reporting.rpt_client_revenue_daily",
    "reporting.rpt_client_usage_daily",
    "reporting.rpt_client_subscription",
    "reporting.rpt_client_customers",
)
# The client-keyed reporting models, the company-wide one, and everything upstream of them.
DBT_SELECT = [f"+{t.split('.')[1]}" for t in CLIENT_TABLES] + ["+rpt_mrr_daily_total"]



def _run_roles_command(dsn: str) -> subprocess.CompletedProcess:
    result = subprocess.run(
        [sys.executable, "-m", "dagster_project.postgres.roles", "--dsn", dsn],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result


def _dbt_build(server, tmp: Path) -> None:
    dbt = Path(sys.executable).with_name("dbt")
    result = subprocess.run(
        [str(dbt if dbt.exists() else "dbt"), "build", "--select", *DBT_SELECT,
         "--indirect-selection", "cautious",
         "--project-dir", str(DBT_PROJECT_DIR), "--profiles-dir", str(DBT_PROJECT_DIR),
         "--target-path", str(tmp / "target"), "--log-path", str(tmp / "logs")],
        cwd=REPO_ROOT,
        env={**os.environ, "DBT_TARGET": "postgres", "BI_PG_HOST": "127.0.0.1",
             "BI_PG_PORT": str(server.port), "BI_PG_USER": "bi_writer", "BI_PG_PASSWORD": "",
             "BI_PG_DB": DB},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]


def _catalog_state(con: psycopg.Connection) -> dict[str, list[tuple]]:
    """Everything the roles command sets, as plain rows (oids included: nothing recreated)."""
    queries = {
        "roles": "select rolname, rolsuper, rolinherit, rolcanlogin, rolbypassrls, rolcreaterole,"
        " rolcreatedb from pg_roles where rolname like 'bi\\_%' order by 1",
        "database": "select datacl::text from pg_database where datname = current_database()",
        "schemas": "select oid, nspname, nspowner::regrole::text, nspacl::text from pg_namespace"
        " where nspname in ('raw', 'raw_quarantine', 'staging', 'intermediate', 'marts',"
        " 'analytics', 'reporting', 'ops', 'bi_audit') order by 2",
        "default_acl": "select defaclrole::regrole::text, defaclnamespace::regnamespace::text,"
        " defaclobjtype, defaclacl::text from pg_default_acl order by 1, 2, 3",
        "relations": "select c.oid, c.oid::regclass::text, c.relowner::regrole::text,"
        " c.relacl::text, c.relrowsecurity from pg_class c join pg_namespace n"
        " on n.oid = c.relnamespace where n.nspname in ('ops', 'reporting', 'marts') order by 2",
        "policies": "select oid, polrelid::regclass::text, polname, polroles::regrole[]::text,"
        " pg_get_expr(polqual, polrelid) from pg_policy order by 2, 3",
        "triggers": "select oid, tgrelid::regclass::text, tgname, tgfoid::regproc::text"
        " from pg_trigger where not tgisinternal order by 2, 3",
        "functions": "select oid, proname, proowner::regrole::text, proacl::text, prosrc"
        " from pg_proc where pronamespace = 'bi_audit'::regnamespace order by 2",
        "event_triggers": "select evtname, evtevent, evtfoid::regproc::text, evtenabled"
        " from pg_event_trigger order by 1",
    }
    return {name: con.execute(sql).fetchall() for name, sql in queries.items()}


@pytest.fixture(scope="module")
def warehouse(pg_server, tmp_path_factory, dbt_helpers):
    """Roles applied twice (states recorded), tiny raw rows loaded and dbt built as bi_writer."""
    with psycopg.connect(pg_server.conninfo(), autocommit=True) as con:
        con.execute(f"drop database if exists {DB}")
        con.execute(f"create database {DB}")
    admin_dsn = pg_server.conninfo(DB)
    states, outputs = [], []
    for _ in range(2):
        outputs.append(_run_roles_command(admin_dsn).stdout)
        with psycopg.connect(admin_dsn) as con:
            states.append(_catalog_state(con))
    dbt_helpers.build_tiny_postgres(pg_server.conninfo(DB, user="bi_writer"))
    tmp = tmp_path_factory.mktemp("dbt_roles")
    _dbt_build(pg_server, tmp)
    return {"server": pg_server, "states": states, "outputs": outputs, "tmp": tmp}


def _connect(warehouse, user: str, **kwargs) -> psycopg.Connection:
    return psycopg.connect(warehouse["server"].conninfo(DB, user=user), autocommit=True, **kwargs)


def _rows_by_client(warehouse, table: str) -> dict[str, int]:
    """Rows per client_id as the superuser sees them (not subject to row-level security)."""
    with _connect(warehouse, "postgres") as con:
        return dict(con.execute(f"select client_id, count(*) from {table} group by 1").fetchall())


def _client_rows(warehouse, table: str, client_id: str | None) -> list[str]:
    with _connect(warehouse, "bi_client") as con:
        if client_id is not None:
            con.execute("select set_config('app.client_id', %s, false)", [client_id])
        return [r[0] for r in con.execute(f"select client_id from {table}").fetchall()]


def _assert_each_client_sees_only_its_rows(warehouse) -> None:
    for table in CLIENT_TABLES:
        truth = _rows_by_client(warehouse, table)
        assert truth.get("c1", 0) > 0, f"{table}: the tiny rows give client c1 no row to check"
        for client in ("c1", "c2", "c3"):
            seen = _client_rows(warehouse, table, client)
            assert set(seen) <= {client}, f"{table}: {client} read rows of {set(seen) - {client}}"
            assert len(seen) == truth.get(client, 0), table


def _fails(con: psycopg.Connection, sql: str, error=errors.InsufficientPrivilege) -> str:
    with pytest.raises(error) as info:
        con.execute(sql)
    return str(info.value)


# --- the roles command ------------------------------------------------------------------------


def test_roles_command_run_twice_succeeds_and_changes_nothing(warehouse):
    first, second = warehouse["states"]
    assert first == second
    assert {r[0] for r in first["roles"]} >= {"bi_writer", "bi_reader", "bi_client",
                                               "bi_audit_owner"}
    assert "bi_client" in warehouse["outputs"][1]


def test_writer_owns_every_engine_schema(warehouse):
    owners = {name: owner for _, name, owner, _ in warehouse["states"][1]["schemas"]}
    assert owners.pop("bi_audit") == "bi_audit_owner"
    assert owners == dict.fromkeys(
        ["analytics", "intermediate", "marts", "ops", "raw", "raw_quarantine", "reporting",
         "staging"], "bi_writer"
    )


def test_client_role_is_noinherit_and_cannot_bypass_row_security(warehouse):
    roles = {r[0]: r[1:] for r in warehouse["states"][1]["roles"]}
    superuser, inherit, login, bypassrls = roles["bi_client"][:4]
    assert (superuser, inherit, login, bypassrls) == (False, False, True, False)


# --- bi_client: client-scoped access through row-level security -------------------------------


def test_every_client_keyed_reporting_table_has_row_security(warehouse):
    with _connect(warehouse, "postgres") as con:
        keyed = con.execute(
            "select c.oid::regclass::text, c.relrowsecurity from pg_class c"
            " join pg_attribute a on a.attrelid = c.oid and a.attname = 'client_id'"
            " where c.relnamespace = 'reporting'::regnamespace and c.relkind = 'r'"
        ).fetchall()
    assert {t for t, _ in keyed} >= set(CLIENT_TABLES)
    assert all(on for _, on in keyed), keyed


def test_client_reads_only_its_own_rows_in_every_client_keyed_table(warehouse):
    _assert_each_client_sees_only_its_rows(warehouse)


@pytest.mark.parametrize("table", CLIENT_TABLES)
def test_client_without_app_client_id_reads_no_rows(warehouse, table):
    assert len(_rows_by_client(warehouse, table)) > 0
    assert _client_rows(warehouse, table, None) == []
    assert _client_rows(warehouse, table, "") == []


def test_client_id_set_in_connection_options_scopes_the_session(warehouse):
    # what a BI tool's connection string can carry: options=-c app.client_id=c2
    truth = _rows_by_client(warehouse, "reporting.rpt_client_revenue_daily")
    with _connect(warehouse, "bi_client", options="-c app.client_id=c2") as con:
        rows = con.execute("select client_id from reporting.rpt_client_revenue_daily").fetchall()
    assert [r[0] for r in rows] == ["c2"] * truth["c2"]


def test_per_client_login_role_with_a_pinned_client_id_reads_only_its_rows(warehouse):
    # README's per-client database user: member of bi_client, app.client_id set on the role
    truth = _rows_by_client(warehouse, "reporting.rpt_client_subscription")
    with _connect(warehouse, "postgres") as con:
        con.execute("drop role if exists bi_client_c3")
        con.execute("create role bi_client_c3 login in role bi_client")
        con.execute("alter role bi_client_c3 set app.client_id = 'c3'")
    try:
        with _connect(warehouse, "bi_client_c3") as con:
            rows = con.execute("select client_id from reporting.rpt_client_subscription").fetchall()
            _fails(con, "select * from marts.dim_clients")
        assert [r[0] for r in rows] == ["c3"] * truth["c3"]
    finally:
        with _connect(warehouse, "postgres") as con:
            con.execute("drop role bi_client_c3")


@pytest.mark.parametrize(
    "table",
    ["marts.fct_revenue_daily", "marts.dim_clients", "reporting.rpt_mrr_daily_total",
     "raw.clients", "ops.audit_log", "staging.stg_raw__clients"],
)
def test_client_cannot_read_anything_but_client_keyed_reporting_tables(warehouse, table):
    with _connect(warehouse, "bi_client", options="-c app.client_id=c1") as con:
        _fails(con, f"select * from {table}")


def test_client_cannot_write_its_reporting_rows(warehouse):
    with _connect(warehouse, "bi_client", options="-c app.client_id=c1") as con:
        _fails(con, "delete from reporting.rpt_client_subscription")
        _fails(con, "update reporting.rpt_client_subscription set current_mrr = 0")


# --- bi_reader -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "table",
    ["marts.fct_revenue_daily", "marts.dim_clients", "reporting.rpt_mrr_daily_total",
     *CLIENT_TABLES],
)
def test_reader_selects_every_row_of_marts_and_reporting(warehouse, table):
    with _connect(warehouse, "postgres") as con:
        (expected,) = con.execute(f"select count(*) from {table}").fetchone()
    with _connect(warehouse, "bi_reader") as con:
        (seen,) = con.execute(f"select count(*) from {table}").fetchone()
    assert expected > 0
    assert seen == expected


@pytest.mark.parametrize(
    "sql",
    [
        "insert into marts.dim_clients (client_id) values ('x')",
        "update marts.dim_clients set current_mrr = 0",
        "delete from marts.fct_revenue_daily",
        "insert into reporting.rpt_client_subscription (client_id) values ('x')",
        "update reporting.rpt_client_revenue_daily set revenue = 0",
        "delete from reporting.rpt_client_usage_daily",
        "truncate reporting.rpt_client_subscription",
        "create table reporting.reader_table (x int)",
    ],
)
def test_reader_cannot_write(warehouse, sql):
    with _connect(warehouse, "bi_reader") as con:
        _fails(con, sql)


@pytest.mark.parametrize(
    "table",
    ["raw.clients", "ops.audit_log", "staging.stg_raw__clients", "intermediate.int_as_of_date"],
)
def test_reader_cannot_read_raw_ops_or_staging(warehouse, table):
    with _connect(warehouse, "bi_reader") as con:
        _fails(con, f"select * from {table}")


def test_reader_can_read_tables_the_writer_creates_later(warehouse):
    with _connect(warehouse, "bi_writer") as con:
        con.execute("drop table if exists analytics.created_later")
        con.execute("create table analytics.created_later as select 1 as x")
    try:
        with _connect(warehouse, "bi_reader") as con:
            assert con.execute("select x from analytics.created_later").fetchall() == [(1,)]
    finally:
        with _connect(warehouse, "bi_writer") as con:
            con.execute("drop table analytics.created_later")


# --- ops.audit_log ---------------------------------------------------------------------------


def test_writer_appends_to_audit_log_with_record_audit(warehouse):
    # through the pipeline's own Warehouse resource, connected as bi_writer
    wh = Warehouse(backend="postgres",
                   postgres_dsn=warehouse["server"].conninfo(DB, user="bi_writer"))
    with wh.session() as s:
        record_audit(s, "alice", "approve_price", "pricing_proposals/1",
                     {"status": "pending"}, {"status": "approved", "price": 31.5})
    with _connect(warehouse, "bi_writer") as con:
        row = con.execute(
            "select actor, action, object, before, after, occurred_at is not null"
            " from ops.audit_log where object = 'pricing_proposals/1'"
        ).fetchone()
    assert row == ("alice", "approve_price", "pricing_proposals/1", {"status": "pending"},
                   {"status": "approved", "price": 31.5}, True)


@pytest.mark.parametrize(
    "sql",
    ["update ops.audit_log set actor = 'mallory'", "delete from ops.audit_log",
     "truncate ops.audit_log"],
)
def test_writer_cannot_change_or_delete_audit_entries(warehouse, sql):
    with _connect(warehouse, "bi_writer") as con:
        con.execute("insert into ops.audit_log (actor, action, object) values ('w', 'x', 'y')")
        _fails(con, sql)


@pytest.mark.parametrize(
    "sql",
    ["update ops.audit_log set actor = 'mallory'", "delete from ops.audit_log",
     "truncate ops.audit_log"],
)
def test_even_a_superuser_cannot_change_audit_entries(warehouse, sql):
    # privileges do not bind a superuser (nor the owner): the triggers do
    with _connect(warehouse, "postgres") as con:
        assert "append-only" in _fails(con, sql)


@pytest.mark.parametrize(
    "sql",
    ["drop table ops.audit_log", "drop schema ops cascade",
     "drop trigger audit_log_append_only on ops.audit_log",
     "drop function bi_audit.audit_log_refuse_change() cascade", "drop schema bi_audit cascade"],
)
def test_writer_cannot_drop_the_audit_log_it_could_otherwise_drop_as_schema_owner(warehouse, sql):
    with _connect(warehouse, "bi_writer") as con:
        _fails(con, sql)
    with _connect(warehouse, "postgres") as con:
        assert con.execute("select to_regclass('ops.audit_log') is not null").fetchone()[0]


# --- rebuilds and re-runs --------------------------------------------------------------------


def test_dbt_rebuild_recreates_tables_and_keeps_their_policies(warehouse):
    oids = "select oid from pg_class where oid::regclass::text = any(%s) order by oid"
    with _connect(warehouse, "postgres") as con:
        before = con.execute(oids, [list(CLIENT_TABLES)]).fetchall()
    _dbt_build(warehouse["server"], warehouse["tmp"])
    with _connect(warehouse, "postgres") as con:
        after = con.execute(oids, [list(CLIENT_TABLES)]).fetchall()
    assert len(after) == len(CLIENT_TABLES)
    assert not set(before) & set(after), "dbt did not rebuild the tables"
    _assert_each_client_sees_only_its_rows(warehouse)
    with _connect(warehouse, "bi_client") as con:
        assert con.execute(f"select * from {CLIENT_TABLES[0]}").fetchall() == []
    with _connect(warehouse, "bi_reader") as con:
        assert con.execute(f"select count(*) from {CLIENT_TABLES[2]}").fetchone()[0] == 3


def test_roles_command_restores_row_security_stripped_from_a_table(warehouse):
    table = "reporting.rpt_client_subscription"
    with _connect(warehouse, "postgres") as con:
        con.execute(f"drop policy bi_client_own_rows on {table}")
        con.execute(f"drop policy bi_reader_all_rows on {table}")
        con.execute(f"alter table {table} disable row level security")
        con.execute(f"revoke select on {table} from bi_client")
    _run_roles_command(warehouse["server"].conninfo(DB))
    _assert_each_client_sees_only_its_rows(warehouse)
    with _connect(warehouse, "bi_reader") as con:
        assert con.execute(f"select count(*) from {table}").fetchone()[0] == 3
