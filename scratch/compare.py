import sys, duckdb, polars as pl
from polars.testing import assert_frame_equal
a, b = sys.argv[1], sys.argv[2]
ca, cb = duckdb.connect(a, read_only=True), duckdb.connect(b, read_only=True)
tables = [r[0] for r in ca.execute("select table_schema||'.'||table_name from information_schema.tables where table_schema in ('marts','intermediate') order by 1").fetchall()]
bad = 0
for t in tables:
    x = pl.from_arrow(ca.execute(f"select * from {t}").to_arrow_table()); y = pl.from_arrow(cb.execute(f"select * from {t}").to_arrow_table())
    floats = [c for c, d in x.schema.items() if d.is_float()]
    others = [c for c in x.columns if c not in floats]
    x, y = x.sort(others + floats), y.sort(others + floats)
    try:
        assert_frame_equal(x, y, check_exact=False, rel_tol=1e-12, abs_tol=1e-9)
        print("same", t, x.height)
    except AssertionError as e:
        bad += 1; print("DIFF", t, x.height, y.height, str(e)[:300])
print("tables differing:", bad)
