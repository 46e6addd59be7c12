"""dbt overhead: `dbt build` wall time against the same SQL run directly in one DuckDB connection.

Steps, each in its own process (so each has its own peak memory):

1. ``dbt parse`` into a temporary target path (what ``make prepare`` does before any run);
2. ``dbt build`` on a copy of the ingested (pre-dbt) warehouse, same target path (partial
   parsing warm, as in the project), with the arguments the scheduled jobs use
   (``dbt_build_args(unit_tests=False)``: the dbt unit tests run in CI, not in the nightly);
3. the SQL dbt executed, replayed in the manifest's dependency order in one ``duckdb.connect()``
   on a second copy of the pre-dbt warehouse: every model's DDL from ``<target>/run/``
   (``create table/view ... __dbt_tmp`` renamed to the final relation, as dbt's rename does)
   or, failing that, the manifest's compiled code in ``create table/view as``; and every data
   test's compiled SQL wrapped as dbt wraps it (``select count(*) ... from (<test>)``).

Reported: both times, their ratio (target <= 1.5), the ratio counting the parse too, and a
check that both warehouses end with the same row counts and the same test results.
The project's own ``dbt/target`` is left alone.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

from bench_ingest import ensure_raw_warehouse
from benchlib import REPO_ROOT, Context, Record

from dagster_project.defs.dbt.cli_args import dbt_build_args

ORDER = 30
RATIO_TARGET = 1.5
DBT_PROJECT_DIR = REPO_ROOT / "dbt"
TMP_SUFFIX = "__dbt_tmp"


# ---------------------------------------------------------------------------------------------
# measured steps (run in their own processes)


def dbt_executable() -> str:
    beside = Path(sys.executable).parent / "dbt"
    return str(beside) if beside.exists() else (shutil.which("dbt") or "dbt")


def dbt_cli(args: list[str], target_path: str, log_path: str) -> dict:
    """Run the dbt CLI on the project with a private target and log path; summarize."""
    cmd = [
        dbt_executable(),
        *args,
        "--project-dir", str(DBT_PROJECT_DIR),
        "--profiles-dir", str(DBT_PROJECT_DIR),
        "--target-path", target_path,
        "--log-path", log_path,
    ]
    proc = subprocess.run(cmd, check=False, cwd=REPO_ROOT, capture_output=True, text=True)
    sys.stdout.write(proc.stdout)
    sys.stdout.write(proc.stderr)
    out = {"returncode": proc.returncode, "statuses": {}, "elapsed_time": None}
    results = Path(target_path) / "run_results.json"
    if args[0] == "build" and results.exists():
        data = json.loads(results.read_text())
        out["elapsed_time"] = data.get("elapsed_time")
        out["execution_time"] = {}
        for r in data["results"]:
            kind = r["unique_id"].split(".")[0]
            key = f"{kind}:{r['status']}"
            out["statuses"][key] = out["statuses"].get(key, 0) + 1
            out["execution_time"][kind] = out["execution_time"].get(kind, 0) + r["execution_time"]
        slowest = sorted(data["results"], key=lambda r: -r["execution_time"])[:3]
        out["slowest"] = {r["unique_id"]: round(r["execution_time"], 2) for r in slowest}
    if proc.returncode not in (0, 1) or (args[0] == "parse" and proc.returncode):
        raise RuntimeError(f"dbt {' '.join(args)} exited {proc.returncode}: {proc.stdout[-3000:]}")
    return out


def run_direct(duckdb_path: str, plan_path: str) -> dict:
    """Execute the plan's statements in one DuckDB connection; test failures counted."""
    import duckdb

    plan = json.loads(Path(plan_path).read_text())
    timings = {"model": 0.0, "test": 0.0}
    failures, per_step = {}, {}
    con = duckdb.connect(duckdb_path)
    try:
        for schema in plan["schemas"]:
            con.execute(f"create schema if not exists {schema}")
        for step in plan["steps"]:
            t0 = time.perf_counter()
            if step["kind"] == "model":
                con.execute(step["sql"])
            else:
                row = con.execute(step["sql"]).fetchall()
                failures[step["unique_id"]] = int(row[0][0]) if row and row[0][0] else 0
            took = time.perf_counter() - t0
            timings[step["kind"]] += took
            per_step[step["unique_id"]] = took
    finally:
        con.close()
    slowest = sorted(per_step.items(), key=lambda kv: -kv[1])[:3]
    return {"timings": timings, "failures": failures,
            "slowest": {uid: round(t, 2) for uid, t in slowest}}


