"""The Dagster definitions load and present an analyst-ready asset graph."""

from __future__ import annotations

import dagster as dg
import pytest

from dagster_project.contract import RAW_TABLES
from dagster_project.domains import DOMAINS, groups

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def definitions() -> dg.Definitions:
    from dagster_project.definitions import defs

    return defs()


def test_definitions_validate(definitions):
    dg.Definitions.validate_loadable(definitions)


def test_every_asset_is_described_and_takes_group_owner_and_freshness_from_its_domain(
        definitions):
    from dagster_project.definitions import FRESHNESS

    specs = list(definitions.resolve_all_asset_specs())
    assert len(specs) >= 15 + 15 + 17  # raw, staging, marts
    for spec in specs:
        name = spec.key.to_user_string()
        assert spec.description and spec.description.strip(), name
        assert spec.group_name in DOMAINS, name
        domain = DOMAINS[spec.group_name]
        assert list(spec.owners) == domain.owners, name
        assert spec.kinds, name
        assert spec.freshness_policy == FRESHNESS[domain.cadence], name
    assert {s.group_name for s in specs} == set(DOMAINS)  # no registered domain is empty


def test_every_asset_check_explains_itself(definitions):
    graph = definitions.resolve_asset_graph()
    checks = [graph.get_check_spec(key) for key in graph.asset_check_keys]
    assert len(checks) > 200  # the dbt tests and the Python checks
    assert not [c.key.to_user_string() for c in checks if not (c.description or "").strip()]


def test_ingest_group_has_one_asset_per_raw_table(definitions):
    keys = {s.key for s in definitions.resolve_all_asset_specs() if s.group_name == "ingest"}
    assert keys == {dg.AssetKey(["raw", t]) for t in RAW_TABLES}


def test_marts_are_keyed_by_schema_and_depend_on_raw_through_staging(definitions):
    graph = definitions.resolve_asset_graph()
    key = dg.AssetKey(["marts", "fct_revenue_daily"])
    assert key in graph.get_all_asset_keys()
    upstream = graph.get(key).parent_keys
    assert any(k.path[0] == "staging" for k in upstream)
    assert dg.AssetKey(["raw", "conversions"]) in graph.get(
        dg.AssetKey(["staging", "stg_raw__conversions"])
    ).parent_keys


def test_schedules_and_sensor_are_defined(definitions):
    assert definitions.resolve_schedule_def("nightly_refresh_schedule").cron_schedule == "0 2 * * *"
    assert definitions.resolve_schedule_def("hourly_refresh_schedule").job_name == "hourly_refresh"
    assert definitions.resolve_sensor_def("landing_files_sensor").job_name == "ingest_landing_files"


def test_hourly_job_covers_the_hourly_domains_and_what_they_read(definitions):
    graph = definitions.resolve_asset_graph()
    from dagster_project.defs.automation import hourly_selection

    keys = hourly_selection.resolve(graph)
    assert set(groups("hourly")) == {"ingest", "performance", "revenue", "monitoring"}
    # the revenue marts' relationships tests read dim_clients: it and what it reads come along;
    # anomaly detection reads the catalog's daily marts too (MRR per tier, engagement per
    # platform)
    assert {graph.get(k).group_name for k in keys} == {"ingest", "staging", "performance",
                                                        "revenue", "subscriptions", "usage",
                                                        "monitoring"}
    subscriptions = {k.to_user_string() for k in keys if graph.get(k).group_name == "subscriptions"}
    assert subscriptions == {"marts/dim_clients", "intermediate/int_subscription_states",
                             "marts/fct_mrr_daily", "intermediate/int_client_daily_states"}
    usage = {k.to_user_string() for k in keys if graph.get(k).group_name == "usage"}
    assert usage == {"marts/fct_platform_usage_daily"}
