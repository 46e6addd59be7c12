"""``make run``: simulate data if the landing folder is empty, materialize everything, summarize.

    python -m dagster_project.pipeline --scale small --seed 42 [--job nightly_refresh]

Runs the job in this process against the Dagster instance in ``$DAGSTER_HOME``, so the run and
its materializations show up in ``make dev`` afterwards. The run carries this process's pid and
host (``run_recovery``); at start, earlier ``pipeline`` runs on this host whose process died (a
kill -9, a crash) and that still read as in progress are marked failed first.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import dataclass

import dagster as dg

from dagster_project.run_recovery import fail_dead_runs, in_process_tags
from dagster_project.settings import get_settings

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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", default="small", choices=["tiny", "small", "medium", "large"])
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--job", default="nightly_refresh")
    parser.add_argument("--log-level", default="WARNING", help="Dagster console log level")
    args = parser.parse_args(argv)

    print(ensure_landing_data(args.scale, args.seed), flush=True)
    from dagster_project.definitions import defs

    instance = dg.DagsterInstance.get()
    for run_id in fail_dead_runs(instance, RUNNER):
        print(f"marked run {run_id} failed: its process is gone", flush=True)
    started = time.perf_counter()
    result = defs().resolve_job_def(args.job).execute_in_process(
        instance=instance,
        raise_on_error=False,
        tags=in_process_tags(RUNNER),
        run_config={"loggers": {"console": {"config": {"log_level": args.log_level}}}},
    )
    took = time.perf_counter() - started
    lines = asset_lines(result, instance)
    print(format_summary(lines))
    status = "succeeded" if result.success else "FAILED"
    print(f"\n{args.job} {status}: {len(lines)} assets in {took:.1f} s (run {result.run_id})")
    if not result.success:
        for event in result.all_events:
            if event.is_failure:
                print(event.message, file=sys.stderr)
    return 0 if result.success else 1


if __name__ == "__main__":
    sys.exit(main())
