"""Run the benchmarks: ``python bench/run.py [--scale medium] [--only NAME ...]``.

Every ``bench/bench_*.py`` module with a ``run(ctx)`` function is a benchmark (see
``bench/benchlib.py``). Results go to ``bench/results/<name>.json`` and
``bench/results/RESULTS.md``; the table is printed at the end. The exit status is 1 when a
benchmark failed to run (and, with ``--strict``, when a target was not met).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
if str(BENCH_DIR) not in sys.path:
    sys.path.insert(0, str(BENCH_DIR))

import benchlib  # bench/ is a folder of scripts, not a package

SCALES = ("tiny", "small", "medium", "large")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", default="medium", choices=SCALES)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument(
        "--only", action="append", metavar="NAME", help="run only this benchmark (repeatable)"
    )
    parser.add_argument("--list", action="store_true", help="list the benchmarks and exit")
    parser.add_argument("--results-dir", type=Path, default=benchlib.RESULTS_DIR)
    parser.add_argument(
        "--work-dir", type=Path, default=None, help="scratch folder (default: <results>/work)"
    )
    parser.add_argument(
        "--keep-work", action="store_true", help="keep the scratch folder (landing, warehouses)"
    )
    parser.add_argument("--strict", action="store_true", help="exit 1 when a target is not met")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None, benchmarks: list[benchlib.Benchmark] | None = None) -> int:
    args = parse_args(argv)
    benchmarks = benchmarks if benchmarks is not None else benchlib.discover()
    if args.list:
        for b in benchmarks:
            print(f"{b.name:<12} {b.description}")
        return 0
    results_dir = args.results_dir.resolve()
    ctx = benchlib.Context(
        scale=args.scale,
        seed=args.seed,
        work_dir=(args.work_dir or results_dir / "work").resolve(),
        results_dir=results_dir,
        keep_work=args.keep_work,
    )
    results, markdown = benchlib.run_all(benchmarks, ctx, only=args.only)
    print(markdown)
    failed = [r["benchmark"] for r in results if not r["ok"]]
    unmet = [
        f"{r['benchmark']}/{rec['name']}"
        for r in results
        for rec in r["records"]
        if rec.get("passed") is False and r["ok"]
    ]
    if failed:
        print(f"benchmarks that failed to run: {', '.join(failed)}", file=sys.stderr)
    if unmet:
        print(f"targets not met: {', '.join(unmet)}", file=sys.stderr)
    return 1 if failed or (args.strict and unmet) else 0


if __name__ == "__main__":
    sys.exit(main())
