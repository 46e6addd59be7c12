"""Runs whose process died: find them and mark them failed, so queued runs, schedules and sensors go on.

Dagster marks a run failed when its run worker dies only while the code server that started the
worker lives to notice. A run executed in-process by ``python -m dagster_project.pipeline`` has no
such watcher, nor has a run whose code server died with it (``dagster dev`` killed): either stays
STARTED for ever and, under the queue's run limits, holds back every later run.

Each run in progress has one worker process: the run worker a launcher started (Dagster logs its
pid in the run's engine event "Started process for run (pid: N)") or the ``pipeline`` process
(pid in the run's tags, :func:`in_process_tags`). The worker is gone when no process has that pid,
the process is a zombie, or the pid now belongs to a process that started after the worker was
last seen (the pid was reused). Only processes on this host can be judged, so every run records its
worker's host (tag ``bi/worker_host``); runs of another host, or without the tag, are left alone.

Two places act on it: :class:`LocalRunLauncher` (``run_launcher`` in ``dagster.yaml``) answers
Dagster's run monitoring (``run_monitoring`` in ``dagster.yaml``; the daemon asks every
``poll_interval_seconds`` about each STARTED run), and :func:`fail_dead_runs` is what ``pipeline``
calls at start for the runs it executed itself.
"""

from __future__ import annotations

import json
import os
import socket
from dataclasses import dataclass

import dagster as dg
import psutil
from dagster._core.launcher import CheckRunHealthResult, DefaultRunLauncher, WorkerStatus
from dagster._core.storage.tags import GRPC_INFO_TAG

HOST_TAG = "bi/worker_host"
PID_TAG = "bi/worker_pid"
RUNNER_TAG = "bi/runner"
# psutil derives a process's start time from the boot time, which /proc gives in whole seconds
CLOCK_SLACK_SECONDS = 2.0
LOOPBACK = ("localhost", "127.0.0.1", "::1")
UNFINISHED = [dg.DagsterRunStatus.NOT_STARTED, dg.DagsterRunStatus.STARTING,
              dg.DagsterRunStatus.STARTED]


@dataclass(frozen=True)
class Worker:
    """The process that executes a run, and a moment it was known to be running."""

    host: str
    pid: int
    seen_at: float  # unix seconds

    def is_gone(self) -> bool:
        """Whether this process (on this host) no longer runs; its pid may have been reused."""
        try:
            process = psutil.Process(self.pid)
            return (process.status() == psutil.STATUS_ZOMBIE
                    or process.create_time() > self.seen_at + CLOCK_SLACK_SECONDS)
        except psutil.NoSuchProcess:
            return True

    def describe(self) -> str:
        return f"process {self.pid} on {self.host}"


def this_host() -> str:
    return socket.gethostname()


def in_process_tags(runner: str) -> dict[str, str]:
    """Tags for a run this process executes itself: who runs it, and its worker (this process)."""
    return {RUNNER_TAG: runner, HOST_TAG: this_host(), PID_TAG: str(os.getpid())}


def _logged_worker_pid(instance: dg.DagsterInstance, run_id: str) -> tuple[int, float] | None:
    """(pid, timestamp) of the run's first engine event naming a pid: the run worker's."""
    records = instance.get_records_for_run(
        run_id, of_type=dg.DagsterEventType.ENGINE_EVENT, limit=20).records
    for record in records:
        data = record.event_log_entry.dagster_event.event_specific_data
        pid = getattr(data, "metadata", {}).get("pid")
        if pid is not None:
            return int(pid.value), record.event_log_entry.timestamp
    return None


def worker_of(instance: dg.DagsterInstance, run_id: str) -> Worker | None:
    """The run's worker on this host, or None when it ran elsewhere or is not known yet."""
    record = instance.get_run_record_by_id(run_id)
    if record is None or record.dagster_run.tags.get(HOST_TAG) != this_host():
        return None
    tags = record.dagster_run.tags
    if PID_TAG in tags:  # recorded by the process itself before the run was created
        return Worker(this_host(), int(tags[PID_TAG]), record.create_timestamp.timestamp())
    logged = _logged_worker_pid(instance, run_id)
    return Worker(this_host(), *logged) if logged else None


def dead_worker_message(worker: Worker, by: str) -> str:
    return (f"The run's {worker.describe()} is gone (killed or crashed) while the run was in "
            f"progress; marked failed by {by} so that queued runs, schedules and sensors go on. "
            "Run it again: writes are atomic, so each table it wrote is complete or untouched.")


def fail_dead_runs(instance: dg.DagsterInstance, runner: str) -> list[str]:
    """Mark failed the unfinished runs that ``runner`` executed on this host whose process is
    gone; returns their run ids."""
    failed = []
    runs = instance.get_runs(dg.RunsFilter(statuses=UNFINISHED, tags={RUNNER_TAG: runner}))
    for run in runs:
        worker = worker_of(instance, run.run_id)
        if worker is None or not worker.is_gone():
            continue
        now = instance.get_run_by_id(run.run_id)  # it may have finished just before its process exited
        if now is not None and now.status in UNFINISHED:
            instance.report_run_failed(now, dead_worker_message(worker, f"the next {runner} run"))
            failed.append(run.run_id)
    return failed


class LocalRunLauncher(DefaultRunLauncher):
    """Dagster's default launcher (a process per run, started by the run's code server) that also
    answers run monitoring's health check for the runs whose worker runs on this host.

    Runs it launches get the host of their code server as ``bi/worker_host`` (this host for the
    code servers ``dagster dev`` and ``dagster-daemon`` start); in-process ``pipeline`` runs carry
    it too. For runs it cannot judge it answers RUNNING: run monitoring fails any other answer."""

    def launch_run(self, context) -> None:
        super().launch_run(context)
        run = self._instance.get_run_by_id(context.dagster_run.run_id)
        server = json.loads(run.tags.get(GRPC_INFO_TAG, "{}")).get("host") if run else None
        if run is not None and server:
            host = this_host() if server in LOOPBACK else server
            self._instance.add_run_tags(run.run_id, {HOST_TAG: host})

    @property
    def supports_check_run_worker_health(self) -> bool:
        return True

    def check_run_worker_health(self, run: dg.DagsterRun) -> CheckRunHealthResult:
        worker = worker_of(self._instance, run.run_id)
        if worker is None:
            return CheckRunHealthResult(WorkerStatus.RUNNING, "no worker on this host to check")
        if worker.is_gone():
            return CheckRunHealthResult(
                WorkerStatus.FAILED, dead_worker_message(worker, "run monitoring"))
        return CheckRunHealthResult(WorkerStatus.RUNNING, f"{worker.describe()} is running")

