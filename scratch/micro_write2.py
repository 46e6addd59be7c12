import time, duckdb, polars as pl, glob, datetime as dt
files = sorted(glob.glob("/work/scratch/medium/landing/api_requests/*/*.parquet"))[:240]
df = pl.concat([pl.read_parquet(f).with_columns(_source_file=pl.lit(f[30:]), _source_row=pl.int_range(pl.len()).cast(pl.Int64)) for f in files]).with_columns(_loaded_at=pl.lit(dt.datetime(2026,1,1)))
print(df.height)
for variant in ["string", "categorical"]:
    con = duckdb.connect(f"/tmp/mw_{variant}.duckdb"); con.execute("drop table if exists a")
    con.execute("create table a as select * from df limit 0")
    d = df if variant == "string" else df.with_columns(pl.col("_source_file").cast(pl.Categorical))
    t=time.perf_counter(); a = d.to_arrow(); t1=time.perf_counter(); con.register("f", a); con.execute("insert into a by name select * from f"); con.close(); print(variant, "to_arrow", round(t1-t,2), "insert+close", round(time.perf_counter()-t1,2))
t=time.perf_counter(); h = df.select(pl.struct("ts","service","endpoint").hash()); print("hash", round(time.perf_counter()-t,2)); t=time.perf_counter(); print(h.to_series().is_duplicated().any(), "u64 dup", round(time.perf_counter()-t,2))
t=time.perf_counter(); print(df.select("ts","service","endpoint").is_duplicated().any(), "is_dup", round(time.perf_counter()-t,2))
