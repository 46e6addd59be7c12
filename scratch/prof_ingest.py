import sys, time, cProfile, pstats
from dagster_project.ingest.load import ingest_table
from dagster_project.warehouse import Warehouse
from pathlib import Path
db = Path("/tmp/prof_ingest.duckdb"); [p.unlink() for p in db.parent.glob("prof_ingest.duckdb*")]
wh = Warehouse(duckdb_path=str(db))
tables = sys.argv[1].split(",")
pr = cProfile.Profile()
t0 = time.perf_counter()
pr.enable()
for t in tables:
    with wh.session() as s:
        r = ingest_table(s, t, "/work/scratch/medium/landing")
    print(t, r.rows_read, len(r.files), time.perf_counter() - t0)
pr.disable()
pstats.Stats(pr).sort_stats("tottime").print_stats(30)