def fetch_metadata(duckdb_path: str, manifest_path: str) -> dict:
    """What the Dagster dbt step does after dbt exits: row counts and column schemas of every
    model, read through the Warehouse (``defs.dbt.relation_metadata``)."""
    from dagster_project.defs.dbt.relation_metadata import relation_metadata, relation_of
    from dagster_project.warehouse import Warehouse

    manifest = json.loads(Path(manifest_path).read_text())
    relations = [r for uid in manifest["nodes"] if (r := relation_of(manifest, uid)) is not None]
    found = relation_metadata(Warehouse(duckdb_path=duckdb_path), relations)
    return {"relations": len(found)}


def relation_counts(duckdb_path: str, relations: list[str]) -> dict:
    """Row count of every relation (a missing one reports None)."""
    import duckdb

    con = duckdb.connect(duckdb_path, read_only=True)
    out = {}
    try:
        for rel in relations:
            try:
                out[rel] = con.execute(f"select count(*) from {rel}").fetchall()[0][0]
            except duckdb.Error:
                out[rel] = None
    finally:
        con.close()
    return out


# ---------------------------------------------------------------------------------------------
# the replay plan (pure: manifest + run files -> ordered statements)


def topological_order(nodes: dict[str, list[str]]) -> list[str]:
    """Kahn's algorithm over ``{node: [parents]}`` (parents outside ``nodes`` ignored);
    ties broken by name so the order is stable."""
    parents = {n: {p for p in ps if p in nodes} for n, ps in nodes.items()}
    children: dict[str, set[str]] = {n: set() for n in nodes}
    for n, ps in parents.items():
        for p in ps:
            children[p].add(n)
    ready = sorted(n for n, ps in parents.items() if not ps)
    order = []
    while ready:
        n = ready.pop(0)
        order.append(n)
        for c in sorted(children[n]):
            parents[c].discard(n)
            if not parents[c]:
                ready.append(c)
        ready.sort()
    if len(order) != len(nodes):
        raise ValueError(f"dependency cycle among {sorted(set(nodes) - set(order))}")
    return order


def _model_sql(node: dict, target_path: Path) -> str:
    """The DDL dbt ran for a model, aimed at the final relation instead of ``__dbt_tmp``."""
    relation = node["relation_name"]
    run_file = target_path / "run" / node["package_name"] / node["original_file_path"]
    if run_file.exists():
        sql = run_file.read_text()
        final = relation.split(".")[-1].strip('"')
        return re.sub(rf'"?{re.escape(final)}{TMP_SUFFIX}"?', f'"{final}"', sql)
    kind = "view" if node["config"]["materialized"] == "view" else "table"
    return f"create or replace {kind} {relation} as (\n{node['compiled_code']}\n)"


def _test_sql(node: dict) -> str:
    fail_calc = node["config"].get("fail_calc") or "count(*)"
    limit = node["config"].get("limit")
    inner = node["compiled_code"] + (f"\nlimit {limit}" if limit else "")
    return f"select {fail_calc} as failures from (\n{inner}\n) dbt_internal_test"


