"""Peak memory of a process together with its children, sampled from /proc (Linux).

``getrusage`` gives the largest single process; a pipeline step whose dbt subprocess runs beside
it needs the two added up. ``TreeMemory`` samples the summed RSS of this process and all its
descendants every ``interval`` seconds in a thread and keeps (time, MB) pairs, so a caller can
take the peak over any time window (one Dagster step, say). RSS counts shared pages in every
process, so the sum is an upper bound.
"""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path
from typing import Self

PAGE = os.sysconf("SC_PAGE_SIZE")


def _children(pid: int) -> list[int]:
    out = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            out += [int(c) for c in (task / "children").read_text().split()]
        except OSError:
            continue
    return out


def rss_mb(pid: int) -> float:
    """One process's resident set, MB (0 when it is gone)."""
    try:
        return int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * PAGE / 2**20
    except (OSError, IndexError, ValueError):
        return 0.0


def tree_rss_mb(pid: int) -> float:
    total, stack = 0.0, [pid]
    while stack:
        p = stack.pop()
        total += rss_mb(p)
        stack += _children(p)
    return total


class TreeMemory:
    def __init__(self, interval: float = 0.2):
        self.interval = interval
        self.samples: list[tuple[float, float]] = []  # (time.time(), MB)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        pid = os.getpid()
        while not self._stop.is_set():
            self.samples.append((time.time(), tree_rss_mb(pid)))
            self._stop.wait(self.interval)

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()

    def peak(self, start: float | None = None, end: float | None = None) -> float:
        """Peak summed RSS in MB over [start, end] (unix times; None: unbounded)."""
        inside = [mb for t, mb in self.samples
                  if (start is None or t >= start) and (end is None or t <= end)]
        return max(inside, default=0.0)
