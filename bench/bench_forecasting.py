"""Forecasting: 1,000 client revenue series with the full ensemble and its rolling-origin
backtests (target < 3 min on 2 cores at medium), each member's share of the time; and the
statistical baseline (statsmodels Holt-Winters) against statsforecast's AutoETS on the same
series, time and held-out MASE side by side (AutoETS in its own throwaway venv,
.venv-statsforecast, since statsforecast requires pandas < 3)."""

from __future__ import annotations

import json
import shutil
import subprocess

from bench_dbt import dbt_cli
from bench_ingest import ensure_raw_warehouse
from benchlib import REPO_ROOT, Context, Record

ORDER = 70
SERIES = 1000
TARGET_S = 180.0
HELD_OUT = 28
STATSFORECAST_PYTHON = REPO_ROOT / ".venv-statsforecast" / "bin" / "python"


def build_mart(duckdb_path: str, target_path: str, log_path: str) -> dict:
    import os

    os.environ.update(BI_DUCKDB_PATH=duckdb_path, DBT_TARGET="duckdb",
                      DBT_SEND_ANONYMOUS_USAGE_STATS="False")
    return dbt_cli(["run", "--select", "+fct_revenue_daily", "+int_as_of_date"], target_path,
                   log_path)


def _panel(duckdb_path: str, n: int):
    import duckdb
    import polars as pl

    from dagster_project.analytics.forecasting import Panel, build_panel
    from dagster_project.defs.forecasting.assets import SERIES as SQL

    con = duckdb.connect(duckdb_path, read_only=True)
    df = pl.from_arrow(con.sql(SQL["client_revenue"][0]).to_arrow_table())
    as_of = con.sql("select as_of_date from intermediate.int_as_of_date").fetchall()[0][0]
    con.close()
    full = build_panel(df, "series_id", "day", "value", "zero", as_of)
    keep = slice(0, n)  # the first n clients by id
    return Panel(full.ids[keep], full.start, full.values[keep], full.imputed[keep])


def forecast_clients(duckdb_path: str, n: int) -> dict:
    """The revenue_forecast asset's work for n client series: backtest, ensemble, forecast."""
    import time

    import polars as pl

    from dagster_project.analytics.forecasting import forecast_panel

    panel = _panel(duckdb_path, n)
    t0 = time.perf_counter()
    res = forecast_panel(panel)
    seconds = time.perf_counter() - t0
    pooled = res.backtest.filter(pl.col("fold").is_null())
    ens = pooled.filter(pl.col("member") == "ensemble")
    return {"seconds": seconds, "series": len(panel.ids), "days": panel.days,
            "horizon": res.horizon, "timings": res.timings,
            "members": res.members.select("member", "mase_ratio", "weight").to_dicts(),
            "ensemble_mase_ratio": ens["mase_ratio"][0],
            # levels as text: the result comes back through JSON
            "coverage": dict(zip(map(str, ens["level"].to_list()), ens["coverage"].to_list()))}


def save_holdout(duckdb_path: str, n: int, path: str) -> dict:
    """The n series' history without its last HELD_OUT days, as long rows for the peer."""
    import numpy as np
    import polars as pl

    panel = _panel(duckdb_path, n)
    hist = panel.values[:, :-HELD_OUT]
    i, t = np.nonzero(~np.isnan(hist))
    pl.DataFrame({"unique_id": np.array(panel.ids)[i], "t": t, "y": hist[i, t]}).write_parquet(path)
    return {"series": len(panel.ids)}


def holt_winters(duckdb_path: str, n: int) -> dict:
    """The baseline member (statsmodels Holt-Winters, as in the ensemble) on the held-out
    split: its time, and MASE against seasonal naive's."""
    import time

    from dagster_project.analytics.forecasting.baselines import exponential_smoothing

    panel = _panel(duckdb_path, n)
    hist = panel.values[:, :-HELD_OUT]
    t0 = time.perf_counter()
    f = exponential_smoothing(hist, HELD_OUT, 7, window=112, min_days=28, n_jobs=2)
    seconds = time.perf_counter() - t0
    return {"seconds": seconds, **_scores(panel, f)}


def _scores(panel, forecast) -> dict:
    import numpy as np

    from dagster_project.analytics.forecasting.baselines import seasonal_naive
    from dagster_project.analytics.forecasting.metrics import seasonal_scale

    hist, actual = panel.values[:, :-HELD_OUT], panel.values[:, -HELD_OUT:]
    scale = seasonal_scale(hist, 7)
    naive = seasonal_naive(hist, HELD_OUT, 7)
    ok = np.isfinite(scale) & (scale > 0) & np.all(np.isfinite(forecast), axis=1)
    mase = lambda f: float(np.mean(np.mean(np.abs(actual[ok] - np.maximum(f[ok], 0)), axis=1)
                                   / scale[ok]))
    return {"mase": mase(forecast), "seasonal_naive_mase": mase(naive), "scored": int(ok.sum()),
            "fitted": int(np.all(np.isfinite(forecast), axis=1).sum())}


