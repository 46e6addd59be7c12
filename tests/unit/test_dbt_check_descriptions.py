"""dbt tests described in words for their asset checks (hand-written expectations per test kind)."""

from __future__ import annotations

from dagster_project.defs.dbt.check_descriptions import describe_test


def node(name, kwargs, severity="ERROR", **extra):
    return {"name": f"{name}_x", "test_metadata": {"name": name, "kwargs": kwargs},
            "config": {"severity": severity}, **extra}


def test_generic_tests_are_described_from_their_arguments():
    assert describe_test(node("not_null", {"column_name": "client_id"})) == (
        "Fails when a row has a null `client_id`. Severity error: blocks the assets downstream.")
    assert describe_test(node("unique", {"column_name": "event_id"})).startswith(
        "Fails when two rows share a `event_id`.")
    assert describe_test(node("unique_combination_of_columns",
                              {"combination_of_columns": ["client_id", "day"]})).startswith(
        "Fails when two rows share (client_id, day): the table's grain.")
    assert describe_test(node("accepted_values", {"column_name": "tier",
                                                  "values": ["starter", "business"]})).startswith(
        "Fails when `tier` holds a value outside: starter, business.")
    assert describe_test(node("relationships", {"column_name": "client_id", "field": "client_id",
                                                "to": "ref('dim_clients')"})).startswith(
        "Fails when a `client_id` has no match in `dim_clients.client_id`.")


def test_a_tests_own_description_wins_and_warn_severity_blocks_nothing():
    own = node("not_null", {"column_name": "a"}, severity="warn", description="MRR reconciles.")
    assert describe_test(own) == "MRR reconciles. Severity warn: reported, blocks nothing."


def test_a_singular_test_without_description_says_what_fails_it():
    singular = {"name": "assert_mrr_reconciles", "config": {"severity": "ERROR"}}
    assert describe_test(singular).startswith(
        "The dbt test `assert_mrr_reconciles`: fails when its query returns rows.")
