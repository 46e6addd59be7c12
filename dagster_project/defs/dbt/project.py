"""The dbt project handle shared by the dbt assets and the dbt CLI resource.

Each dbt target has its own target folder, ``dbt/target/<target>/`` (``make prepare`` parses
both): the manifest the definitions load, the parse state dbt starts from, and the folders of the
runs' own invocations. A PostgreSQL run therefore never loads, or re-parses over, the DuckDB
manifest, and the two never discard each other's parse state.
"""

from __future__ import annotations

import os
import shutil
import sys
import uuid
from pathlib import Path

from dagster_dbt import DbtProject

from dagster_project.settings import DBT_PROJECT_DIR, get_settings

PARTIAL_PARSE = "partial_parse.msgpack"


def dbt_executable() -> str:
    """The ``dbt`` installed beside this interpreter, so a venv need not be on PATH."""
    beside = Path(sys.executable).parent / "dbt"
    return str(beside) if beside.exists() else (shutil.which("dbt") or "dbt")


def target_path(target: str) -> Path:
    """The target folder of one dbt target, relative to the dbt project."""
    return Path("target") / target


def invocation_path(target: str, run_id: str) -> Path:
    """A fresh folder for one dbt invocation of a run, seeded with the target's parse state.

    dagster-dbt would seed it from ``target/`` itself, i.e. from whichever target parsed last;
    dbt discards state parsed for another profile and re-parses the whole project (seconds)."""
    folder = DBT_PROJECT_DIR / target_path(target) / f"{run_id[:8]}-{uuid.uuid4().hex[:8]}"
    state = folder.parent / PARTIAL_PARSE
    folder.mkdir(parents=True)
    if state.exists():
        shutil.copyfile(state, folder / PARTIAL_PARSE)
    return folder


def keep_parse_state(invocation: Path) -> None:
    """Make an invocation's parse state the one its target's next invocation starts from.

    The state dbt left behind matches this run's profile (target, database path, vars); it is
    put back atomically, and dbt re-checks it anyway, so a stale file only costs one re-parse."""
    fresh = invocation / PARTIAL_PARSE
    if fresh.exists():
        shared = invocation.parent / PARTIAL_PARSE
        tmp = shared.with_name(f".{PARTIAL_PARSE}.{os.getpid()}")
        shutil.copyfile(fresh, tmp)
        os.replace(tmp, shared)


dbt_project = DbtProject(
    project_dir=DBT_PROJECT_DIR,
    profiles_dir=DBT_PROJECT_DIR,
    target=get_settings().dbt_target,
    target_path=target_path(get_settings().dbt_target),
)
dbt_project.prepare_if_dev()
