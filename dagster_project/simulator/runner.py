"""Runs the simulation day by day and writes the landing partitions, manifest and truth."""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import sys
from pathlib import Path

import polars as pl
from tqdm import tqdm

from dagster_project.contract import RAW_TABLES, table
from dagster_project.simulator import params as P
from dagster_project.simulator.experiments import Experiments
from dagster_project.simulator.metrics import Metrics
from dagster_project.simulator.truth import write_truth
from dagster_project.simulator.world import World

MANIFEST = "_simulation.json"


def conform(name: str, df: pl.DataFrame) -> pl.DataFrame:
    """Exactly the contract's columns, in order, with its dtypes, sorted by key."""
    t = table(name)
    schema = t.polars_schema()
    if df.width == 0:
        return t.empty_frame()
    return df.select([pl.col(c).cast(dt_) for c, dt_ in schema.items()]).sort(list(t.key))


def write_partition(out: Path, name: str, day: dt.date, df: pl.DataFrame) -> None:
    d = out / name / f"date={day.isoformat()}"
    d.mkdir(parents=True, exist_ok=True)
    path = d / f"{name}-{day.isoformat()}.parquet"
    tmp = d / f".{name}-{day.isoformat()}.parquet.tmp"
    df.write_parquet(tmp, compression="zstd", statistics=True, row_group_size=1_000_000)
    os.replace(tmp, path)


def simulate(scale: str | None, seed: int | None, out_dir, truth_dir=None, advance_days: int = 0,
             start_date: str | dt.date | None = None, progress: bool = False,
             days: int | None = None) -> dict[str, int]:
    """Simulate ``scale`` with ``seed`` into ``out_dir``; returns rows written per table by this call.

    With ``advance_days > 0`` the existing run described by ``out_dir/_simulation.json`` is
    extended: the first days are replayed in memory (same random streams, nothing rewritten) and
    only the next ``advance_days`` day partitions are written. Truth files always describe the
    whole history. ``days`` overrides the scale's number of days of a fresh run (schedules such
    as price changes and experiments stay tied to the scale's nominal days).
    """
    out = Path(out_dir)
    manifest_path = out / MANIFEST
    if advance_days:
        if not manifest_path.exists():
            raise FileNotFoundError(f"{manifest_path} not found: run the simulator before --advance-days")
        man = json.loads(manifest_path.read_text())
        if scale not in (None, man["scale"]) or seed not in (None, man["seed"]):
            raise ValueError(f"{out} holds scale={man['scale']} seed={man['seed']}; cannot advance with "
                             f"scale={scale} seed={seed}")
        scale, seed = man["scale"], man["seed"]
        start = dt.date.fromisoformat(man["start_date"])
        first, total = man["days"], man["days"] + advance_days
    else:
        if scale not in P.SCALES:
            raise ValueError(f"unknown scale {scale!r}; choose from {list(P.SCALES)}")
        seed = 0 if seed is None else int(seed)
        start = (dt.date.fromisoformat(start_date) if isinstance(start_date, str)
                 else start_date or P.DEFAULT_START)
        first, total = 0, days or P.SCALES[scale].days
        man = {"rows": {t: 0 for t in RAW_TABLES}}
        for t in RAW_TABLES:  # a fresh run replaces an earlier one in the same folder
            if (out / t).is_dir():
                shutil.rmtree(out / t)
    end = start + dt.timedelta(days=total - 1)
    if end >= dt.date.today():  # ingestion rejects future timestamps
        raise ValueError(f"the history would end on {end}, not before today: fewer days or an earlier start")
    sc = P.SCALES[scale]
    world = World(sc, seed, start)
    metrics = Metrics(sc, seed, start)
    exps = Experiments(sc, seed, start, (world.pexp_start, world.pexp_end))
    out.mkdir(parents=True, exist_ok=True)
    written = {t: 0 for t in RAW_TABLES}
    for day in tqdm(range(total), desc=f"simulate {scale}", unit="day", file=sys.stderr,
                    disable=not progress):
        frames = world.step(day)
        if day < first:
            continue
        frames["api_requests"], frames["resource_usage"] = metrics.step(day, world.active_count)
        frames["experiments"] = exps.registry(day)
        assign = [f for f in (exps.assignments(day), frames.pop("_pricing_assignments")) if f is not None and f.width]
        frames["experiment_assignments"] = pl.concat(assign) if assign else pl.DataFrame()
        date = start + dt.timedelta(days=day)
        for name in RAW_TABLES:
            df = conform(name, frames[name])
            if df.height:
                write_partition(out, name, date, df)
                written[name] += df.height
    truth = Path(truth_dir) if truth_dir else out.parent / "truth"
    write_truth(world, metrics, exps, total, truth)
    rows = {t: man["rows"].get(t, 0) + written[t] for t in RAW_TABLES}
    manifest = {"scale": scale, "seed": seed, "start_date": start.isoformat(), "days": total,
                "end_date": end.isoformat(), "rows": rows, "total_rows": sum(rows.values()),
                "metric_step_minutes": sc.metric_step}
    tmp = manifest_path.with_suffix(".tmp")
    tmp.write_text(json.dumps(manifest, indent=2))
    os.replace(tmp, manifest_path)
    return written
