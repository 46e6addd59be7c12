import sys, time
from dagster_project.contract import RAW_TABLES
from dagster_project.ingest.load import ingest_table
from dagster_project.warehouse import Warehouse
from pathlib import Path
db = Path(sys.argv[2]); [p.unlink() for p in db.parent.glob(db.name + "*")]
wh = Warehouse(duckdb_path=str(db))
T0, C0 = time.perf_counter(), time.process_time(); rows = 0
for name in RAW_TABLES:
    t, c = time.perf_counter(), time.process_time()
    with wh.session() as s:
        r = ingest_table(s, name, sys.argv[1])
    rows += r.rows_read
    print(f"{name:25s} {r.rows_read:>10,} rows {len(r.files):5d} files  wall {time.perf_counter()-t:6.2f}  cpu {time.process_time()-c:6.2f}")
w, c = time.perf_counter()-T0, time.process_time()-C0
print(f"total {rows:,} rows wall {w:.1f} s ({rows/w:,.0f} rows/s) cpu {c:.1f} s ({rows/c:,.0f} rows per cpu-s)")
