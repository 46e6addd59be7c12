"""The small pure pieces of the dbt wiring: CLI arguments and the key/group mapping."""

from __future__ import annotations

import json

from dagster_project.defs.dbt.cli_args import dbt_build_args
from dagster_project.defs.dbt.translator import layer_and_domain


def test_build_args_without_options_build_with_buildable_indirect_selection():
    assert dbt_build_args() == ["build", "--indirect-selection", "buildable"]


def test_build_args_pass_only_set_vars_as_json():
    args = dbt_build_args(vars={"attribution_lookback_days": 14, "unset": None}, full_refresh=True)
    assert args[3] == "--vars"
    assert json.loads(args[4]) == {"attribution_lookback_days": 14}
    assert args[5] == "--full-refresh"


def test_marts_are_grouped_by_the_domain_folder():
    assert layer_and_domain(["bi_engine", "marts", "usage", "fct_x"]) == ("marts", "usage")
    assert layer_and_domain(["bi_engine", "reporting", "revenue", "rpt_x"]) == ("reporting", "revenue")


def test_staging_models_share_the_staging_group():
    assert layer_and_domain(["bi_engine", "staging", "raw", "stg_raw__clients"]) == (
        "staging", "staging"
    )


def test_shared_plumbing_outside_a_domain_folder_goes_to_staging():
    assert layer_and_domain(["bi_engine", "intermediate", "common", "int_as_of_date"]) == (
        "intermediate", "staging"
    )


def test_build_args_can_leave_out_the_unit_tests():
    assert dbt_build_args(unit_tests=False)[-2:] == ["--exclude-resource-type", "unit_test"]
