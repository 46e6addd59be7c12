"""Scheduled refreshes: nightly_refresh at `large` (time, peak memory of the pipeline and dbt
together, per step), and hourly_refresh after one new day at `small` and `large`."""

from __future__ import annotations

import dataclasses
import shutil

from bench_simulator import landing_paths, simulate_landing
from benchlib import Context, Record

ORDER = 60
SCALES = ("small", "large")  # fixed by the issue; `--scale tiny` runs both jobs at tiny
NIGHTLY_TARGET_S = 8 * 60
MEMORY_TARGET_MB = 4096
HOURLY_SHARE_TARGET = 0.05  # hourly after one new day / nightly, at small
HOURLY_SAME_COST = 1.2  # hourly at large / at small: the same seconds within 20%
TOP_STEPS = 8


def advance(landing_dir: str, truth_dir: str) -> dict:
    """Append the next simulated day to the landing folder (not part of any timed figure)."""
    from pathlib import Path

    from dagster_project.simulator import simulate

    rows = simulate(None, None, Path(landing_dir), Path(truth_dir), advance_days=1)
    return {"rows": int(sum(rows.values()))}


def refresh(job: str, data_dir: str, landing_dir: str, truth_dir: str, dagster_home: str) -> dict:
    """The measured step: run ``job`` in-process against the instance in ``dagster_home``,
    sampling the memory of this process and its dbt children; per step its seconds and the peak
    within its window."""
    import os
    from pathlib import Path

    from tree_memory import TreeMemory

    for name, value in {"BI_DATA_DIR": data_dir, "BI_LANDING_DIR": landing_dir,
                        "BI_TRUTH_DIR": truth_dir, "DAGSTER_HOME": dagster_home,
                        "BI_DUCKDB_PATH": str(Path(data_dir) / "warehouse.duckdb")}.items():
        os.environ[name] = value
    Path(dagster_home).mkdir(parents=True, exist_ok=True)
    (Path(dagster_home) / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    import dagster as dg

    from dagster_project.definitions import defs

    with dg.DagsterInstance.get() as instance, TreeMemory() as memory:
        result = defs().resolve_job_def(job).execute_in_process(instance=instance,
                                                                raise_on_error=False)
        stats = instance.get_run_step_stats(result.run_id)
    if not result.success:
        raise RuntimeError(f"{job} failed: {[e.message for e in result.all_events if e.is_failure][:3]}")
    steps = sorted(({"step": s.step_key, "seconds": round((s.end_time or 0) - (s.start_time or 0), 2),
                     "peak_mb": round(memory.peak(s.start_time, s.end_time))}
                    for s in stats), key=lambda s: -s["seconds"])
    size = Path(data_dir, "warehouse.duckdb").stat().st_size / 2**20
    return {"peak_mb": round(memory.peak()), "steps": steps, "warehouse_mb": round(size),
            "assets": len(result.get_asset_materialization_events())}


def _run_scale(ctx: Context, scale: str) -> tuple:
    sctx = dataclasses.replace(ctx, scale=scale)
    landing, truth, done = landing_paths(sctx)
    if not done.exists():
        simulate_landing(sctx, label=f"simulate-{scale}")
    # a private copy: the new day must not leak into other benchmarks' landing folder
    own_landing, own_truth = ctx.path(f"refresh-{scale}", "landing"), ctx.path(f"refresh-{scale}", "truth")
    for src, dst in ((landing, own_landing), (truth, own_truth)):
        shutil.rmtree(dst, ignore_errors=True)
        shutil.copytree(src, dst)
    data = ctx.dir(f"refresh-{scale}", "data")
    for old in data.glob("warehouse.duckdb*"):
        old.unlink()
    common = {"data_dir": str(data), "landing_dir": str(own_landing), "truth_dir": str(own_truth),
              "dagster_home": str(ctx.dir(f"refresh-{scale}", "dagster"))}
    nightly = ctx.measure("bench_refresh:refresh", label=f"nightly-{scale}", job="nightly_refresh",
                          **common)
    new_day = ctx.measure("bench_refresh:advance", label=f"advance-{scale}",
                          landing_dir=common["landing_dir"], truth_dir=common["truth_dir"])
    hourly = ctx.measure("bench_refresh:refresh", label=f"hourly-{scale}", job="hourly_refresh",
                         **common)
    hourly.result["new_rows"] = new_day.result["rows"]
    return nightly, hourly


def _steps_note(m) -> str:
    return "; ".join(f"{s['step']} {s['seconds']:.1f} s / {s['peak_mb']} MB"
                     for s in m.result["steps"][:TOP_STEPS])


def run(ctx: Context) -> list[Record]:
    small, large = ("tiny", "tiny") if ctx.scale == "tiny" else SCALES
    n_small, h_small = _run_scale(ctx, small)
    n_large, h_large = (n_small, h_small) if large == small else _run_scale(ctx, large)
    records = [
        Record.from_measurement(f"nightly_seconds_{large}", round(n_large.seconds, 1), "s", n_large,
                                target=NIGHTLY_TARGET_S, notes=f"{n_large.result['assets']} assets; "
                                f"slowest steps (seconds / peak MB of pipeline + dbt): {_steps_note(n_large)}"),
        Record(f"nightly_peak_memory_{large}", n_large.result["peak_mb"], "MB",
               target=MEMORY_TARGET_MB, notes="summed RSS of the pipeline process and its dbt "
               f"subprocesses, sampled every 0.2 s; warehouse file {n_large.result['warehouse_mb']} MB"),
        Record.from_measurement(f"nightly_seconds_{small}", round(n_small.seconds, 1), "s", n_small),
        Record.from_measurement(f"hourly_seconds_{small}", round(h_small.seconds, 1), "s", h_small,
                                notes=f"after --advance-days 1 ({h_small.result['new_rows']:,} new rows); "
                                f"{_steps_note(h_small)}"),
        Record(f"hourly_over_nightly_{small}", round(h_small.seconds / n_small.seconds, 3), "x",
               target=HOURLY_SHARE_TARGET),
        Record.from_measurement(f"hourly_seconds_{large}", round(h_large.seconds, 1), "s", h_large,
                                notes=f"after --advance-days 1 ({h_large.result['new_rows']:,} new rows); "
                                f"{_steps_note(h_large)}"),
        Record(f"hourly_{large}_over_{small}", round(h_large.seconds / h_small.seconds, 2), "x",
               target=HOURLY_SAME_COST, notes="the hourly job's cost follows the new day, "
               "not the history: the same seconds within 20% at both scales"),
    ]
    return records
