"""A run killed with kill -9 mid-step is marked failed, and the next run launches by itself.

Real processes against a real instance: ``python -m dagster_project.pipeline`` (what ``make run``
runs) executes ``nightly_refresh`` on tiny data into a DuckDB file, with the Dagster instance in
SQLite under a ``DAGSTER_HOME`` whose ``dagster.yaml`` is the shipped ``dagster.yaml.example``
(a queue of one run, run monitoring, ``LocalRunLauncher``). While the dbt step runs, the test
kills the pipeline's process group (the pipeline and its dbt child) with SIGKILL, as a crash or
the OOM killer would. Before this issue the run then read STARTED for ever and the queue
launched nothing after it.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import dagster as dg
import pytest

from dagster_project.run_recovery import HOST_TAG, PID_TAG, this_host
from dagster_project.settings import PROJECT_ROOT

pytestmark = pytest.mark.integration

KILLED_STEP = "dbt_models"
BIN = Path(sys.executable).parent


@pytest.fixture
def instance_home(pipeline_env) -> Path:
    """The pipeline environment with the shipped instance configuration."""
    (pipeline_env.dagster_home / "dagster.yaml").write_text(
        (PROJECT_ROOT / "dagster.yaml.example").read_text())
    return pipeline_env.dagster_home


def wait_for(condition, timeout: float, what: str, poll: float = 1.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = condition()
        if found:
            return found
        time.sleep(poll)
    pytest.fail(f"timed out after {timeout:.0f} s waiting for {what}")


def step_started(instance: dg.DagsterInstance, run_id: str, step_key: str) -> bool:
    records = instance.get_records_for_run(run_id, of_type=dg.DagsterEventType.STEP_START).records
    return any(r.event_log_entry.step_key == step_key for r in records)


def pipeline(*args: str, log: Path) -> subprocess.Popen:
    """``python -m dagster_project.pipeline`` in its own process group (so that its dbt child can
    be killed with it)."""
    return subprocess.Popen(
        [sys.executable, "-m", "dagster_project.pipeline", "--scale", "tiny", *args],
        cwd=PROJECT_ROOT, env=os.environ.copy(), stdout=log.open("w"), stderr=subprocess.STDOUT,
        start_new_session=True)


def kill_pipeline_mid_step(tmp_path: Path) -> tuple[dg.DagsterRun, int]:
    """Start nightly_refresh, SIGKILL its process group once the dbt step has started; the run
    as the instance then records it, and the killed pid."""
    proc = pipeline("--job", "nightly_refresh", log=tmp_path / "killed_pipeline.log")
    with dg.DagsterInstance.get() as instance:
        run = wait_for(lambda: next(iter(instance.get_runs(limit=1)), None), 120, "the run")
        wait_for(lambda: step_started(instance, run.run_id, KILLED_STEP), 300,
                 f"step {KILLED_STEP} to start")
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
        return instance.get_run_by_id(run.run_id), proc.pid


@contextmanager
def dagster_daemon(log: Path) -> Iterator[subprocess.Popen]:
    """``dagster-daemon run`` over the project's workspace (scheduler, sensors, queue, monitoring)."""
    proc = subprocess.Popen(
        [str(BIN / "dagster-daemon"), "run", "-w", str(PROJECT_ROOT / "workspace.yaml")],
        cwd=PROJECT_ROOT, env=os.environ.copy(), stdout=log.open("w"), stderr=subprocess.STDOUT,
        start_new_session=True)
    try:
        yield proc
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=30)


def test_pipeline_marks_its_killed_run_failed_at_its_next_start(instance_home, tmp_path):
    """The defect as found: SIGKILL leaves the run STARTED, its dbt step begun and never ended,
    and the run carries the pid of the process that was killed."""
    run, pid = kill_pipeline_mid_step(tmp_path)
    assert run.status == dg.DagsterRunStatus.STARTED
    assert run.tags[PID_TAG] == str(pid) and run.tags[HOST_TAG] == this_host()
    with dg.DagsterInstance.get() as instance:
        ends = instance.get_records_for_run(run.run_id, of_type={
            dg.DagsterEventType.STEP_SUCCESS, dg.DagsterEventType.STEP_FAILURE}).records
        assert KILLED_STEP not in {r.event_log_entry.step_key for r in ends}

        proc = pipeline("--job", "ingest_landing_files", log=tmp_path / "next_pipeline.log")
        assert proc.wait(timeout=300) == 0, (tmp_path / "next_pipeline.log").read_text()[-3000:]
        printed = (tmp_path / "next_pipeline.log").read_text()
        assert f"marked run {run.run_id} failed" in printed
        failed = instance.get_run_by_id(run.run_id)
        assert failed.status == dg.DagsterRunStatus.FAILURE
        failure = instance.get_records_for_run(
            run.run_id, of_type=dg.DagsterEventType.RUN_FAILURE).records[0].event_log_entry
        assert f"process {pid} on {this_host()} is gone" in failure.dagster_event.message
        newest = instance.get_runs(limit=1)[0]
        assert newest.job_name == "ingest_landing_files"
        assert newest.status == dg.DagsterRunStatus.SUCCESS


def test_run_monitoring_fails_the_killed_run_and_the_queued_sensor_run_launches(
        instance_home, tmp_path):
    """With the daemon running (as in ``dagster dev``), nobody touches the instance: run
    monitoring finds the dead worker and fails its run, which frees the queue's one slot, and
    the landing sensor's run (the landing folder is new to its cursor) launches and succeeds."""
    killed, pid = kill_pipeline_mid_step(tmp_path)
    assert killed.status == dg.DagsterRunStatus.STARTED
    with dg.DagsterInstance.get() as instance, dagster_daemon(tmp_path / "daemon.log") as daemon:
        def sensor_run_done():
            assert daemon.poll() is None, (tmp_path / "daemon.log").read_text()[-3000:]
            runs = instance.get_runs(dg.RunsFilter(job_name="ingest_landing_files"))
            return next((r for r in runs if r.is_finished), None)

        sensor_run = wait_for(sensor_run_done, 420, "the sensor's run to finish", poll=2)
        assert sensor_run.status == dg.DagsterRunStatus.SUCCESS, (
            tmp_path / "daemon.log").read_text()[-3000:]
        dead = instance.get_run_record_by_id(killed.run_id)
        assert dead.dagster_run.status == dg.DagsterRunStatus.FAILURE
        failure = instance.get_records_for_run(
            killed.run_id, of_type=dg.DagsterEventType.RUN_FAILURE).records[0].event_log_entry
        assert f"process {pid} on {this_host()} is gone" in failure.dagster_event.message
        assert "run monitoring" in failure.dagster_event.message
        launched = instance.get_run_record_by_id(sensor_run.run_id)
        # the queue admits one run at a time: the sensor's run began only once the dead run ended
        assert launched.start_time >= dead.end_time
        assert launched.dagster_run.tags[HOST_TAG] == this_host()
        assert launched.dagster_run.tags.get("dagster/sensor_name") == "landing_files_sensor"
