"""Build the dbt CLI arguments from an analyst's run configuration (pure, unit-tested)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any


def dbt_build_args(vars: Mapping[str, Any] | None = None, full_refresh: bool = False,
                   unit_tests: bool = True) -> list[str]:
    """``dbt build`` with the given project vars (only the non-empty ones) and flags.

    Indirect selection is ``buildable``: a test runs when every model it reads is selected or
    built before the selection. The default (``eager``) also runs a test of an unselected model
    that reads a selected one: the marts step ran the reporting models' relationships tests
    against reporting tables it does not build (failing on a warehouse without them)."""
    args = ["build", "--indirect-selection", "buildable"]
    chosen = {k: v for k, v in (vars or {}).items() if v is not None}
    if chosen:
        args += ["--vars", json.dumps(chosen, sort_keys=True)]
    if full_refresh:
        args.append("--full-refresh")
    if not unit_tests:  # they test the SQL, not the data: CI runs them, scheduled runs need not
        args += ["--exclude-resource-type", "unit_test"]
    return args
