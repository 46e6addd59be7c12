"""What ``make run`` shows while a job runs: one line per finished asset, everything else logged.

``quiet_output`` points the process's stdout and stderr (file descriptors 1 and 2, so dbt's
per-model and per-test lines, Python warnings and anything a library prints go with them) at a
log file and hands back a stream on the terminal. ``Progress`` is an instance event listener:
it prints ``[n/N] elapsed asset rows`` as each materialization is stored and keeps each failed
step's asset and error for the end of the run.
"""

from __future__ import annotations

import contextlib
import os
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

import dagster as dg

ROW_COUNT = "dagster/row_count"


@contextlib.contextmanager
def quiet_output(log_path: Path) -> Iterator[TextIO]:
    """Redirect fds 1 and 2 to ``log_path`` (appending) for the block; yield the terminal."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    sys.stdout.flush()
    sys.stderr.flush()
    saved_out, saved_err = os.dup(1), os.dup(2)
    terminal = os.fdopen(os.dup(saved_out), "w", buffering=1)
    log = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    try:
        os.dup2(log, 1)
        os.dup2(log, 2)
        yield terminal
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os.dup2(saved_out, 1)
        os.dup2(saved_err, 2)
        for fd in (log, saved_out, saved_err):
            os.close(fd)
        terminal.close()


def elapsed(seconds: float) -> str:
    minutes, secs = divmod(int(seconds), 60)
    return f"{minutes}:{secs:02d}"


@dataclass(frozen=True)
class StepFailure:
    step: str
    assets: tuple[str, ...]
    error: str


@dataclass
class Progress:
    """Counts materializations of a run of ``total`` assets and prints a line for each."""

    total: int
    out: TextIO
    assets_of_step: dict[str, tuple[str, ...]] = field(default_factory=dict)
    started: float = field(default_factory=time.perf_counter)
    done: int = 0
    rows: dict[str, int | None] = field(default_factory=dict)
    failures: list[StepFailure] = field(default_factory=list)

    def __call__(self, entry: dg.EventLogEntry) -> None:
        event = entry.dagster_event
        if event is None:
            return
        if event.event_type == dg.DagsterEventType.ASSET_MATERIALIZATION:
            mat = event.event_specific_data.materialization
            meta = mat.metadata
            asset = mat.asset_key.to_user_string()
            rows = meta[ROW_COUNT].value if ROW_COUNT in meta else None
            self.rows[asset] = rows
            self.done += 1
            width = len(str(self.total))
            rows_text = f"{rows:,} rows" if rows is not None else "view"
            self.out.write(f"[{self.done:>{width}}/{self.total}] {elapsed(self.elapsed)}  "
                           f"{asset}  {rows_text}\n")
        elif event.event_type == dg.DagsterEventType.STEP_FAILURE:
            message = root_message(event.event_specific_data.error)
            step = event.step_key or "?"
            self.failures.append(StepFailure(step, self.assets_of_step.get(step, ()), message))
            self.out.write(f"FAILED {step}: {first_line(message)}\n")

    @property
    def elapsed(self) -> float:
        return time.perf_counter() - self.started


def root_message(error) -> str:
    """The innermost cause of a ``SerializableErrorInfo`` (None: no error info): the user's
    exception, not Dagster's step wrapper."""
    while error is not None and error.cause is not None:
        error = error.cause
    return error.message.strip() if error is not None else "step failed"


def first_line(text: str) -> str:
    return text.splitlines()[0] if text else ""
