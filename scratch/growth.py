"""Warehouse file size over repeated nightly runs (issue 10 part 6)."""
import os, sys, json, time, subprocess
from pathlib import Path
root = Path(sys.argv[1]); runs = int(sys.argv[2]); scale = sys.argv[3]
env = {**os.environ, "BI_DATA_DIR": str(root), "DAGSTER_HOME": str(root / ".dagster")}
(root / ".dagster").mkdir(parents=True, exist_ok=True)
(root / ".dagster" / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
import duckdb
def size():
    db = root / "warehouse.duckdb"
    con = duckdb.connect(str(db), read_only=True)
    r = con.execute("select total_blocks, used_blocks, free_blocks from pragma_database_size()").fetchone()
    con.close()
    return db.stat().st_size / 2**20, r
for i in range(runs):
    t = time.perf_counter()
    p = subprocess.run([sys.executable, "-m", "dagster_project.pipeline", "--scale", scale, "--seed", "42"], env=env, capture_output=True, text=True)
    mb, (tot, used, free) = size()
    print(json.dumps({"run": i + 1, "ok": p.returncode == 0, "seconds": round(time.perf_counter() - t), "file_mb": round(mb, 1), "total_blocks": tot, "used_blocks": used, "free_blocks": free}), flush=True)
