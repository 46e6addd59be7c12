"""Reporting models that read analytics (or ops) tables must declare them as dependencies.

dbt records a ``source()`` only when parsing calls it. A model that calls it only under
``if execute`` parses without the dependency, so Dagster may build it before the Python asset
that writes the table, and it comes out empty (rpt_client_revenue_forecast did).
"""

from __future__ import annotations

import json
import re

from dagster_project.defs.dbt.project import dbt_project

SOURCE_CALL = re.compile(r"source\(\s*'(analytics|ops)'\s*,\s*'(\w+)'\s*\)")
LOOPED_SOURCE = re.compile(r"source\(\s*'analytics'\s*,\s*(\w+)\s*\)")
LIST_OF_NAMES = re.compile(r"set\s+(\w+)\s*=\s*\[([^\]]*)\]")


def _analytics_tables_named(code: str) -> set[str]:
    """The analytics and ops tables (``schema.table``) the model's SQL names, literally or
    (analytics) through a Jinja list it loops."""
    named = {f"{schema}.{table}" for schema, table in SOURCE_CALL.findall(code)}
    lists = {var: re.findall(r"'(\w+)'", items) for var, items in LIST_OF_NAMES.findall(code)}
    if LOOPED_SOURCE.search(code):
        named |= {f"analytics.{t}" for items in lists.values() for t in items}
    return named


def test_every_analytics_table_a_reporting_model_names_is_in_its_dependencies():
    manifest = json.loads(dbt_project.manifest_path.read_text())
    checked = 0
    for node in manifest["nodes"].values():
        if node["resource_type"] != "model" or "/reporting/" not in node["original_file_path"]:
            continue
        wanted = {f"source.bi_engine.{t}" for t in _analytics_tables_named(node["raw_code"])}
        assert wanted <= set(node["depends_on"]["nodes"]), (node["name"], wanted)
        checked += bool(wanted)
    # attribution, customers, forecasting, pricing, experiments, alerts, proposals, overview
    assert checked >= 8


def test_a_source_called_only_under_execute_is_caught():
    """The rule above would see the bug: a source named only in a branch parsing skips."""
    code = ("{%- set tables = ['customer_rfm'] %}{%- for t in tables %}"
            "{{ load_relation(source('analytics', t)) if execute else false }}{%- endfor %}")
    assert _analytics_tables_named(code) == {"analytics.customer_rfm"}
