"""BI access and isolation on PostgreSQL, proven by connecting as the roles themselves.

On a database of its own in the session's throwaway server: the roles command runs twice
(`python -m dagster_project.postgres.roles`, the documented CLI), the hand-made raw rows of
tests/dbt_helpers.py are loaded and dbt builds every reporting model (and everything upstream)
as bi_writer, the pipeline's role. The client-keyed relations are every relation of schema
reporting with a client_id column, read from the catalog (no list to keep up to date); the
expected rows of each client come from the same relation read by the superuser, who is not
subject to row-level security. The audit log's protections: tests/integration/test_pg_audit_log.py.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest
from psycopg import errors

pytestmark = [pytest.mark.integration, pytest.mark.postgres]

REPO_ROOT = Path(__file__).resolve().parents[2]
DBT_PROJECT_DIR = REPO_ROOT / "dbt"
DB = "bi_roles"
# Every reporting model and everything upstream of them.
DBT_SELECT = ["+path:models/reporting"]
CLIENT_KEYED = (
    "select c.oid::regclass::text, c.relkind::text, c.relrowsecurity from pg_class c"
    " join pg_attribute a on a.attrelid = c.oid and a.attname = 'client_id' and not a.attisdropped"
    " where c.relnamespace = 'reporting'::regnamespace order by 1"
)


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


def _dbt(server, tmp: Path, *args: str, project_dir: Path = DBT_PROJECT_DIR
         ) -> subprocess.CompletedProcess:
    dbt = Path(sys.executable).with_name("dbt")
    return subprocess.run(
        [str(dbt if dbt.exists() else "dbt"), *args,
         "--project-dir", str(project_dir), "--profiles-dir", str(project_dir),
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


def _dbt_build(server, tmp: Path) -> None:
    result = _dbt(server, tmp, "build", "--select", *DBT_SELECT, "--indirect-selection",
                  "cautious")
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]


def _catalog_state(con: psycopg.Connection) -> dict[str, list[tuple]]:
    """Everything the roles command sets, as plain rows (oids included: nothing recreated)."""
    queries = {
        "roles": "select rolname, rolsuper, rolinherit, rolcanlogin, rolbypassrls, rolcreaterole,"
        " rolcreatedb from pg_roles where rolname like 'bi\\_%' order by 1",
        "database": "select datacl::text from pg_database where datname = current_database()",
        "schemas": "select oid, nspname, nspowner::regrole::text, nspacl::text from pg_namespace"
        " where nspname in ('raw', 'raw_quarantine', 'staging', 'intermediate', 'marts',"
        " 'analytics', 'reporting', 'ops', 'audit', 'bi_audit') order by 2",
        "default_acl": "select defaclrole::regrole::text, defaclnamespace::regnamespace::text,"
        " defaclobjtype, defaclacl::text from pg_default_acl order by 1, 2, 3",
        "relations": "select c.oid, c.oid::regclass::text, c.relowner::regrole::text,"
        " c.relacl::text, c.relrowsecurity from pg_class c join pg_namespace n"
        " on n.oid = c.relnamespace where n.nspname in ('ops', 'audit', 'reporting', 'marts')"
        " order by 2",
        "policies": "select oid, polrelid::regclass::text, polname, polroles::regrole[]::text,"
        " pg_get_expr(polqual, polrelid) from pg_policy order by 2, 3",
        "triggers": "select oid, tgrelid::regclass::text, tgname, tgfoid::regproc::text"
        " from pg_trigger where not tgisinternal order by 2, 3",
        "functions": "select oid, proname, proowner::regrole::text, proacl::text, prosrc"
        " from pg_proc where pronamespace in ('audit'::regnamespace, 'bi_audit'::regnamespace)"
        " order by 2",
        "event_triggers": "select evtname, evtevent, evtfoid::regproc::text, evtenabled"
        " from pg_event_trigger order by 1",
    }
    return {name: con.execute(sql).fetchall() for name, sql in queries.items()}


def _write_analytics_rows(conninfo: str) -> None:
    """Stand in for the Python assets and the alerting pass whose tables are a client-keyed
    reporting model's only source (dbt alone builds those models empty): a forecast row for
    every client, an experiment of c1 with its read-out, an open alert about c2."""
    with psycopg.connect(conninfo, autocommit=True) as con:
        con.execute("""
            create table analytics.experiments as
            select 'exp-c1' as experiment_id, 'c1' as client_id, 'caption_test' as experiment_name,
                'content' as kind, timestamp '2025-01-01' as start_at,
                timestamp '2025-02-01' as end_at""")
        con.execute("""
            create table analytics.experiment_results as
            select 'exp-c1' as experiment_id, 'conversion' as metric, 'treatment' as variant,
                'proportion' as metric_type, true as is_primary, 100.0 as n_control,
                100.0 as n_treatment, 0.1 as control_mean, 0.12 as treatment_mean,
                0.02 as abs_lift, -0.06 as abs_ci_low, 0.1 as abs_ci_high, 0.2 as rel_lift,
                -0.6 as rel_ci_low, 1.0 as rel_ci_high, 0.6 as p_value, 0.6 as p_holm,
                0.6 as p_bh, 1.0 as seq_p_value, 0.7 as chance_to_beat_control,
                false as srm_flag, 0.9 as srm_p_value, 'do not ship' as decision,
                'no significant effect' as decision_reason, null::text as winning_variant,
                'ok' as status, 'computed' as status_message""")
        con.execute("""
            create table ops.alerts as
            select 'client_revenue_drop|c2' as alert_key, 'client_revenue_drop' as rule,
                'metric_anomalies' as source, 'client_daily_revenue' as metric,
                'c2' as entity, 'Revenue drop for c2' as title, 'warning' as severity,
                false as escalated, 'open' as status, 1::bigint as occurrences,
                null::text as note, timestamp '2025-02-01' as first_seen,
                timestamp '2025-02-01' as last_seen, timestamp '2025-02-01' as updated_at""")
        con.execute("""
            create table analytics.revenue_forecast as
            select client_id, 'client' as series_kind, date '2025-03-01' as forecast_date,
                1::bigint as horizon_days, 0.8::double precision as level,
                10.0::double precision as forecast, 5.0::double precision as lower,
                15.0::double precision as upper, 0.8::double precision as backtest_coverage,
                'ensemble' as method, 'ok' as status, 'ok' as status_message,
                date '2025-02-28' as as_of_date
            from raw.clients""")


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
    _write_analytics_rows(pg_server.conninfo(DB, user="bi_writer"))
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


def _client_keyed(warehouse) -> list[str]:
    """Every relation of schema reporting with a client_id column, from the catalog."""
    with _connect(warehouse, "postgres") as con:
        return [r[0] for r in con.execute(CLIENT_KEYED).fetchall()]


def _assert_each_client_sees_only_its_rows(warehouse) -> None:
    for table in _client_keyed(warehouse):
        truth = _rows_by_client(warehouse, table)
        assert sum(truth.values()) > 0, f"{table}: the tiny rows give no client a row to check"
        for client in [*truth, "c_unknown"]:
            seen = _client_rows(warehouse, table, client)
            assert set(seen) <= {client}, f"{table}: {client} read rows of {set(seen) - {client}}"
            assert len(seen) == truth.get(client, 0), (table, client)


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
    assert owners.pop("bi_audit") == owners.pop("audit") == "bi_audit_owner"
    assert owners == dict.fromkeys(
        ["analytics", "intermediate", "marts", "ops", "raw", "raw_quarantine", "reporting",
         "staging"], "bi_writer"
    )


def test_client_role_is_noinherit_and_cannot_bypass_row_security(warehouse):
    roles = {r[0]: r[1:] for r in warehouse["states"][1]["roles"]}
    superuser, inherit, login, bypassrls = roles["bi_client"][:4]
    assert (superuser, inherit, login, bypassrls) == (False, False, True, False)


# --- bi_client: client-scoped access through row-level security -------------------------------


def _documented_client_keyed_models(tmp: Path) -> set[str]:
    """The reporting models whose YAML documents a client_id column (the build's manifest)."""
    manifest = json.loads((tmp / "target" / "manifest.json").read_text())
    return {
        f"reporting.{node['alias']}" for node in manifest["nodes"].values()
        if node["resource_type"] == "model" and node["fqn"][1] == "reporting"
        and "client_id" in node["columns"]
    }


def test_every_client_keyed_reporting_relation_is_a_table_under_row_security(warehouse):
    with _connect(warehouse, "postgres") as con:
        keyed = con.execute(CLIENT_KEYED).fetchall()
        policies = con.execute(
            "select polrelid::regclass::text, polname from pg_policy"
            " where polrelid::regclass::text like 'reporting.%'").fetchall()
    names = {t for t, _, _ in keyed}
    # the catalog holds at least what the models document, the channel attribution included
    assert names >= _documented_client_keyed_models(warehouse["tmp"])
    assert {"reporting.rpt_channel_attribution", "reporting.rpt_client_business_metrics"} <= names
    assert [(t, kind, on) for t, kind, on in keyed if (kind, on) != ("r", True)] == []
    assert set(policies) >= {(t, p) for t in names
                             for p in ("bi_client_own_rows", "bi_reader_all_rows")}


def test_client_reads_only_its_own_rows_in_every_client_keyed_relation(warehouse):
    # the business metrics (issue 16) have a row per client from the marts alone, so the
    # isolation below is exercised on them too
    assert sum(_rows_by_client(warehouse, "reporting.rpt_client_business_metrics").values()) > 0
    _assert_each_client_sees_only_its_rows(warehouse)


def test_client_without_app_client_id_reads_no_rows(warehouse):
    for table in _client_keyed(warehouse):
        assert len(_rows_by_client(warehouse, table)) > 0, table
        assert _client_rows(warehouse, table, None) == [], table
        assert _client_rows(warehouse, table, "") == [], table


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
     "raw.clients", "audit.audit_log", "staging.stg_raw__clients"],
)
def test_client_cannot_read_anything_but_client_keyed_reporting_tables(warehouse, table):
    with _connect(warehouse, "bi_client", options="-c app.client_id=c1") as con:
        _fails(con, f"select * from {table}")


