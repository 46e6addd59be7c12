"""``make run``: simulate data if the landing folder is empty, materialize everything, summarize.

    python -m dagster_project.pipeline --scale small --seed 42 [--job nightly_refresh]

Runs the job in this process against the Dagster instance in ``$DAGSTER_HOME``, so the run and
its materializations show up in ``make dev`` afterwards. The terminal gets one line per
materialized asset (``[n/N] elapsed asset rows``), then the assets and rows of each domain with
its headline (``headlines.py``); everything else (dbt's output, Dagster's log, warnings, the
table of every asset) goes to ``data/logs/<job>-<UTC time>.log``, whose path is printed first
and last. A failed run prints each failing step's assets and innermost error and exits 1. The run carries this process's pid and
host (``run_recovery``); at start, earlier ``pipeline`` runs on this host whose process died (a
kill -9, a crash) and that still read as in progress are marked failed first.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import traceback
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TextIO

import dagster as dg
import polars as pl

from dagster_project.domains import DOMAINS
from dagster_project.headlines import headline
from dagster_project.run_progress import Progress, elapsed, first_line, quiet_output
from dagster_project.run_recovery import fail_dead_runs, in_process_tags
from dagster_project.settings import get_settings
from dagster_project.warehouse import Warehouse

RUNNER = "pipeline"
ROW_COUNT = "dagster/row_count"
DBT_DURATION = "Execution Duration"


@dataclass(frozen=True)
class AssetLine:
    asset: str
    rows: int | None
    seconds: float | None


def ensure_landing_data(scale: str, seed: int) -> str:
    """Simulate into the landing folder unless a simulation is already there."""
    settings = get_settings()
    manifest = settings.landing_dir / "_simulation.json"
    if manifest.exists():
        found = json.loads(manifest.read_text())
        return f"using existing landing data ({found.get('scale')}, seed {found.get('seed')})"
    from dagster_project.simulator import simulate

    started = time.perf_counter()
    rows = simulate(scale, seed, settings.landing_dir, settings.truth_dir)
    took = time.perf_counter() - started
    return f"simulated {scale} (seed {seed}): {sum(rows.values()):,} rows in {took:.1f} s"


def asset_lines(result: dg.ExecuteInProcessResult, instance: dg.DagsterInstance) -> list[AssetLine]:
    """One line per materialized asset: rows from its metadata, seconds from dbt or its step."""
    step_seconds = {
        s.step_key: (s.end_time or 0) - (s.start_time or 0)
        for s in instance.get_run_step_stats(result.run_id)
    }
    lines = []
    for event in result.get_asset_materialization_events():
        mat = event.event_specific_data.materialization
        meta = mat.metadata
        rows = meta[ROW_COUNT].value if ROW_COUNT in meta else None
        seconds = meta[DBT_DURATION].value if DBT_DURATION in meta else step_seconds.get(event.step_key)
        lines.append(AssetLine(mat.asset_key.to_user_string(), rows, seconds))
    return sorted(lines, key=lambda line: line.asset)


def format_summary(lines: list[AssetLine]) -> str:
    width = max((len(line.asset) for line in lines), default=10)
    out = [f"{'asset':<{width}}  {'rows':>12}  {'seconds':>8}"]
    for line in lines:
        rows = f"{line.rows:,}" if line.rows is not None else "-"
        secs = f"{line.seconds:.2f}" if line.seconds is not None else "-"
        out.append(f"{line.asset:<{width}}  {rows:>12}  {secs:>8}")
    return "\n".join(out)


@dataclass(frozen=True)
class JobPlan:
    """What a job will materialize: each asset's group, and the assets of each step."""

    group_of: dict[str, str]
    assets_of_step: dict[str, tuple[str, ...]]


def job_plan(job: dg.JobDefinition) -> JobPlan:
    graph = job.asset_layer.asset_graph
    group_of, by_step = {}, {}
    for key in job.asset_layer.selected_asset_keys:
        node = graph.get(key)
        group_of[key.to_user_string()] = node.group_name
        by_step.setdefault(node.assets_def.node_def.name, []).append(key.to_user_string())
    return JobPlan(group_of, {step: tuple(sorted(keys)) for step, keys in by_step.items()})


