"""Which runs have lost their worker process: real processes, a real (ephemeral) Dagster instance."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import dagster as dg
import psutil
import pytest
from dagster._core.launcher import WorkerStatus

from dagster_project.run_recovery import (
    HOST_TAG,
    PID_TAG,
    LocalRunLauncher,
    Worker,
    this_host,
    worker_of,
)


def sleeper() -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])


@pytest.fixture
def dead_pid() -> int:
    """The pid of a process that was killed with SIGKILL and reaped."""
    proc = sleeper()
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=10)
    return proc.pid


def test_a_running_process_is_not_gone():
    assert not Worker(this_host(), os.getpid(), time.time()).is_gone()


def test_a_killed_and_reaped_process_is_gone(dead_pid):
    assert Worker(this_host(), dead_pid, time.time()).is_gone()


def test_a_killed_process_not_yet_reaped_is_gone():
    proc = sleeper()
    try:
        proc.send_signal(signal.SIGKILL)
        deadline = time.monotonic() + 10
        while psutil.Process(proc.pid).status() != psutil.STATUS_ZOMBIE:
            assert time.monotonic() < deadline
            time.sleep(0.05)
        assert Worker(this_host(), proc.pid, time.time()).is_gone()
    finally:
        proc.wait(timeout=10)


def test_a_pid_now_held_by_a_process_started_after_the_worker_was_seen_is_gone():
    """A reused pid: the process with it started an hour after the worker was last seen alive."""
    started = psutil.Process(os.getpid()).create_time()
    assert Worker(this_host(), os.getpid(), started - 3600).is_gone()
    assert not Worker(this_host(), os.getpid(), started).is_gone()


@dg.op
def noop() -> None:
    pass


@dg.job
def one_step():
    noop()


def finished_run(instance: dg.DagsterInstance, tags: dict[str, str]) -> dg.DagsterRun:
    return one_step.execute_in_process(instance=instance, tags=tags).dagster_run


def launcher(instance: dg.DagsterInstance) -> LocalRunLauncher:
    found = LocalRunLauncher()
    found.register_instance(instance)
    return found


def test_the_worker_pid_is_read_from_the_runs_engine_event_when_not_tagged():
    """An in-process run logs "Executing steps in process (pid: N)": N is this process."""
    with dg.DagsterInstance.ephemeral() as instance:
        run = finished_run(instance, {HOST_TAG: this_host()})
        worker = worker_of(instance, run.run_id)
        assert worker is not None and worker.pid == os.getpid()
        assert launcher(instance).check_run_worker_health(run).status == WorkerStatus.RUNNING


def test_the_health_check_fails_a_run_whose_tagged_worker_is_dead(dead_pid):
    with dg.DagsterInstance.ephemeral() as instance:
        run = finished_run(instance, {HOST_TAG: this_host(), PID_TAG: str(dead_pid)})
        health = launcher(instance).check_run_worker_health(run)
        assert health.status == WorkerStatus.FAILED
        assert f"process {dead_pid} on {this_host()} is gone" in health.msg


def test_runs_of_another_host_or_without_a_host_are_not_judged(dead_pid):
    """Run monitoring fails a run on any answer but RUNNING: a pid of another machine means
    nothing here, so such runs read RUNNING (only the run's own timeouts apply to them)."""
    with dg.DagsterInstance.ephemeral() as instance:
        for tags in ({HOST_TAG: f"not-{this_host()}", PID_TAG: str(dead_pid)},
                     {PID_TAG: str(dead_pid)}):
            run = finished_run(instance, tags)
            assert worker_of(instance, run.run_id) is None
            assert launcher(instance).check_run_worker_health(run).status == WorkerStatus.RUNNING