def build_plan(target_path: Path) -> dict:
    """Models and data tests that ``dbt build`` executed, in dependency order, as SQL."""
    manifest = json.loads((target_path / "manifest.json").read_text())
    run_results = json.loads((target_path / "run_results.json").read_text())
    executed = {
        r["unique_id"]
        for r in run_results["results"]
        if r["status"] not in ("skipped", "error") or r["unique_id"].startswith("test.")
    }
    nodes = {
        uid: n
        for uid, n in manifest["nodes"].items()
        if uid in executed
        and n["resource_type"] in ("model", "test")
        and n.get("config", {}).get("materialized") != "ephemeral"
    }
    # an incremental model's first build on a fresh warehouse is a plain create table
    unsupported = sorted(
        uid for uid, n in nodes.items()
        if n["resource_type"] == "model"
        and n["config"]["materialized"] not in ("view", "table", "incremental")
    )
    if unsupported:
        raise ValueError(f"replay supports view, table and incremental models only: {unsupported}")
    order = topological_order({uid: n["depends_on"]["nodes"] for uid, n in nodes.items()})
    steps, schemas, relations = [], set(), []
    for uid in order:
        node = nodes[uid]
        if node["resource_type"] == "model":
            schemas.add(".".join(node["relation_name"].split(".")[:-1]))
            relations.append(node["relation_name"])
            steps.append({"unique_id": uid, "kind": "model", "sql": _model_sql(node, target_path)})
        elif node.get("compiled_code"):
            steps.append({"unique_id": uid, "kind": "test", "sql": _test_sql(node)})
    other = sorted({r["unique_id"].split(".")[0] for r in run_results["results"]} - {"model", "test"})
    return {"schemas": sorted(schemas), "steps": steps, "relations": relations, "other": other}


# ---------------------------------------------------------------------------------------------
# the benchmark


def _copy_warehouse(src: Path, dest: Path) -> Path:
    dest.parent.mkdir(parents=True, exist_ok=True)
    for p in dest.parent.glob(dest.name + "*"):
        p.unlink()
    shutil.copyfile(src, dest)
    return dest


def _count(statuses: dict, kinds: tuple[str, ...], outcomes: tuple[str, ...]) -> int:
    return sum(
        n for k, n in statuses.items() if k.split(":")[0] in kinds and k.split(":")[1] in outcomes
    )


def _slowest(timings: dict[str, float]) -> str:
    return ", ".join(f"{uid.split('.')[-1]} {t:.2f} s" for uid, t in timings.items())


