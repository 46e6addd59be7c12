"""Simulator throughput: rows/s writing the landing folder at the chosen scale, peak memory."""

from __future__ import annotations

import shutil
from pathlib import Path

from benchlib import Context, Record

ORDER = 10


def simulate_into(scale: str, seed: int, out_dir: str, truth_dir: str) -> dict:
    """The measured step (runs in its own process)."""
    from dagster_project.simulator import simulate

    rows = simulate(scale, seed, Path(out_dir), Path(truth_dir))
    return {"rows": int(sum(rows.values())), "tables": {k: int(v) for k, v in rows.items()}}


def folder_mb(path: Path) -> float:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) / 2**20


def landing_paths(ctx: Context) -> tuple[Path, Path, Path]:
    """(landing dir, truth dir, done marker) for the context's scale and seed."""
    base = f"landing-{ctx.scale}-{ctx.seed}"
    return ctx.path(base), ctx.path(f"truth-{ctx.scale}-{ctx.seed}"), ctx.path(f"{base}.done")


def simulate_landing(ctx: Context, label: str = "simulate"):
    """Simulate into a fresh landing folder of the work dir; returns (landing, measurement)."""
    landing, truth, done = landing_paths(ctx)
    done.unlink(missing_ok=True)
    for d in (landing, truth):
        shutil.rmtree(d, ignore_errors=True)
    m = ctx.measure(
        "bench_simulator:simulate_into",
        label=label,
        scale=ctx.scale,
        seed=ctx.seed,
        out_dir=str(landing),
        truth_dir=str(truth),
    )
    done.touch()
    return landing, m


def ensure_landing(ctx: Context) -> Path:
    """The landing folder for this scale and seed, simulated (unreported) if not there yet."""
    landing, _, done = landing_paths(ctx)
    if not done.exists():
        landing, _ = simulate_landing(ctx, label="prepare-simulate")
    return landing


def run(ctx: Context) -> list[Record]:
    landing, m = simulate_landing(ctx)
    rows = m.result["rows"]
    tables = m.result["tables"]
    biggest = sorted(tables.items(), key=lambda kv: -kv[1])[:3]
    return [
        Record.from_measurement(
            "throughput",
            rows / m.seconds if m.seconds else None,
            "rows/s",
            m,
            notes=f"{rows:,} rows in {len(tables)} tables, {folder_mb(landing):,.0f} MB on disk; "
            "largest: " + ", ".join(f"{t} {n:,}" for t, n in biggest),
        ),
        Record.from_measurement("rows", rows, "rows", m),
    ]
