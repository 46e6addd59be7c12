"""What a dbt test checks, in words: the description its asset check shows in the UI.

A test's own description (``description:`` or ``meta.description`` in its YAML) wins; otherwise
the generic tests this project uses are described from their arguments in the manifest.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

_REF = "ref('"


def _relation(ref: str) -> str:
    """``ref('dim_clients')`` -> ``dim_clients``."""
    return ref.split(_REF, 1)[1].split("'", 1)[0] if _REF in ref else ref


def _what(name: str, kwargs: Mapping[str, Any]) -> str | None:
    column = kwargs.get("column_name")
    if name == "not_null":
        return f"Fails when a row has a null `{column}`."
    if name == "unique":
        return f"Fails when two rows share a `{column}`."
    if name == "unique_combination_of_columns":
        columns = ", ".join(kwargs.get("combination_of_columns") or [])
        return f"Fails when two rows share ({columns}): the table's grain."
    if name == "accepted_values":
        values = ", ".join(str(v) for v in kwargs.get("values") or [])
        return f"Fails when `{column}` holds a value outside: {values}."
    if name == "relationships":
        to, field = _relation(str(kwargs.get("to", ""))), kwargs.get("field")
        return f"Fails when a `{column}` has no match in `{to}.{field}`."
    return None


def describe_test(test: Mapping[str, Any]) -> str:
    """The description of a dbt test node of the manifest, ending with what its severity does."""
    own = (test.get("description") or test.get("meta", {}).get("description") or "").strip()
    generic = test.get("test_metadata") or {}
    what = own or _what(generic.get("name", ""), generic.get("kwargs") or {}) or (
        f"The dbt test `{test['name']}`: fails when its query returns rows.")
    severity = (test.get("config", {}).get("severity") or "error").lower()
    effect = ("Severity error: blocks the assets downstream." if severity == "error"
              else "Severity warn: reported, blocks nothing.")
    return f"{what} {effect}"