def test_client_cannot_write_its_reporting_rows(warehouse):
    with _connect(warehouse, "bi_client", options="-c app.client_id=c1") as con:
        _fails(con, "delete from reporting.rpt_client_subscription")
        _fails(con, "update reporting.rpt_client_subscription set current_mrr = 0")


# --- bi_reader -------------------------------------------------------------------------------


def test_reader_selects_every_row_of_marts_and_reporting(warehouse):
    tables = ["marts.fct_revenue_daily", "marts.dim_clients", "reporting.rpt_mrr_daily_total",
              *_client_keyed(warehouse)]
    for table in tables:
        with _connect(warehouse, "postgres") as con:
            (expected,) = con.execute(f"select count(*) from {table}").fetchone()
        with _connect(warehouse, "bi_reader") as con:
            (seen,) = con.execute(f"select count(*) from {table}").fetchone()
        assert expected > 0, table
        assert seen == expected, table


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
    ["raw.clients", "audit.audit_log", "staging.stg_raw__clients", "intermediate.int_as_of_date"],
)
def test_reader_cannot_read_raw_audit_or_staging(warehouse, table):
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


# --- TEMP: nobody but the writer creates anything --------------------------------------------


@pytest.mark.parametrize("user", ["bi_reader", "bi_client"])
def test_bi_roles_cannot_create_temporary_tables(warehouse, user):
    with _connect(warehouse, user) as con:
        _fails(con, "create temporary table scratch (x int)")


