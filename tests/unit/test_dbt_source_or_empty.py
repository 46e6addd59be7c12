"""The `source_or_empty` macro (dbt/macros/reporting/source_or_empty.sql), compiled by real dbt
against a DuckDB file where one declared source exists (analytics.customer_rfm, created here by
hand with columns of other types than the map's and one column the map does not name) and the
others do not. Each rendered select is then run on that file: the expected columns, types and
rows are the hand-made table's, cast as the map says.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
DBT_PROJECT_DIR = REPO_ROOT / "dbt"

MAP = "{'customer_id': 'varchar', 'r_score': 'bigint', 'segment': 'varchar'}"
PRESENT = "source('analytics', 'customer_rfm')"
ABSENT = "source('ops', 'alerts')"
CASES = {
    "present": f"{{{{ source_or_empty({PRESENT}, {MAP}) }}}}",
    "present_with_body": (
        f"{{% call source_or_empty({PRESENT}, {MAP}) %}}"
        f"select customer_id, r_score, upper(segment) as segment, unmapped "
        f"from {{{{ {PRESENT} }}}} where r_score > 1"
        "{% endcall %}"
    ),
    "absent": f"{{{{ source_or_empty({ABSENT}, {MAP}) }}}}",
    "one_required_absent": (
        f"{{% call source_or_empty({PRESENT}, {MAP}, requires=[{PRESENT}, {ABSENT}]) %}}"
        f"select * from {{{{ {PRESENT} }}}}{{% endcall %}}"
    ),
}
CONTRACT = [("customer_id", "VARCHAR"), ("r_score", "BIGINT"), ("segment", "VARCHAR")]


def _compile(tmp: Path, warehouse: Path, inline: str) -> subprocess.CompletedProcess:
    dbt = Path(sys.executable).with_name("dbt")
    return subprocess.run(
        [str(dbt if dbt.exists() else "dbt"), "compile", "--quiet", "--output", "json",
         "--project-dir", str(DBT_PROJECT_DIR), "--profiles-dir", str(DBT_PROJECT_DIR),
         "--target-path", str(tmp / "target"), "--log-path", str(tmp / "logs"),
         "--inline", inline],
        cwd=REPO_ROOT, env={**os.environ, "DBT_TARGET": "duckdb", "BI_DUCKDB_PATH": str(warehouse)},
        capture_output=True, text=True, timeout=300, check=False,
    )


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("source_or_empty") / "warehouse.duckdb"
    with duckdb.connect(str(path)) as con:
        con.execute("create schema analytics")
        con.execute(
            "create table analytics.customer_rfm as select * from (values "
            "('u1', 5::integer, 'champions', 'x'), ('u2', 1::integer, 'lost', 'y')) "
            "as t(customer_id, r_score, segment, unmapped)"
        )
    return path


@pytest.fixture(scope="module")
def rendered(warehouse, tmp_path_factory) -> dict[str, str]:
    """Every case rendered by one dbt compile: a JSON object, case -> SQL."""
    sets = "".join(f"{{% set {name} %}}{body}{{% endset %}}" for name, body in CASES.items())
    inline = sets + "{{ tojson({" + ", ".join(f"'{n}': {n}" for n in CASES) + "}) }}"
    result = _compile(tmp_path_factory.mktemp("dbt"), warehouse, inline)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    return json.loads(json.loads(result.stdout)["compiled"])


def _run(warehouse: Path, sql: str) -> tuple[list[tuple[str, str]], list[tuple]]:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        described = [(r[0], r[1]) for r in con.execute(f"describe {sql}").fetchall()]
        rows = con.execute(f"select * from ({sql}) order by 1").fetchall()
    return described, rows


def test_an_existing_source_is_read_with_the_map_columns_cast_and_others_dropped(
        warehouse, rendered):
    assert _run(warehouse, rendered["present"]) == (
        CONTRACT, [("u1", 5, "champions"), ("u2", 1, "lost")])


def test_a_call_body_filters_and_derives_columns_under_the_same_casts(warehouse, rendered):
    # r_score > 1 keeps u1 only; segment is the body's upper(segment); unmapped is dropped
    assert _run(warehouse, rendered["present_with_body"]) == (CONTRACT, [("u1", 5, "CHAMPIONS")])


def test_an_absent_source_gives_the_typed_empty_placeholder(warehouse, rendered):
    assert _run(warehouse, rendered["absent"]) == (CONTRACT, [])


def test_one_absent_required_relation_gives_the_placeholder(warehouse, rendered):
    assert _run(warehouse, rendered["one_required_absent"]) == (CONTRACT, [])


def test_an_empty_column_map_is_a_compile_error_naming_the_argument(warehouse, tmp_path):
    result = _compile(tmp_path, warehouse, f"{{{{ source_or_empty({PRESENT}, {{}}) }}}}")
    assert result.returncode != 0
    assert "source_or_empty: columns must be a non-empty mapping" in result.stdout + result.stderr