def run(ctx: Context) -> list[Record]:
    raw = ensure_raw_warehouse(ctx)
    # same file name for both copies: dbt-duckdb names the database after the file stem, and
    # the replayed SQL refers to relations as "<database>"."<schema>"."<name>"
    dbt_db = _copy_warehouse(raw, ctx.path("dbt-build", raw.name))
    direct_db = _copy_warehouse(raw, ctx.path("direct-sql", raw.name))
    target = ctx.dir("dbt-target")
    logs = ctx.dir("dbt-logs")
    env = {
        "BI_DUCKDB_PATH": str(dbt_db),
        "DBT_TARGET": "duckdb",
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "False",
    }
    paths = {"target_path": str(target), "log_path": str(logs)}

    parse = ctx.measure("bench_dbt:dbt_cli", label="dbt-parse", env=env, args=["parse"], **paths)
    build = ctx.measure("bench_dbt:dbt_cli", label="dbt-build", env=env,
                        args=dbt_build_args(unit_tests=False), **paths)
    metadata = ctx.measure("bench_dbt:fetch_metadata", label="dbt-metadata",
                           duckdb_path=str(dbt_db), manifest_path=str(target / "manifest.json"))
    statuses = build.result["statuses"]
    dbt_failed = _count(statuses, ("test",), ("fail", "error"))
    dbt_errors = _count(statuses, ("model", "unit_test"), ("error", "skipped", "fail"))

    plan = build_plan(target)
    plan_file = ctx.path("direct-sql", "plan.json")
    plan_file.write_text(json.dumps(plan, indent=1))
    direct = ctx.measure("bench_dbt:run_direct", label="direct-sql",
                         duckdb_path=str(direct_db), plan_path=str(plan_file))
    direct_failed = sum(1 for n in direct.result["failures"].values() if n)

    counts_dbt = ctx.measure("bench_dbt:relation_counts", label="verify-dbt",
                             duckdb_path=str(dbt_db), relations=plan["relations"]).result
    counts_direct = ctx.measure("bench_dbt:relation_counts", label="verify-direct",
                                duckdb_path=str(direct_db), relations=plan["relations"]).result
    mismatched = sorted(r for r in plan["relations"] if counts_dbt.get(r) != counts_direct.get(r))

    models = sum(1 for s in plan["steps"] if s["kind"] == "model")
    tests = len(plan["steps"]) - models
    ratio = (build.seconds + metadata.seconds) / direct.seconds if direct.seconds else None
    elapsed = build.result["elapsed_time"]
    cold = (parse.seconds + build.seconds) / direct.seconds if direct.seconds else None
    same = "same row counts in all" if not mismatched else f"ROW COUNTS DIFFER in {mismatched}"
    build_note = (
        f"{models} models + {tests} data tests; dbt statuses "
        + ", ".join(f"{k} {n}" for k, n in sorted(statuses.items()))
        + f"; dbt's own elapsed_time {build.result['elapsed_time'] or 0:.2f} s (node execution "
        + ", ".join(f"{k} {v:.2f} s" for k, v in sorted(build.result["execution_time"].items()))
        + "; slowest " + _slowest(build.result["slowest"]) + ")"
        + (f"; also ran {', '.join(plan['other'])} nodes (not replayed)" if plan["other"] else "")
        + (f"; WARNING: {dbt_errors} models/unit tests errored or were skipped, so the "
           "comparison covers only what succeeded" if dbt_errors else "")
    )
    direct_note = (
        f"models {direct.result['timings']['model']:.2f} s, tests "
        f"{direct.result['timings']['test']:.2f} s; {direct_failed} failing tests "
        f"(dbt: {dbt_failed}); {same} {len(plan['relations'])} relations; slowest "
        + _slowest(direct.result["slowest"])
    )
    return [
        Record.from_measurement("dbt parse", parse.seconds, "s", parse,
                                notes="cold parse into an empty target path (make prepare)"),
        Record.from_measurement("dbt build", build.seconds, "s", build, notes=build_note),
        Record.from_measurement("direct SQL", direct.seconds, "s", direct, notes=direct_note),
        Record.from_measurement("metadata fetch", metadata.seconds, "s", metadata,
                                notes=f"row counts and column schemas of "
                                f"{metadata.result['relations']} relations through the Warehouse, "
                                "as the Dagster dbt step does after dbt exits"),
        Record("build / direct", ratio, "ratio", target=RATIO_TARGET,
               seconds=round(build.seconds + metadata.seconds + direct.seconds, 4),
               peak_rss_mb=max(build.peak_rss_mb, direct.peak_rss_mb),
               notes="(dbt build wall time, partial parse warm, + the metadata fetch) over the "
               "direct replay"),
        Record("dbt elapsed_time / direct", elapsed / direct.seconds if elapsed and direct.seconds
               else None, "ratio", seconds=elapsed,
               notes="informational: dbt's own execution time (run_results elapsed_time, "
               "start-up and parsing excluded) over the direct replay"),
        Record("(parse + build) / direct", cold, "ratio",
               seconds=round(parse.seconds + build.seconds + direct.seconds, 4),
               peak_rss_mb=max(parse.peak_rss_mb, build.peak_rss_mb, direct.peak_rss_mb),
               notes="informational: counting a cold parse as part of the dbt run"),
    ]


if __name__ == "__main__":  # debugging aid: print the replay plan of a target folder
    print(json.dumps(build_plan(Path(sys.argv[1] if len(sys.argv) > 1 else "dbt/target")),
                     indent=1)[:5000])
    os._exit(0)
