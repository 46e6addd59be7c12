"""The landing contract is internally consistent and the dbt sources are rendered from it."""

from __future__ import annotations

import yaml

from dagster_project.contract import POLARS_TYPES, RAW_TABLES, load_contract, vocabulary
from dagster_project.contract.dbt_sources import LOAD_COLUMNS, SOURCES_FILE, render_sources_yml

DESIGN_TABLES = {
    "clients", "subscription_events", "plan_prices", "competitor_prices", "feature_usage_logs",
    "content", "content_engagement", "touchpoints", "conversions", "marketing_spend",
    "api_requests", "resource_usage", "content_generation_jobs", "experiments",
    "experiment_assignments",
}


def test_contract_defines_the_fifteen_design_tables():
    assert set(RAW_TABLES) == DESIGN_TABLES  # the table list in shared/DESIGN.md


def test_every_key_and_partition_column_exists_and_is_typed():
    for t in load_contract().values():
        names = set(t.column_names)
        assert set(t.key) <= names, t.name
        assert t.column(t.partition_by).is_temporal, t.name
        for c in t.columns:
            assert c.type in POLARS_TYPES, (t.name, c.name)
            assert c.description, (t.name, c.name)
            if c.allowed is not None:
                assert c.type == "string" and len(c.allowed) == len(set(c.allowed))


def test_key_columns_are_required():
    for t in load_contract().values():
        assert set(t.key) <= set(t.required_columns), t.name


def test_design_vocabularies():
    assert vocabulary("platform") == (
        "instagram", "tiktok", "youtube", "linkedin", "twitter", "facebook"
    )
    assert vocabulary("tier") == ("starter", "professional", "business", "enterprise")
    assert set(vocabulary("channel")) == set(vocabulary("platform")) | {
        "email", "paid_search", "organic_search", "referral", "direct"
    }


def test_dbt_sources_file_is_the_rendered_contract():
    # if this fails, run `make contract` and commit dbt/models/staging/_sources.yml
    assert SOURCES_FILE.read_text() == render_sources_yml()


def test_dbt_sources_agree_with_contract_column_by_column():
    sources = yaml.safe_load(SOURCES_FILE.read_text())["sources"][0]
    assert sources["schema"] == "raw"
    by_name = {t["name"]: t for t in sources["tables"]}
    assert set(by_name) == set(RAW_TABLES)
    for name, contract in load_contract().items():
        columns = {c["name"]: c for c in by_name[name]["columns"]}
        assert list(columns) == contract.column_names + [n for n, _ in LOAD_COLUMNS]
        for c in contract.columns:
            assert columns[c.name]["data_type"] == c.sql_type
            assert columns[c.name]["description"] == c.description
            meta = columns[c.name].get("meta", {})
            assert meta.get("allowed") == (list(c.allowed) if c.allowed else None)
            assert meta.get("nullable", True) == (c.name not in contract.required_columns)


PLANNED_TIMES = {("plan_prices", "effective_to"), ("experiments", "end_at")}  # may lie ahead


def test_checked_times_are_read_and_hold_every_observed_time():
    """Every timestamp/date column records something that already happened, except the two
    planned ones: a missing entry would let a time in 2999 through (content.published_at did)."""
    for t in load_contract().values():
        temporal = {c.name for c in t.columns if c.is_temporal}
        assert t.partition_by in t.checked_times, t.name
        assert set(t.checked_times) <= temporal, t.name
        assert {(t.name, c) for c in temporal - set(t.checked_times)} <= PLANNED_TIMES, t.name
    assert load_contract()["content"].checked_times == ("created_at", "published_at")


def test_every_numeric_measure_has_a_minimum_and_a_maximum_below_1e13():
    for t in load_contract().values():
        for c in t.columns:
            if c.type in ("int64", "float64"):
                assert c.min is not None and c.max is not None, (t.name, c.name)
                assert c.min < c.max < 1e13, (t.name, c.name)
