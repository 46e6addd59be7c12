"""A non-editable install works: the wheel carries every data file the code reads beside it."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

from dagster_project.settings import PROJECT_ROOT

# imports from the installed copy and reports where each data file was found
PROBE = """
import json
import dagster_project
from dagster_project.analytics.customers import rules as customer_rules
from dagster_project.analytics.forecasting import capacity
from dagster_project.analytics.insights import rules as insight_rules
from dagster_project.analytics.pricing import guardrails
from dagster_project.contract import CONTRACT_FILE, RAW_TABLES
from dagster_project.exports import EXPORTS_FILE
from dagster_project.notify import rules as alert_rules
from dagster_project.postgres.roles import sql_files

paths = [CONTRACT_FILE, EXPORTS_FILE, capacity.THRESHOLDS_PATH, guardrails.DEFAULT_PATH, alert_rules.RULES_FILE,
         insight_rules.KINDS_PATH,
         *customer_rules.HERE.glob("*.yml"), *sql_files()]
print(json.dumps({"package": dagster_project.__file__, "tables": len(RAW_TABLES),
                  "files": [str(p) for p in paths if p.is_file()]}))
"""


def tracked_data_files() -> set[str]:
    listed = subprocess.run(["git", "ls-files", "dagster_project"], cwd=PROJECT_ROOT,
                            capture_output=True, text=True, check=True).stdout.split()
    return {p for p in listed if not p.endswith(".py")}


def test_the_wheel_installed_without_the_repo_finds_its_data_files(tmp_path):
    source = tmp_path / "src"  # a copy, so the build leaves nothing in the work tree
    source.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(PROJECT_ROOT / name, source / name)
    shutil.copytree(PROJECT_ROOT / "dagster_project", source / "dagster_project",
                    ignore=shutil.ignore_patterns("__pycache__"))
    pip = [sys.executable, "-m", "pip"]
    subprocess.run([*pip, "wheel", "-q", "--no-deps", "--no-build-isolation", "-w",
                    str(tmp_path / "dist"), str(source)], check=True, timeout=300)
    (wheel,) = (tmp_path / "dist").glob("dagster_project-*.whl")
    data = tracked_data_files()
    assert data, "no data files tracked under dagster_project/"
    assert data <= set(zipfile.ZipFile(wheel).namelist())

    target = tmp_path / "site"
    subprocess.run([*pip, "install", "-q", "--no-deps", "--target", str(target), str(wheel)],
                   check=True, timeout=300)
    probe = subprocess.run(
        [sys.executable, "-c", PROBE], cwd=tmp_path, capture_output=True, text=True, timeout=300,
        env=os.environ | {"PYTHONPATH": str(target)}, check=False)
    assert probe.returncode == 0, probe.stderr
    found = json.loads(probe.stdout.splitlines()[-1])
    assert Path(found["package"]).is_relative_to(target)
    assert found["tables"] == 15  # the landing contract's tables (README)
    found_files = {Path(p).relative_to(target).as_posix() for p in found["files"]}
    assert found_files == {p for p in data if p.endswith((".yml", ".sql"))}