def test_a_per_client_role_cannot_create_temporary_tables_either(warehouse):
    with _connect(warehouse, "postgres") as con:
        con.execute("drop role if exists bi_client_c9")
        con.execute("create role bi_client_c9 login in role bi_client")
    try:
        with _connect(warehouse, "bi_client_c9") as con:
            _fails(con, "create temporary table scratch (x int)")
    finally:
        with _connect(warehouse, "postgres") as con:
            con.execute("drop role bi_client_c9")


def test_writer_keeps_temporary_tables_for_its_bulk_writes(warehouse):
    with _connect(warehouse, "bi_writer") as con:
        con.execute("create temporary table scratch (x int)")
        con.execute("insert into scratch values (1)")
        assert con.execute("select x from scratch").fetchall() == [(1,)]


# --- rebuilds and re-runs --------------------------------------------------------------------


def test_dbt_rebuild_recreates_tables_and_keeps_their_policies(warehouse):
    keyed = _client_keyed(warehouse)
    oids = "select oid from pg_class where oid::regclass::text = any(%s) order by oid"
    with _connect(warehouse, "postgres") as con:
        before = con.execute(oids, [keyed]).fetchall()
    _dbt_build(warehouse["server"], warehouse["tmp"])
    with _connect(warehouse, "postgres") as con:
        after = con.execute(oids, [keyed]).fetchall()
    assert len(after) == len(keyed)
    assert not set(before) & set(after), "dbt did not rebuild the tables"
    _assert_each_client_sees_only_its_rows(warehouse)
    with _connect(warehouse, "bi_client") as con:
        assert con.execute(f"select * from {keyed[0]}").fetchall() == []
    with _connect(warehouse, "bi_reader") as con:
        # the three clients of tests/dbt_helpers.py
        assert con.execute("select count(*) from reporting.rpt_client_subscription"
                           ).fetchone()[0] == 3


def test_a_client_keyed_view_fails_the_dbt_build(warehouse, tmp_path):
    # a copy of the project with one more reporting model, a view with client_id
    project = tmp_path / "dbt"
    shutil.copytree(DBT_PROJECT_DIR, project, ignore=shutil.ignore_patterns("target", "logs"))
    (project / "models" / "reporting" / "rpt_client_view.sql").write_text(
        "{{ config(materialized='view') }}\n"
        "select client_id, current_mrr from {{ ref('dim_clients') }}\n")
    result = _dbt(warehouse["server"], tmp_path, "run", "--select", "rpt_client_view",
                  project_dir=project)
    assert result.returncode != 0
    assert ("reporting.rpt_client_view has a client_id column but is not a table"
            in result.stdout), result.stdout[-3000:]
    with _connect(warehouse, "postgres") as con:
        con.execute("drop view if exists reporting.rpt_client_view")


def test_roles_command_names_a_client_keyed_view_left_by_an_older_build(warehouse):
    with _connect(warehouse, "bi_writer") as con:
        con.execute("create view reporting.rpt_old_client_view as"
                    " select client_id from reporting.rpt_client_subscription")
    try:
        output = _run_roles_command(warehouse["server"].conninfo(DB)).stdout
    finally:
        with _connect(warehouse, "bi_writer") as con:
            con.execute("drop view reporting.rpt_old_client_view")
    assert "not tables, unreadable by bi_client until dbt rebuilds them as tables: " \
        "rpt_old_client_view" in output


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
