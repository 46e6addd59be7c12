"""A run killed with kill -9 mid-step is marked failed, and the next run launches by itself.

Real processes against a real instance: ``python -m dagster_project.pipeline`` (what ``make run``
runs) executes ``nightly_refresh`` on tiny data into a DuckDB file, with the Dagster instance in
SQLite under a ``DAGSTER_HOME`` whose ``dagster.yaml`` is the shipped ``dagster.yaml.example``
(a queue of one run, run monitoring, ``LocalRunLauncher``). While the dbt step runs, the test
kills the pipeline's process group (the pipeline and its dbt child) with SIGKILL, as a crash or
the OOM killer would. Before this issue the run then read STARTED for ever and the queue
launched nothing after it. The pipeline's own recovery is also tested as ``make run-postgres``
runs it (the warehouse and the instance on PostgreSQL).
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


@pytest.fixture(params=["duckdb", pytest.param("postgres", marks=pytest.mark.postgres)])
def run_mode(request) -> str:
    """``make run`` (DuckDB, the instance in SQLite from ``dagster.yaml.example``) or
    ``make run-postgres`` (the warehouse and the instance on the session's PostgreSQL server)."""
    request.getfixturevalue("production_env" if request.param == "postgres" else "instance_home")
    return request.param


def wait_for(condition, timeout: float, what: str, poll: float = 1.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = condition()
        if found:
            return found
        time.sleep(poll)
    pytest.fail(f"timed out after {timeout:.0f} s waiting for {what}")


def steps(instance: dg.DagsterInstance, run_id: str, *types: dg.DagsterEventType) -> set[str]:
    records = instance.get_records_for_run(run_id, of_type=set(types)).records
    return {r.event_log_entry.step_key for r in records}


def steps_in_progress(instance: dg.DagsterInstance, run_id: str) -> set[str]:
    ended = steps(instance, run_id, dg.DagsterEventType.STEP_SUCCESS,
                  dg.DagsterEventType.STEP_FAILURE, dg.DagsterEventType.STEP_SKIPPED)
    return steps(instance, run_id, dg.DagsterEventType.STEP_START) - ended


def pipeline(*args: str, log: Path) -> subprocess.Popen:
    """``python -m dagster_project.pipeline`` in its own process group (so that its dbt child can
    be killed with it)."""
    return subprocess.Popen(
        [sys.executable, "-m", "dagster_project.pipeline", "--scale", "tiny", *args],
        cwd=PROJECT_ROOT, env=os.environ.copy(), stdout=log.open("w"), stderr=subprocess.STDOUT,
        start_new_session=True)


def kill_pipeline_mid_step(tmp_path: Path, before_kill=lambda: None) -> tuple[dg.DagsterRun, int]:
    """Start nightly_refresh; once its run exists, call ``before_kill`` (the run holds the one
    run slot meanwhile); once its dbt step has started, SIGKILL its process group while a step is
    in progress (the dbt step, or a later one if ``before_kill`` outlasted it on a quiet
    machine). The run as recorded, and the killed pid."""
    log = tmp_path / "killed_pipeline.log"
    proc = pipeline("--job", "nightly_refresh", log=log)

    def running():
        assert proc.poll() is None, f"the pipeline exited early:\n{log.read_text()[-3000:]}"
        return True

    with dg.DagsterInstance.get() as instance:
        mine = dg.RunsFilter(tags={PID_TAG: str(proc.pid)})
        # loading the definitions takes most of a minute on a busy machine
        run = wait_for(lambda: running() and next(iter(instance.get_runs(mine)), None), 300,
                       "the run")
        before_kill()
        wait_for(lambda: running() and KILLED_STEP in steps(
            instance, run.run_id, dg.DagsterEventType.STEP_START)
            and steps_in_progress(instance, run.run_id), 300,
            f"a step in progress once {KILLED_STEP} has started", poll=0.1)
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
        assert steps_in_progress(instance, run.run_id)  # killed mid-step
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


def test_pipeline_marks_its_killed_run_failed_at_its_next_start(run_mode, tmp_path):
    """SIGKILL leaves the run STARTED with its dbt step begun and never ended (the defect as
    found); the next ``pipeline`` run marks it failed, naming the dead process, and runs. On
    PostgreSQL the dbt step runs in a process of its own (multiprocess executor), killed with
    the pipeline's process group."""
    run, pid = kill_pipeline_mid_step(tmp_path)
    assert run.status == dg.DagsterRunStatus.STARTED
    assert run.tags[PID_TAG] == str(pid) and run.tags[HOST_TAG] == this_host()
    with dg.DagsterInstance.get() as instance:
        assert KILLED_STEP in steps_in_progress(instance, run.run_id)

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


def sensor_runs(instance: dg.DagsterInstance, *statuses: dg.DagsterRunStatus) -> list[dg.DagsterRun]:
    return list(instance.get_runs(dg.RunsFilter(
        tags={"dagster/sensor_name": "landing_files_sensor"}, statuses=list(statuses))))


def test_run_monitoring_fails_a_run_killed_under_a_running_daemon_and_the_sensors_run_launches(
        instance_home, pipeline_env, tmp_path):
    """With the daemon running (as in ``dagster dev``) nobody touches the instance: while a
    pipeline run is in progress a new day lands; the pipeline is killed mid-step; run monitoring
    finds the dead worker and fails its run, which frees the one run slot, and the sensor's run
    for the new day launches and succeeds. Whether the sensor ticks before or after monitoring
    fails the dead run depends on the daemon's timing (sensor every 60 s, monitoring every 30 s);
    either way the sensor's run starts only once the dead run has ended (queued behind it when it
    ticked first)."""
    daemon_log = tmp_path / "daemon.log"
    done = (dg.DagsterRunStatus.SUCCESS, dg.DagsterRunStatus.FAILURE, dg.DagsterRunStatus.CANCELED)
    with dg.DagsterInstance.get() as instance, dagster_daemon(daemon_log) as daemon:
        def alive():
            assert daemon.poll() is None, daemon_log.read_text()[-3000:]
            return True

        # a fresh sensor cursor: the files already in the landing folder start a first run
        first = wait_for(lambda: alive() and sensor_runs(instance, *done), 300,
                         "the sensor's first run", poll=2)[0]
        assert first.status == dg.DagsterRunStatus.SUCCESS, daemon_log.read_text()[-3000:]

        def new_day_lands():
            subprocess.run(
                [sys.executable, "-m", "dagster_project.simulator", "--out", str(pipeline_env.landing),
                 "--truth-out", str(pipeline_env.truth), "--advance-days", "1", "--quiet"],
                check=True, capture_output=True)

        killed, pid = kill_pipeline_mid_step(tmp_path, before_kill=new_day_lands)
        assert killed.status == dg.DagsterRunStatus.STARTED
        queued = wait_for(lambda: alive() and [r for r in instance.get_runs(dg.RunsFilter(
            tags={"dagster/sensor_name": "landing_files_sensor"})) if r.run_id != first.run_id],
            300, "the sensor's run for the new day", poll=2)[0]

        wait_for(lambda: alive() and instance.get_run_by_id(queued.run_id).is_finished,
                 420, "the queued run to finish", poll=2)
        second = instance.get_run_record_by_id(queued.run_id)
        assert second.dagster_run.status == dg.DagsterRunStatus.SUCCESS, daemon_log.read_text()[-3000:]
        dead = instance.get_run_record_by_id(killed.run_id)
        assert dead.dagster_run.status == dg.DagsterRunStatus.FAILURE
        failure = instance.get_records_for_run(
            killed.run_id, of_type=dg.DagsterEventType.RUN_FAILURE).records[0].event_log_entry
        assert f"process {pid} on {this_host()} is gone" in failure.dagster_event.message
        assert "run monitoring" in failure.dagster_event.message
        # the queue admits one run at a time: the queued run began only once the dead run ended
        assert second.start_time >= dead.end_time
        assert second.dagster_run.tags[HOST_TAG] == this_host()
