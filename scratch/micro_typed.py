import time, polars as pl, glob
from dagster_project.contract import table
from dagster_project.ingest.read import read_file
from dagster_project.ingest.validate import _typed, validate_batch
from datetime import datetime
c = table("api_requests")
files = sorted(glob.glob("/work/scratch/medium/landing/api_requests/*/*.parquet"))[:240]
t=time.perf_counter(); fr = [read_file(f, c).with_columns(pl.lit(f).alias("_source_file")) for f in files]; print("read_file x", len(fr), round(time.perf_counter()-t,3))
t=time.perf_counter(); ty = [_typed(f, c) for f in fr]; print("typed per file", round(time.perf_counter()-t,3))
big = pl.concat(fr)
t=time.perf_counter(); _typed(big, c); print("typed once", round(time.perf_counter()-t,3))
t=time.perf_counter(); v = validate_batch(fr, c, datetime(2026,12,1)); print("validate_batch", v.valid.height, round(time.perf_counter()-t,3))
t=time.perf_counter(); v = validate_batch([big], c, datetime(2026,12,1)); print("validate_batch one frame", v.valid.height, round(time.perf_counter()-t,3))