AUTOETS_SCRIPT = r"""
import json, sys, time
import numpy as np, pandas as pd
from statsforecast import StatsForecast
from statsforecast.models import AutoETS
df = pd.read_parquet(sys.argv[1])
df["ds"] = df["t"]
t0 = time.perf_counter()
sf = StatsForecast(models=[AutoETS(season_length=7)], freq=1, n_jobs=2)
out = sf.forecast(df=df[["unique_id", "ds", "y"]], h=int(sys.argv[2]))
seconds = time.perf_counter() - t0
import statsforecast
out.to_parquet(sys.argv[3])
print(json.dumps({"seconds": seconds, "version": statsforecast.__version__}))
"""


def autoets_peer(duckdb_path: str, n: int, history: str, out: str, python: str) -> dict:
    """statsforecast AutoETS (model chosen by AICc, season 7) on the same held-out split."""
    import numpy as np
    import polars as pl

    proc = subprocess.run([python, "-c", AUTOETS_SCRIPT, history, str(HELD_OUT), out],
                          capture_output=True, text=True, check=True)
    info = json.loads(proc.stdout.strip().splitlines()[-1])
    panel = _panel(duckdb_path, n)
    f = pl.read_parquet(out)
    ids = {s: i for i, s in enumerate(panel.ids)}
    forecast = np.full((len(panel.ids), HELD_OUT), np.nan)
    rows = np.array([ids[s] for s in f["unique_id"].to_list()])
    step = f.with_columns(k=pl.int_range(pl.len()).over("unique_id"))["k"].to_numpy()
    forecast[rows, step] = f["AutoETS"].to_numpy()
    return {**info, **_scores(panel, forecast)}


def run(ctx: Context) -> list[Record]:
    raw = ensure_raw_warehouse(ctx)
    db = ctx.path("forecasting", "warehouse.duckdb")
    shutil.copy(raw, db)
    ctx.measure("bench_forecasting:build_mart", label="forecasting-mart", duckdb_path=str(db),
                target_path=str(ctx.dir("forecasting-target")),
                log_path=str(ctx.dir("forecasting-logs")))
    m = ctx.measure("bench_forecasting:forecast_clients", label="forecasting-ensemble",
                    duckdb_path=str(db), n=SERIES)
    r = m.result
    total = sum(r["timings"].values())
    shares = ", ".join(f"{k} {v:.1f} s ({v / r['seconds']:.0%})"
                       for k, v in sorted(r["timings"].items(), key=lambda kv: -kv[1]))
    weights = ", ".join(f"{x['member']} {x['weight']:.2f}" for x in r["members"]
                        if x["weight"] is not None)
    records = [Record.from_measurement(
        f"ensemble + backtests, {r['series']:,} client series", r["seconds"], "s", m,
        target=TARGET_S, notes=f"{r['days']} days, horizon {r['horizon']}, 3 folds + the final "
        f"fit; members {shares}; other (stacking, conformal, frames) "
        f"{r['seconds'] - total:.1f} s; backtest ensemble MASE / seasonal naive "
        f"{r['ensemble_mase_ratio']:.3f}, coverage "
        + ", ".join(f"{float(k):.0%}: {v:.3f}" for k, v in r["coverage"].items())
        + f"; weights {weights}")]
    hw = ctx.measure("bench_forecasting:holt_winters", label="forecasting-holt-winters",
                     duckdb_path=str(db), n=SERIES)
    h = hw.result
    records.append(Record.from_measurement(
        f"Holt-Winters (statsmodels), {SERIES:,} series, one fit each", h["seconds"], "s", hw,
        notes=f"held-out {HELD_OUT} days: MASE {h['mase']:.3f} vs seasonal naive "
        f"{h['seasonal_naive_mase']:.3f} on {h['scored']} series ({h['fitted']} fitted)"))
    if STATSFORECAST_PYTHON.exists():
        hist = str(ctx.path("forecasting", "history.parquet"))
        ctx.measure("bench_forecasting:save_holdout", label="forecasting-holdout",
                    duckdb_path=str(db), n=SERIES, path=hist)
        p = ctx.measure("bench_forecasting:autoets_peer", label="forecasting-autoets",
                        duckdb_path=str(db), n=SERIES, history=hist,
                        out=str(ctx.path("forecasting", "autoets.parquet")),
                        python=str(STATSFORECAST_PYTHON))
        a = p.result
        records.append(Record(
            f"statsforecast {a['version']} AutoETS, same series", a["seconds"], "s",
            peak_rss_mb=p.peak_rss_mb, seconds=p.seconds,
            notes=f"held-out {HELD_OUT} days: MASE {a['mase']:.3f} vs seasonal naive "
            f"{a['seasonal_naive_mase']:.3f} on {a['scored']} series; its own venv, timed "
            "inside (numba compilation included)"))
    else:
        records.append(Record("statsforecast AutoETS peer", None, "s", notes=(
            f"{STATSFORECAST_PYTHON} not found: `make bench-peers` installs it "
            "(bench/peers/statsforecast.txt)")))
    return records
