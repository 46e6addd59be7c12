"""The landing sensor sees the files ingest reads: the same suffixes in any case, hidden files
and folders skipped alike (before, a `.CSV` file that ingest would load never started a run)."""

from __future__ import annotations

import os

import dagster as dg

from dagster_project.defs.automation import landing_files_sensor, newest_landing_mtime


def touch(path, ns):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"x")
    os.utime(path, ns=(ns, ns))
    return path


def test_newest_mtime_counts_readable_suffixes_in_any_case_and_skips_hidden_entries(tmp_path):
    touch(tmp_path / "clients" / "a.parquet", 1_000)
    touch(tmp_path / "clients" / "b.CSV", 2_000)
    touch(tmp_path / "clients" / "c.Parquet", 3_000)
    touch(tmp_path / "clients" / ".d.csv", 9_000)  # an EL tool's partial file
    touch(tmp_path / "clients" / ".tmp" / "e.csv", 9_000)
    touch(tmp_path / "clients" / "notes.txt", 9_000)
    assert newest_landing_mtime(tmp_path) == (3_000, 3)


def test_a_new_upper_case_csv_file_starts_an_ingest_run(tmp_path, monkeypatch):
    monkeypatch.setenv("BI_LANDING_DIR", str(tmp_path))
    touch(tmp_path / "clients" / "a.parquet", 1_000)
    context = dg.build_sensor_context(cursor="1000")
    assert isinstance(landing_files_sensor(context), dg.SkipReason)
    touch(tmp_path / "clients" / "late.CSV", 5_000)
    request = landing_files_sensor(dg.build_sensor_context(cursor="1000"))
    assert isinstance(request, dg.RunRequest) and request.run_key == "landing-5000"


def test_a_missing_landing_folder_is_no_new_files(tmp_path):
    assert newest_landing_mtime(tmp_path / "nowhere") == (0, 0)
