"""The benchmark harness: records, per-step subprocess measurement, registry, result files.

A benchmark is a module ``bench/bench_<name>.py`` with

    NAME = "ingest"          # optional, defaults to <name>
    ORDER = 20               # optional, run order (lower first; default 100)
    def run(ctx: Context) -> list[Record]: ...

``run`` orchestrates (cheap work only) and hands every heavy step to ``ctx.measure(...)``,
which runs it in a fresh ``python bench/step.py`` subprocess, so that each step's wall time
and peak memory (max RSS of the child and of anything the child spawned and waited for, such
as dbt) are measured on their own.

Nothing here imports the project: ``bench/`` is a folder of scripts, not a package. Scripts
in it import each other by module name because ``bench/`` is on ``sys.path`` (it is the
script's folder for ``python bench/run.py``; ``run.py`` adds it when loaded by path).
"""

from __future__ import annotations

import importlib
import importlib.util
import json
import math
import os
import platform
import shutil
import subprocess
import sys
import time
import traceback
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
REPO_ROOT = BENCH_DIR.parent
RESULTS_DIR = BENCH_DIR / "results"
STEP_SCRIPT = BENCH_DIR / "step.py"
MODULE_PREFIX = "bench_"
DEFAULT_ORDER = 100


# ---------------------------------------------------------------------------------------------
# records


@dataclass
class Record:
    """One reported figure. ``passed`` is derived from ``target``/``target_op`` when not given."""

    name: str
    value: float | int | None
    unit: str
    target: float | None = None
    target_op: str = "<="  # "<=" (lower is better) or ">=" (higher is better)
    passed: bool | None = None
    peak_rss_mb: float | None = None
    seconds: float | None = None
    notes: str = ""

    def __post_init__(self):
        if self.target_op not in ("<=", ">="):
            raise ValueError(f"target_op must be '<=' or '>=', got {self.target_op!r}")
        if self.passed is None and self.target is not None:
            if self.value is None or (isinstance(self.value, float) and math.isnan(self.value)):
                self.passed = False
            elif self.target_op == "<=":
                self.passed = self.value <= self.target
            else:
                self.passed = self.value >= self.target

    @classmethod
    def from_measurement(cls, name: str, value, unit: str, m: Measurement, **kw) -> Record:
        return cls(name, value, unit, peak_rss_mb=m.peak_rss_mb, seconds=m.seconds, **kw)


@dataclass
class Measurement:
    """What ``ctx.measure`` returns: the step's timing, memory and the function's result."""

    seconds: float  # the function call, timed inside the child (imports excluded)
    peak_rss_mb: float  # max(child's own max RSS, max RSS of the processes it waited for)
    self_peak_mb: float
    children_peak_mb: float
    wall_seconds: float  # the whole subprocess, interpreter start-up and imports included
    result: Any = None


class StepFailed(RuntimeError):
    pass


# ---------------------------------------------------------------------------------------------
# context handed to every benchmark