def domain_summary(lines: list[AssetLine], plan: JobPlan, warehouse: Warehouse | None) -> str:
    """One line per domain (assets, rows in its tables) in ``DOMAINS`` order, then its headline
    (read from the warehouse; ``warehouse`` None: no headlines, e.g. after a failed run)."""
    frame = pl.DataFrame(
        {"group": [plan.group_of.get(line.asset, "?") for line in lines],
         "rows": [line.rows for line in lines]},
        schema={"group": pl.Utf8, "rows": pl.Int64})
    per_group = {g: (n, rows) for g, n, rows in frame.group_by("group").agg(
        pl.len(), pl.col("rows").sum()).iter_rows()}
    order = [*DOMAINS, *sorted(set(per_group) - set(DOMAINS))]
    out = []
    for group in order:
        if group not in per_group:
            continue
        n, rows = per_group[group]
        out.append(f"{group:<14} {n:>4} assets {rows:>13,} rows")
        if warehouse is not None:
            with warehouse.session() as session:
                text = headline(session, group)
            if text:
                out.append(f"  {text}")
    return "\n".join(out)


def log_path_for(job: str) -> Path:
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    return get_settings().data_dir / "logs" / f"{job}-{stamp}.log"


def run(args: argparse.Namespace, log: Path, terminal: TextIO) -> int:
    """Simulate if needed, run the job with progress lines on ``terminal``, summarize."""
    terminal.write(ensure_landing_data(args.scale, args.seed) + "\n")
    from dagster_project.definitions import defs

    definitions = defs()
    instance = dg.DagsterInstance.get()
    terminal.writelines(f"marked run {run_id} failed: its process is gone\n"
                        for run_id in fail_dead_runs(instance, RUNNER))
    job = definitions.resolve_job_def(args.job)
    plan = job_plan(job)
    progress = Progress(total=len(plan.group_of), out=terminal, assets_of_step=plan.assets_of_step)
    run_id = str(uuid.uuid4())  # known before the run, to listen to its events
    instance.add_event_listener(run_id, progress)
    terminal.write(f"{args.job}: {progress.total} assets (run {run_id})\n")
    result = job.execute_in_process(
        instance=instance,
        raise_on_error=False,
        run_id=run_id,
        tags=in_process_tags(RUNNER),
        run_config={"loggers": {"console": {"config": {"log_level": args.log_level}}}},
    )
    lines = asset_lines(result, instance)
    print(format_summary(lines), flush=True)  # every asset, to the log
    warehouse = Warehouse.from_settings(get_settings()) if result.success else None
    terminal.write("\n" + domain_summary(lines, plan, warehouse) + "\n")
    status = "succeeded" if result.success else "FAILED"
    terminal.write(f"\n{args.job} {status}: {len(lines)} of {progress.total} assets in "
                   f"{elapsed(progress.elapsed)} (run {result.run_id})\n")
    if not result.success:
        for failure in progress.failures:
            assets = ", ".join(failure.assets) or failure.step
            terminal.write(f"failed: {assets} (step {failure.step})\n")
            terminal.write("".join(f"  {line}\n" for line in failure.error.splitlines()))
        if not progress.failures:
            for event in result.all_events:
                if event.is_failure:
                    terminal.write(f"failed: {event.message}\n")
    terminal.write(f"log: {log}\n")
    return 0 if result.success else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", default="small", choices=["tiny", "small", "medium", "large"])
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--job", default="nightly_refresh")
    parser.add_argument("--log-level", default="INFO", help="Dagster's log level in the log file")
    args = parser.parse_args(argv)

    log = log_path_for(args.job)
    print(f"log: {log}", flush=True)
    with quiet_output(log) as terminal:
        try:
            return run(args, log, terminal)
        except Exception as error:  # noqa: BLE001 (the traceback goes to the log, a line here)
            traceback.print_exc()  # to the log
            terminal.write(f"FAILED before the run finished: {type(error).__name__}: "
                           f"{first_line(str(error))}\nlog: {log}\n")
            return 1


if __name__ == "__main__":
    sys.exit(main())
