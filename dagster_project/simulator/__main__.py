"""CLI: python -m dagster_project.simulator --scale tiny --seed 42 --out data/landing"""

from __future__ import annotations

import argparse
import json
import sys

from dagster_project.simulator.params import SCALES
from dagster_project.simulator.runner import simulate


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m dagster_project.simulator", description=__doc__)
    ap.add_argument("--scale", choices=list(SCALES), default=None,
                    help="volume preset (default small; with --advance-days taken from the manifest)")
    ap.add_argument("--seed", type=int, default=None, help="random seed (default 42)")
    ap.add_argument("--out", required=True, help="landing folder")
    ap.add_argument("--truth-out", default=None, help="truth folder (default OUT/../truth)")
    ap.add_argument("--advance-days", type=int, default=0, help="append N days to an existing OUT")
    ap.add_argument("--start-date", default=None, help="first simulated day, YYYY-MM-DD (default 2025-01-01)")
    ap.add_argument("--quiet", action="store_true", help="no progress bar")
    a = ap.parse_args(argv)
    scale, seed = a.scale, a.seed
    if not a.advance_days:
        scale, seed = scale or "small", 42 if seed is None else seed
    rows = simulate(scale, seed, a.out, a.truth_out, a.advance_days, a.start_date, progress=not a.quiet)
    print(json.dumps({"rows_written": rows, "total": sum(rows.values())}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
