"""The benchmark harness on a fake benchmark: subprocess measurement, JSON and markdown output."""

from __future__ import annotations

import importlib.util
import json
import sys
import textwrap
from pathlib import Path

import pytest

BENCH_DIR = Path(__file__).resolve().parents[2] / "bench"


def _load(name: str, module_name: str | None = None):
    if str(BENCH_DIR) not in sys.path:
        sys.path.insert(0, str(BENCH_DIR))
    module_name = module_name or name
    spec = importlib.util.spec_from_file_location(module_name, BENCH_DIR / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def benchlib():
    return _load("benchlib")


@pytest.fixture(scope="module")
def bench_run():
    return _load("run", "bench_run_script")


FAKE_STEP = textwrap.dedent(
    """
    def allocate(mb, rows):
        block = bytearray(mb * 1024 * 1024)
        block[::4096] = b"x" * len(block[::4096])
        return {"rows": rows}

    def explode():
        raise ValueError("boom")
    """
)


def fake_benchmarks(benchlib, step_file: Path):
    def fake(ctx):
        m = ctx.measure(f"{step_file}:allocate", mb=64, rows=1000)
        return [
            benchlib.Record.from_measurement(
                "throughput", m.result["rows"] / m.seconds, "rows/s", m, notes="a | note"
            ),
            benchlib.Record("ratio", 1.2, "ratio", target=1.5),
            benchlib.Record("speed", 3.0, "x", target=5.0, target_op=">="),
        ]

    def broken(ctx):
        ctx.measure(f"{step_file}:explode")
        return []

    return [benchlib.Benchmark("fake", fake, 1), benchlib.Benchmark("broken", broken, 2)]


def test_harness_measures_in_a_subprocess_and_writes_json_and_markdown(
    benchlib, bench_run, tmp_path, capsys
):
    step_file = tmp_path / "fake_steps.py"
    step_file.write_text(FAKE_STEP)
    results = tmp_path / "results"
    benchmarks = fake_benchmarks(benchlib, step_file)

    status = bench_run.main(
        ["--scale", "tiny", "--results-dir", str(results), "--only", "fake"], benchmarks
    )

    assert status == 0
    data = json.loads((results / "fake.json").read_text())
    assert data["benchmark"] == "fake" and data["scale"] == "tiny" and data["ok"]
    throughput, ratio, speed = data["records"]
    assert throughput["unit"] == "rows/s" and throughput["value"] > 0
    assert throughput["peak_rss_mb"] >= 64  # the 64 MB block, measured in the child
    assert throughput["seconds"] > 0
    assert ratio["passed"] is True and speed["passed"] is False
    assert not (results / "work").exists()  # scratch folder removed
    md = (results / "RESULTS.md").read_text()
    assert "| fake (tiny) | throughput |" in md
    assert "| fake (tiny) | speed | 3.00 | x | ≥ 5.00 | **no** |" in md
    assert "a \\| note" not in md.split("Notes:")[0]  # notes listed below the table
    assert "a | note" in md
    assert md in capsys.readouterr().out


def test_a_failing_benchmark_is_reported_and_the_run_goes_on(benchlib, bench_run, tmp_path):
    step_file = tmp_path / "fake_steps.py"
    step_file.write_text(FAKE_STEP)
    results = tmp_path / "results"

    status = bench_run.main(
        ["--scale", "tiny", "--results-dir", str(results)], fake_benchmarks(benchlib, step_file)
    )

    assert status == 1
    broken = json.loads((results / "broken.json").read_text())
    assert not broken["ok"] and "boom" in broken["error"]
    assert json.loads((results / "fake.json").read_text())["ok"]
    md = (results / "RESULTS.md").read_text()
    assert "| broken (tiny) | error |" in md and "| fake (tiny) | ratio |" in md


def test_the_real_benchmarks_are_discovered_in_order(benchlib):
    names = [b.name for b in benchlib.discover()]
    assert names[:3] == ["simulator", "ingest", "dbt"]


def test_replay_order_is_topological(benchlib):
    bench_dbt = _load("bench_dbt")
    order = bench_dbt.topological_order(
        {"m.c": ["m.a", "m.b"], "m.b": ["m.a", "source.x"], "m.a": [], "t.a": ["m.a"]}
    )
    assert order.index("m.a") < order.index("m.b") < order.index("m.c")
    assert order.index("m.a") < order.index("t.a")