@dataclass
class Context:
    scale: str
    seed: int
    work_dir: Path
    results_dir: Path = RESULTS_DIR
    repo_root: Path = REPO_ROOT
    python: str = sys.executable
    keep_work: bool = False
    log: Callable[[str], None] = field(default=lambda msg: print(msg, file=sys.stderr, flush=True))
    _steps: int = 0

    def path(self, *parts: str) -> Path:
        """A path in this run's work folder (parents created)."""
        p = self.work_dir.joinpath(*parts)
        p.parent.mkdir(parents=True, exist_ok=True)
        return p

    def dir(self, *parts: str) -> Path:
        """A folder in this run's work folder (created)."""
        p = self.work_dir.joinpath(*parts)
        p.mkdir(parents=True, exist_ok=True)
        return p

    def measure(
        self,
        target: str,
        *,
        env: dict[str, str] | None = None,
        timeout: float | None = None,
        label: str | None = None,
        **kwargs: Any,
    ) -> Measurement:
        """Run ``module:function(**kwargs)`` in its own subprocess and measure it.

        ``target`` is ``"bench_x:func"`` (a module in ``bench/``) or ``"path/to/file.py:func"``
        (relative paths are taken from ``bench/``). ``kwargs`` and the function's return value
        must be JSON-serializable. The child's output goes to ``<work>/logs/<label>.log``.
        """
        self._steps += 1
        label = label or f"{self._steps:02d}-{target.split(':')[-1]}"
        logs = self.work_dir / "logs"
        logs.mkdir(parents=True, exist_ok=True)
        args_file = logs / f"{label}.args.json"
        out_file = logs / f"{label}.result.json"
        log_file = logs / f"{label}.log"
        args_file.write_text(json.dumps(kwargs, default=str))
        out_file.unlink(missing_ok=True)
        child_env = {**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})}
        self.log(f"  [{label}] {target} ...")
        started = time.perf_counter()
        with log_file.open("w") as log:
            proc = subprocess.run(
                [self.python, str(STEP_SCRIPT), target, str(args_file), str(out_file)],
                check=False,
                cwd=self.repo_root,
                env=child_env,
                stdout=log,
                stderr=subprocess.STDOUT,
                timeout=timeout,
            )
        wall = time.perf_counter() - started
        out = json.loads(out_file.read_text()) if out_file.exists() else {}
        if proc.returncode != 0 or "error" in out or "seconds" not in out:
            tail = out.get("error") or _tail(log_file)
            raise StepFailed(f"step {target} failed (exit {proc.returncode}):\n{tail}")
        m = Measurement(
            seconds=out["seconds"],
            peak_rss_mb=out["peak_rss_mb"],
            self_peak_mb=out["self_peak_mb"],
            children_peak_mb=out["children_peak_mb"],
            wall_seconds=wall,
            result=out.get("result"),
        )
        self.log(f"  [{label}] {m.seconds:.2f} s, peak {m.peak_rss_mb:.0f} MB")
        return m


def _tail(path: Path, lines: int = 30) -> str:
    if not path.exists():
        return "(no output)"
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])


# ---------------------------------------------------------------------------------------------
# registry


@dataclass(frozen=True)
class Benchmark:
    name: str
    run: Callable[[Context], list[Record]]
    order: int = DEFAULT_ORDER
    description: str = ""


def discover(bench_dir: Path = BENCH_DIR) -> list[Benchmark]:
    """Every ``bench_*.py`` module in ``bench_dir`` that defines ``run(ctx)``, in ORDER."""
    if str(bench_dir) not in sys.path:
        sys.path.insert(0, str(bench_dir))
    found = []
    for path in sorted(bench_dir.glob(f"{MODULE_PREFIX}*.py")):
        module = importlib.import_module(path.stem)
        run = getattr(module, "run", None)
        if not callable(run):
            continue
        name = getattr(module, "NAME", path.stem.removeprefix(MODULE_PREFIX))
        doc = (module.__doc__ or "").strip().splitlines()
        found.append(
            Benchmark(name, run, getattr(module, "ORDER", DEFAULT_ORDER), doc[0] if doc else "")
        )
    return sorted(found, key=lambda b: (b.order, b.name))


# ---------------------------------------------------------------------------------------------
# running and reporting


def environment() -> dict[str, Any]:
    return {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "machine": platform.machine(),
    }


def run_benchmark(bench: Benchmark, ctx: Context) -> dict[str, Any]:
    """Run one benchmark; an exception becomes an error record, never a crash of the run."""
    started_at = datetime.now(UTC).isoformat(timespec="seconds")
    t0 = time.perf_counter()
    error = None
    try:
        records = list(bench.run(ctx))
    except Exception as exc:  # noqa: BLE001 - reported in the results, the run goes on
        error = "".join(traceback.format_exception_only(type(exc), exc)).strip()
        ctx.log(traceback.format_exc())
        records = [Record("error", None, "", passed=False, notes=error.splitlines()[-1][:300])]
    return {
        "benchmark": bench.name,
        "order": bench.order,
        "description": bench.description,
        "scale": ctx.scale,
        "seed": ctx.seed,
        "started_at": started_at,
        "total_seconds": round(time.perf_counter() - t0, 3),
        "ok": error is None,
        "error": error,
        "environment": environment(),
        "records": [asdict(r) for r in records],
    }


def write_result(result: dict[str, Any], results_dir: Path) -> Path:
    results_dir.mkdir(parents=True, exist_ok=True)
    path = results_dir / f"{result['benchmark']}.json"
    path.write_text(json.dumps(result, indent=2, default=str) + "\n")
    return path


