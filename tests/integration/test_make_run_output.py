"""``make run`` as a person sees it: the pipeline command on tiny data in a subprocess.

The terminal gets one progress line per materialized asset, the domains with their headlines and
the log's path; dbt's lines and warnings go to the log. Every expected figure is computed here
from the warehouse, the landing files or the Dagster instance, not by the summary's code.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import dagster as dg
import duckdb
import polars as pl
import pytest

from dagster_project.settings import PROJECT_ROOT

pytestmark = pytest.mark.integration

PROGRESS = re.compile(r"^\[\s*(\d+)/(\d+)\] \d+:\d\d  (\S+)  (view|[\d,]+ rows)$")
DOMAIN = re.compile(r"^(\w+)\s+(\d+) assets\s+([\d,]+) rows$")


def run_pipeline(env_dir: Path) -> subprocess.CompletedProcess:
    environment = os.environ | {"PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}"}
    return subprocess.run(
        [sys.executable, "-m", "dagster_project.pipeline", "--scale", "tiny", "--seed", "7"],
        cwd=PROJECT_ROOT, env=environment, capture_output=True, text=True, timeout=1200,
        check=False)


@pytest.fixture(scope="module")
def finished(module_pipeline_env):
    result = run_pipeline(module_pipeline_env.root)
    return module_pipeline_env, result, result.stdout.splitlines()


def summary_of(lines: list[str]) -> dict[str, tuple[int, int, str | None]]:
    """domain -> (assets, rows, headline) from the lines after the progress lines."""
    out, current = {}, None
    for line in lines:
        if match := DOMAIN.match(line):
            current = match[1]
            out[current] = (int(match[2]), int(match[3].replace(",", "")), None)
        elif line.startswith("  ") and current is not None:
            out[current] = (*out[current][:2], line.strip())
        else:
            current = None
    return out


def test_the_terminal_shows_a_line_per_asset_and_no_dbt_or_warning_lines(finished):
    env, result, lines = finished
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stderr == ""
    progress = [PROGRESS.match(line) for line in lines if PROGRESS.match(line)]
    total = int(progress[0][2])
    assert [int(m[1]) for m in progress] == list(range(1, total + 1))
    instance = dg.DagsterInstance.from_config(str(env.dagster_home))
    run = instance.get_runs(limit=1)[0]
    materialized = {r.asset_key.to_user_string() for r in instance.get_records_for_run(
        run.run_id, of_type=dg.DagsterEventType.ASSET_MATERIALIZATION).records
        for r in [r.event_log_entry.dagster_event]}
    assert {m[3] for m in progress} == materialized
    assert len(materialized) == total
    assert not [line for line in lines if " of 268 " in line or "Warning" in line]
    # the progress lines, the domains and their headlines, and six lines around them
    assert len(lines) <= total + 2 * len(summary_of(lines)) + 6
    assert lines[-2].startswith(f"nightly_refresh succeeded: {total} of {total} assets")


def test_the_log_file_holds_dbt_output_and_its_path_is_printed_first_and_last(finished):
    env, _, lines = finished
    assert lines[0] == lines[-1]
    log = Path(lines[0].removeprefix("log: "))
    assert log.parent == env.root / "logs"
    text = log.read_text()
    assert re.search(r"PASS not_null_stg_raw__clients_client_id", text)
    assert "marts/fct_revenue_daily" in text


def test_progress_rows_equal_the_warehouse_tables(finished):
    env, _, lines = finished
    rows = {m[3]: m[4] for line in lines if (m := PROGRESS.match(line))}
    con = duckdb.connect(str(env.duckdb_path), read_only=True)
    try:
        kinds = dict(con.execute(
            "select table_schema || '/' || table_name, table_type from information_schema.tables"
        ).fetchall())
        for asset, shown in rows.items():
            if kinds.get(asset) == "VIEW":
                assert shown == "view", asset
            elif asset in kinds:
                n = con.execute(f"select count(*) from {asset.replace('/', '.')}").fetchone()[0]
                assert shown == f"{n:,} rows", asset
    finally:
        con.close()


def test_domains_count_their_assets_by_dagster_group(finished):
    _, _, lines = finished
    from dagster_project.definitions import defs

    job = defs().resolve_job_def("nightly_refresh")
    graph = job.asset_layer.asset_graph
    groups = pl.Series([graph.get(k).group_name for k in job.asset_layer.selected_asset_keys])
    expected = dict(groups.value_counts().iter_rows())
    shown = {domain: assets for domain, (assets, _, _) in summary_of(lines).items()}
    assert shown == expected


def fmt(n: float) -> str:
    return f"{n:,.2f}"


def test_headlines_state_what_the_warehouse_holds(finished):
    env, _, lines = finished
    heads = {domain: text for domain, (_, _, text) in summary_of(lines).items()}
    q = env.query
    orders = pl.read_parquet(env.landing / "conversions" / "**" / "*.parquet")
    assert heads["revenue"] == f"orders {orders.height:,}, revenue {fmt(orders['revenue'].sum())}"

    mrr = q("select date_day, sum(mrr) as mrr, sum(active_clients) as n "
            "from marts.fct_mrr_daily group by date_day order by date_day desc limit 1").row(0)
    assert heads["subscriptions"] == f"MRR on {mrr[0]}: {fmt(mrr[1])} from {mrr[2]:,} active clients"

    by_client = orders.group_by("client_id").agg(pl.col("revenue").sum()).sort(
        ["revenue", "client_id"], descending=[True, False]).row(0)
    comparison = q(f"select * from analytics.attribution_model_comparison "
                   f"where client_id = '{by_client[0]}'")
    model = comparison["recommended_model"][0]
    top = comparison.sort([f"share_{model}", "channel"], descending=[True, False]).row(0, named=True)
    assert heads["attribution"] == (
        f"largest client {by_client[0]} (revenue {fmt(by_client[1])}): recommended model {model}, "
        f"top channel {top['channel']} ({top[f'share_{model}']:.1%})")

    primary = q("select experiment_id, decision, winning_variant from "
                "analytics.experiment_results where is_primary")
    assert primary.group_by("experiment_id").agg(pl.col("decision").n_unique())["decision"].max() == 1
    decisions = primary.filter(pl.col("winning_variant").is_not_null() | (pl.col("decision") != "ship")
                               ).unique("experiment_id")
    assert heads["experiments"].startswith(f"{decisions.height} experiments: ")
    for decision, n in decisions["decision"].value_counts().iter_rows():
        assert f"{decision} {n}" in heads["experiments"]
    for experiment, variant in decisions.filter(pl.col("decision") == "ship").select(
            "experiment_id", "winning_variant").iter_rows():
        assert f"{experiment} ({variant})" in heads["experiments"]

    open_alerts = q("select count(*) as n from ops.alerts where status = 'open'")["n"][0]
    flagged = q("select count(*) as n from analytics.metric_anomalies where status = 'ok'")["n"][0]
    assert heads["monitoring"].startswith(f"open alerts: {open_alerts}")
    assert heads["monitoring"].endswith(f"anomalies flagged: {flagged}")

    actions = q("select action from analytics.price_recommendations")["action"].value_counts()
    for action, n in actions.iter_rows():
        assert f"{action} {n}" in heads["pricing"]
    assert "proposals waiting for review: 0" in heads["pricing"]  # nightly writes no proposal

    savings = q("select * from analytics.automation_savings")
    assert heads["usage"] == (f"automation saved {savings['hours_saved'].sum():,.1f} hours, "
                              f"worth {fmt(savings['value_saved'].sum())}")

    churn = q("select * from analytics.client_churn_risk")
    clv = q("select * from analytics.customer_clv")
    assert heads["customers"].startswith(
        f"clients with a churn risk: {churn['churn_risk'].count()} of {churn.height}")
    assert f"end customers with a CLV: {clv['clv'].count():,} of {clv.height:,}" in heads["customers"]

    series = q("select series_id, bool_or(status = 'ok') as ok from analytics.revenue_forecast "
               "group by series_id")
    assert heads["forecasting"].startswith(
        f"revenue series with a forecast: {series['ok'].sum()} of {series.height}")

    overall = q("select health from analytics.performance_status where component = 'platform' "
                "and component_type = 'overall'")["health"][0]
    assert heads["performance"].startswith(f"overall {overall}: ")


def test_a_failed_run_names_the_failing_assets_and_error_and_exits_non_zero(
        tmp_path, tiny_simulation, pipeline_env_factory, monkeypatch):
    env = pipeline_env_factory(tmp_path, tiny_simulation, monkeypatch)
    holder = duckdb.connect(str(env.duckdb_path))  # another writer holds the warehouse's lock
    try:
        result = run_pipeline(env.root)
    finally:
        holder.close()
    lines = result.stdout.splitlines()
    assert result.returncode == 1
    assert result.stderr == ""
    assert re.match(r"nightly_refresh FAILED: \d+ of \d+ assets", next(
        line for line in lines if line.startswith("nightly_refresh FAILED")))
    failed = [line for line in lines if line.startswith("failed: ")]
    assert "failed: raw/clients (step raw__clients)" in failed
    assert any("lock" in line.lower() for line in lines if line.startswith("  "))
    log = Path(lines[-1].removeprefix("log: "))
    assert lines[0] == lines[-1] and "Could not set lock" in log.read_text()  # the full error


def test_dbt_docs_describe_every_model_and_column_of_the_built_warehouse(finished, tmp_path):
    """The catalog lists the columns the warehouse really has (not only those in YAML)."""
    env, _, _ = finished
    dbt_dir = PROJECT_ROOT / "dbt"
    target = tmp_path / "docs"
    docs = subprocess.run(  # the command of `make docs`
        [str(Path(sys.executable).with_name("dbt")), "docs", "generate", "--quiet", "--static",
         "--project-dir", str(dbt_dir), "--profiles-dir", str(dbt_dir), "--target", "duckdb",
         "--target-path", str(target)],
        cwd=dbt_dir, env=os.environ | {"BI_DUCKDB_PATH": str(env.duckdb_path)},
        capture_output=True, text=True, timeout=600, check=False)
    assert docs.returncode == 0, docs.stdout + docs.stderr
    assert (target / "static_index.html").stat().st_size > 0
    manifest = json.loads((target / "manifest.json").read_text())
    catalog = json.loads((target / "catalog.json").read_text())
    models = {uid: n for uid, n in manifest["nodes"].items() if n["resource_type"] == "model"}
    assert set(models) <= set(catalog["nodes"])  # every model was built
    undocumented = [n["name"] for n in models.values() if not n["description"].strip()]
    undocumented += [
        f"{n['name']}.{column}" for uid, n in models.items()
        for column in catalog["nodes"][uid]["columns"]
        if not n["columns"].get(column, {}).get("description", "").strip()]
    raw = {uid: s for uid, s in manifest["sources"].items() if s["source_name"] == "raw"}
    undocumented += [  # the raw tables too (rendered from the landing contract)
        f"raw.{s['name']}.{column}" for uid, s in raw.items()
        for column in catalog["sources"][uid]["columns"]
        if not s["columns"].get(column, {}).get("description", "").strip()]
    assert not undocumented, f"no description: {', '.join(sorted(undocumented))}"
    exposed = {e["name"]: e for e in manifest["exposures"].values()}
    assert {e["type"] for e in exposed.values()} == {"notebook", "dashboard"}
    for exposure in exposed.values():
        assert exposure["description"].strip() and exposure["depends_on"]["nodes"], exposure["name"]


def test_the_configured_export_reads_back_equal_to_the_built_warehouse(finished, tmp_path):
    from datetime import date

    from polars.testing import assert_frame_equal

    from dagster_project.exports import ExportConfig, export_tables, load_config
    from dagster_project.warehouse import Warehouse

    env, _, _ = finished
    tables = load_config(env.root).tables
    warehouse = Warehouse(duckdb_path=str(env.duckdb_path))
    with warehouse.session() as s:
        manifest = export_tables(s, ExportConfig(tmp_path, tables), date(2025, 2, 19))
    for entry in manifest["tables"]:
        stored = env.query(f"select * from {entry['table']}")
        assert entry["rows"] == stored.height > 0, entry["table"]
        name = entry["table"].split(".")[1]
        exported = pl.read_parquet(tmp_path / "2025-02-19" / f"{name}.parquet")
        assert_frame_equal(exported.sort(stored.columns), stored.sort(stored.columns))
