import sys, time
sys.path.insert(0, "bench")
from bench_ingest import ingest_all
from pathlib import Path
db = Path(sys.argv[2]); [p.unlink() for p in db.parent.glob(db.name + "*")]
t = time.perf_counter(); r = ingest_all(sys.argv[1], str(db)); dt = time.perf_counter() - t
rows = sum(v["rows_read"] for v in r.values()); print(f"{rows:,} rows in {dt:.1f} s = {rows/dt:,.0f} rows/s")