def load_results(results_dir: Path) -> list[dict[str, Any]]:
    """Every ``<benchmark>.json`` in ``results_dir`` (those of earlier runs included)."""
    out = []
    for path in sorted(results_dir.glob("*.json")):
        try:
            data = json.loads(path.read_text())
        except json.JSONDecodeError:
            continue
        if isinstance(data, dict) and "benchmark" in data and "records" in data:
            out.append(data)
    return sorted(out, key=lambda r: (r.get("order", DEFAULT_ORDER), r["benchmark"]))


def fmt_number(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if abs(value) >= 1000:
            return f"{value:,.0f}"
        if abs(value) >= 100:
            return f"{value:.1f}"
        return f"{value:.3g}" if abs(value) < 1 else f"{value:.2f}"
    return str(value)


def _met(record: dict[str, Any]) -> str:
    if record.get("passed") is None:
        return "—"
    return "yes" if record["passed"] else "**no**"


def _target(record: dict[str, Any]) -> str:
    if record.get("target") is None:
        return "—"
    op = "≤" if record.get("target_op", "<=") == "<=" else "≥"
    return f"{op} {fmt_number(record['target'])}"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def render_markdown(results: list[dict[str, Any]]) -> str:
    """The RESULTS.md text: one table row per record, notes listed below the table."""
    lines = [
        "# Benchmark results",
        "",
        "Written by `bench/run.py` (`make bench`). Peak memory is the maximum resident set size",
        "of the step's own process and of the processes it waited for (dbt); seconds are the",
        "measured step's wall time.",
        "",
        "| benchmark | measure | figure | unit | target | met? | peak memory (MB) | seconds |",
        "|---|---|---:|---|---|---|---:|---:|",
    ]
    notes = []
    for res in results:
        bench = f"{res['benchmark']} ({res.get('scale', '?')})"
        for rec in res["records"]:
            name = rec["name"]
            if rec.get("notes"):
                notes.append(f"- **{res['benchmark']} / {name}**: {rec['notes']}")
            lines.append(
                "| "
                + " | ".join(
                    _cell(c)
                    for c in (
                        bench,
                        name,
                        fmt_number(rec.get("value")),
                        rec.get("unit", ""),
                        _target(rec),
                        _met(rec),
                        fmt_number(rec.get("peak_rss_mb")),
                        fmt_number(rec.get("seconds")),
                    )
                )
                + " |"
            )
    if notes:
        lines += ["", "Notes:", "", *notes]
    runs: dict[tuple, list[str]] = {}
    for r in results:
        runs.setdefault((r.get("scale"), r.get("seed")), []).append(r.get("started_at", "?"))
    env = results[0].get("environment", {}) if results else {}
    lines += [
        "",
        "Runs: "
        + "; ".join(
            f"scale {sc}, seed {sd}, started {min(ts)}" for (sc, sd), ts in sorted(runs.items())
        )
        + ".",
        (
            f"Machine: {env.get('cpus', '?')} CPUs, {env.get('platform', '?')}, "
            f"Python {env.get('python', '?')}."
        ),
    ]
    return "\n".join(lines) + "\n"


def run_all(
    benchmarks: list[Benchmark],
    ctx: Context,
    only: list[str] | None = None,
) -> tuple[list[dict[str, Any]], str]:
    """Run the selected benchmarks, write their JSON files and RESULTS.md; return both."""
    selected = [b for b in benchmarks if not only or b.name in only]
    unknown = sorted(set(only or []) - {b.name for b in benchmarks})
    if unknown:
        known = ", ".join(b.name for b in benchmarks)
        raise SystemExit(f"unknown benchmark(s) {', '.join(unknown)}; known: {known}")
    ctx.work_dir.mkdir(parents=True, exist_ok=True)
    results = []
    try:
        for bench in selected:
            ctx.log(f"benchmark {bench.name} (scale {ctx.scale}, seed {ctx.seed})")
            result = run_benchmark(bench, ctx)
            write_result(result, ctx.results_dir)
            results.append(result)
    finally:
        if not ctx.keep_work:
            shutil.rmtree(ctx.work_dir, ignore_errors=True)
    markdown = render_markdown(load_results(ctx.results_dir))
    (ctx.results_dir / "RESULTS.md").write_text(markdown)
    return results, markdown
