import time, polars as pl, glob
files = sorted(glob.glob("/work/scratch/medium/landing/api_requests/*/*.parquet"))
t=time.perf_counter(); sch = [pl.read_parquet_schema(f) for f in files]; print("schemas", round(time.perf_counter()-t,3))
t=time.perf_counter(); fr = [pl.read_parquet(f) for f in files]; print("per-file read", round(time.perf_counter()-t,3))
t=time.perf_counter(); df = pl.scan_parquet(files, include_file_paths="_f").with_columns(_r=pl.int_range(1, pl.len()+1).over("_f")).collect(); print("scan all", df.height, round(time.perf_counter()-t,3))
t=time.perf_counter(); df = pl.read_parquet(files, include_file_paths="_f"); print("read all", df.height, round(time.perf_counter()-t,3))
