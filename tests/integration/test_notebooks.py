"""What an analyst meets after a tiny build: every notebook in notebooks/ runs top to bottom,
reads the warehouse and never writes it; every asset's latest materialization shows its row
count, column schema and a preview, and every analytics asset shows a plot.

The warehouse is the one the pipeline builds (``nightly_refresh`` on tiny data: a private copy
of the session's build, see ``built_tiny_env`` in tests/conftest.py), plus what the admin and
alerting jobs add (pricing proposals, applied alert rules, an alerting pass), so the notebooks
meet the tables an analyst meets after ``make run`` and a day of operation.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import dagster as dg
import nbformat
import pytest
from nbclient import NotebookClient

pytestmark = pytest.mark.integration

NOTEBOOKS = sorted((Path(__file__).resolve().parents[2] / "notebooks").glob("*.ipynb"))
CELL_TIMEOUT_S = 300


def run_job(defs, name: str, run_config: dict | None = None) -> None:
    result = defs.resolve_job_def(name).execute_in_process(
        instance=dg.DagsterInstance.get(), run_config=run_config or {})
    assert result.success, name


@pytest.fixture(scope="module")
def warehouse_env(built_tiny_env):
    """A copy of the session's tiny nightly build (conftest), then the day's admin and
    alerting jobs on it."""
    from dagster_project.definitions import defs

    env, _ = built_tiny_env
    d = defs()
    run_job(d, "propose_prices")
    run_job(d, "apply_alert_rules",
            {"ops": {"apply_alert_rules_op": {"config": {"actor": "analyst@example.com"}}}})
    run_job(d, "process_alerts", {"ops": {"alerting_pass_op": {"config": {"max_seconds": 30}}}})
    return env


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_the_seven_analyst_notebooks_are_there():
    assert [p.stem for p in NOTEBOOKS] == [
        "01_explore_marts", "02_attribution_models", "03_experiment_readout",
        "04_segments_clv", "05_forecasts_capacity", "06_pricing_proposals", "07_alerts"]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_runs_top_to_bottom_and_leaves_the_warehouse_unchanged(warehouse_env, path):
    before = sha256(warehouse_env.duckdb_path)
    book = nbformat.read(path, as_version=4)
    # an error in any cell raises CellExecutionError naming the cell and the traceback
    NotebookClient(book, timeout=CELL_TIMEOUT_S, kernel_name="python3",
                   resources={"metadata": {"path": str(path.parent)}}).execute()
    outputs = [o for c in book.cells if c.cell_type == "code" for o in c.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    printed = "".join(o.get("text", "") for o in outputs if o.output_type == "stream")
    assert f"warehouse: duckdb {warehouse_env.duckdb_path}" in printed  # the configured one
    if any("matplotlib" in c.source for c in book.cells if c.cell_type == "code"):
        assert any("image/png" in o.get("data", {}) for o in outputs), "no figure shown"
    assert sha256(warehouse_env.duckdb_path) == before


def test_every_asset_materialization_shows_row_count_column_schema_and_preview(warehouse_env):
    from dagster_project.definitions import defs

    views = {f"{schema}.{name}" for schema, name in warehouse_env.query(
        "select table_schema, table_name from information_schema.tables "
        "where table_type = 'VIEW'").iter_rows()}
    instance = dg.DagsterInstance.get()
    d = defs()
    graph = d.resolve_asset_graph()
    lacking = {}
    # external assets (ops.alerts, ops.pricing_proposals: kept by jobs, not materialized by a run)
    for spec in [s for s in d.resolve_all_asset_specs() if graph.get(s.key).is_materializable]:
        event = instance.get_latest_materialization_event(spec.key)
        meta = event.asset_materialization.metadata if event else {}
        table = meta.get("dagster/table_name")
        needed = ["dagster/column_schema", "preview"]
        if not (table and table.value in views):  # a view has no count (counting runs it)
            needed.append("dagster/row_count")
        missing = [m for m in needed if m not in meta] if event else ["a materialization"]
        if missing:
            lacking[spec.key.to_user_string()] = missing
    assert not lacking


# analytics assets where a plot makes no sense, each with its reason
NO_PLOT: dict[str, str] = {}


def test_every_analytics_asset_shows_a_plot(warehouse_env):
    """Every analytics asset's latest materialization carries a PNG plot, or (an empty table) a
    ``plot`` note saying why there is none; only ``NO_PLOT`` is excused."""
    from dagster_project.definitions import defs

    instance = dg.DagsterInstance.get()
    analytics = [s for s in defs().resolve_all_asset_specs() if s.key.path[0] == "analytics"]
    lacking = []
    for spec in analytics:
        name = spec.key.to_user_string()
        meta = instance.get_latest_materialization_event(spec.key).asset_materialization.metadata
        png = any("data:image/png;base64," in str(getattr(v, "value", "")) for v in meta.values())
        empty_note = meta.get("dagster/row_count") is not None and \
            meta["dagster/row_count"].value == 0 and "plot" in meta
        if not (png or empty_note or name in NO_PLOT):
            lacking.append(name)
    assert not lacking, "\n".join(sorted(lacking))
    assert set(NO_PLOT) <= {s.key.to_user_string() for s in analytics}
