"""The DuckDB file over five nightly runs at `small`: its size and its free blocks after each
(repeated rebuilds must not grow it without bound)."""

from __future__ import annotations

import dataclasses

from bench_refresh import refresh
from bench_simulator import landing_paths, simulate_landing
from benchlib import Context, Record

ORDER = 70
SCALE = "small"  # `--scale tiny` for a quick check
RUNS = 5
GROWTH_TARGET = 1.5  # last file / file after the first run


def file_blocks(duckdb_path: str) -> dict:
    """Size and block counts of a DuckDB file (``pragma database_size``)."""
    from pathlib import Path

    import duckdb

    con = duckdb.connect(duckdb_path, read_only=True)
    total, used, free = con.execute(
        "select total_blocks, used_blocks, free_blocks from pragma_database_size()").fetchone()
    con.close()
    return {"file_mb": round(Path(duckdb_path).stat().st_size / 2**20, 1), "total_blocks": total,
            "used_blocks": used, "free_blocks": free}


def nightly_and_size(**paths) -> dict:
    from pathlib import Path

    refresh("nightly_refresh", **paths)
    return file_blocks(str(Path(paths["data_dir"]) / "warehouse.duckdb"))


def run(ctx: Context) -> list[Record]:
    scale = "tiny" if ctx.scale == "tiny" else SCALE
    sctx = dataclasses.replace(ctx, scale=scale)
    landing, truth, done = landing_paths(sctx)
    if not done.exists():
        simulate_landing(sctx, label=f"simulate-{scale}")
    data = ctx.dir(f"growth-{scale}", "data")
    for old in data.glob("warehouse.duckdb*"):
        old.unlink()
    paths = {"data_dir": str(data), "landing_dir": str(landing), "truth_dir": str(truth),
             "dagster_home": str(ctx.dir(f"growth-{scale}", "dagster"))}
    sizes = [ctx.measure("bench_warehouse_growth:nightly_and_size", label=f"nightly-{i + 1}",
                         **paths).result for i in range(RUNS)]
    trail = "; ".join(f"run {i + 1}: {s['file_mb']} MB, {s['used_blocks']} used / "
                      f"{s['free_blocks']} free blocks" for i, s in enumerate(sizes))
    return [
        Record("file_after_first_run", sizes[0]["file_mb"], "MB", notes=f"scale {scale}"),
        Record(f"file_after_run_{RUNS}", sizes[-1]["file_mb"], "MB", notes=trail),
        Record("growth_ratio", round(sizes[-1]["total_blocks"] / sizes[0]["total_blocks"], 2),
               "x", target=GROWTH_TARGET, notes="total blocks after the last run / after the "
               "first: the free blocks a rebuild leaves are reused by the next"),
    ]
