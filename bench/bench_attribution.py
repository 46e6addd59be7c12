"""Attribution models: exact Markov (order 1 and 3), 1M journeys end to end, Shapley, bootstrap.

Journeys are synthetic, drawn like the simulator's (channel exposure, noisy-OR conversion,
1-4 touches per exposed channel in random order), so the sizes are controlled exactly:
- Markov order 1 / order 3 on 10,000 unique journeys over 12 channels (one client);
- one million journeys (about 2,000 clients) from raw rows to Markov credit, grouping included;
- Shapley (exact, 2^12 coalitions) over 12 channels on the same 10,000 unique journeys, its
  prior's fit included;
- a 200-resample bootstrap of all seven models at `medium` size (2,087 clients, 11 channels,
  ~700,000 journeys as in the medium simulation; rule-based credits given as linear shares).
Timings exclude data generation and are taken inside the measured process.
"""

from __future__ import annotations

import time

from benchlib import Context, Record

ORDER = 60


def _journeys(n: int, k: int, clients: int, seed: int):
    import numpy as np
    import polars as pl

    rng = np.random.default_rng(seed)
    channels = [f"ch{i:02d}" for i in range(k)]
    expo = rng.uniform(0.05, 0.45, k)
    p = rng.uniform(0.01, 0.15, k)
    x = rng.random((n, k)) < expo
    x[~x.any(axis=1), 0] = True
    conv = rng.random(n) < 1 - np.prod(np.where(x, 1 - p, 1), axis=1)
    reps = np.where(x, rng.integers(1, 4, (n, k)), 0)
    row, ch = np.nonzero(reps)
    cnt = reps[row, ch]
    row, ch = np.repeat(row, cnt), np.repeat(ch, cnt)
    order = np.lexsort((rng.random(len(row)), row))
    touches = pl.DataFrame({"j": row[order], "ch": np.array(channels)[ch[order]]})
    paths = touches.group_by("j", maintain_order=True).agg(pl.col("ch").str.join(" > ").alias("channel_path"))
    return pl.DataFrame({
        "client_id": [f"c{i:04d}" for i in rng.integers(0, clients, n)],
        "converted": conv, "revenue": np.where(conv, rng.gamma(2, 40, n), 0.0),
    }).with_row_index("j").join(paths.with_columns(pl.col("j").cast(pl.UInt32)), on="j").drop("j")


def _unique(n_unique: int, k: int, seed: int):
    import polars as pl

    df = _journeys(6 * n_unique, k, 1, seed)
    g = df.group_by("channel_path").agg(pl.len().alias("journeys"), pl.col("converted").sum().alias("c"),
                                        pl.col("revenue").sum()).head(n_unique)
    # expand to rows of (path, converted) with counts: one converting and one non-converting row
    conv = g.filter(pl.col("c") > 0).select("channel_path", pl.col("c").alias("journeys"),
                                             pl.lit(True).alias("converted"), "revenue")
    non = g.filter(pl.col("journeys") > pl.col("c")).select(
        "channel_path", (pl.col("journeys") - pl.col("c")).alias("journeys"),
        pl.lit(False).alias("converted"), pl.lit(0.0).alias("revenue"))
    return pl.concat([conv, non]).with_columns(pl.lit("c0").alias("client_id"))


def markov_unique(order: int, n_unique: int = 10_000, k: int = 12) -> dict:
    from dagster_project.analytics.attribution.journeys import group_journeys
    from dagster_project.analytics.attribution.markov import markov_attribution

    df = _unique(n_unique, k, 1)
    t0 = time.perf_counter()
    j = group_journeys(df)
    t1 = time.perf_counter()
    markov_attribution(j, order=order)
    t2 = time.perf_counter()
    return {"unique": len(j.length), "group_s": t1 - t0, "model_s": t2 - t1, "total_s": t2 - t0}


def markov_million() -> dict:
    from dagster_project.analytics.attribution.journeys import group_journeys
    from dagster_project.analytics.attribution.markov import markov_attribution

    df = _journeys(1_000_000, 12, 2_000, 2)
    t0 = time.perf_counter()
    j = group_journeys(df)
    markov_attribution(j, order=1)
    return {"journeys": df.height, "groups": len(j.length), "total_s": time.perf_counter() - t0}


def shapley_unique(n_unique: int = 10_000, k: int = 12) -> dict:
    """Grouping, the prior (noisy-OR fit, pooled rates, both empirical-Bayes weights) and the
    exact Shapley credits."""
    from dagster_project.analytics.attribution import AttributionSettings
    from dagster_project.analytics.attribution.journeys import group_journeys
    from dagster_project.analytics.attribution.shapley import shapley_attribution, shapley_options
    from dagster_project.analytics.attribution.shapley_prior import fit_shapley_prior

    df = _unique(n_unique, k, 3)
    t0 = time.perf_counter()
    j = group_journeys(df)
    shapley_attribution(j, fit_shapley_prior(j), **shapley_options(AttributionSettings()))
    return {"unique": len(j.length), "total_s": time.perf_counter() - t0}


def bootstrap_medium(resamples: int = 200) -> dict:
    import polars as pl

    from dagster_project.analytics.attribution import AttributionSettings, attribute

    df = _journeys(700_000, 11, 2_087, 4)
    conv = df.filter("converted").group_by("client_id", "channel_path").agg(
        pl.len().alias("n"), pl.col("revenue").sum())
    steps = conv.with_columns(pl.col("channel_path").str.split(" > ").alias("channel")).explode("channel")
    steps = steps.with_columns(pl.len().over("client_id", "channel_path").alias("len"))
    rule = pl.concat([steps.select("client_id", "channel_path", pl.lit(m).alias("attribution_model"), "channel",
                                   (pl.col("n") / pl.col("len")).alias("credit"),
                                   (pl.col("revenue") / pl.col("len")).alias("revenue_credit"))
                      for m in ("first_touch", "last_touch", "linear", "time_decay", "position_based")])
    t0 = time.perf_counter()
    attribute(df, rule, AttributionSettings(bootstrap_resamples=resamples))
    return {"journeys": df.height, "resamples": resamples, "total_s": time.perf_counter() - t0}


def run(ctx: Context) -> list[Record]:
    out = []
    m1 = ctx.measure("bench_attribution:markov_unique", order=1)
    out.append(Record.from_measurement("markov order 1, 10k unique journeys, 12 channels",
                                       m1.result["model_s"], "s", m1, target=0.15,
                                       notes=f"grouping+encoding {m1.result['group_s']:.3f} s more"))
    m3 = ctx.measure("bench_attribution:markov_unique", order=3)
    out.append(Record.from_measurement("markov order 3, 10k unique journeys, 12 channels",
                                       m3.result["model_s"], "s", m3, target=1.0))
    mm = ctx.measure("bench_attribution:markov_million")
    out.append(Record.from_measurement("markov 1M journeys end to end (grouping included)",
                                       mm.result["total_s"], "s", mm, target=10.0,
                                       notes=f"{mm.result['groups']} client x path groups"))
    sh = ctx.measure("bench_attribution:shapley_unique")
    out.append(Record.from_measurement("shapley exact, 12 channels, 10k unique journeys",
                                       sh.result["total_s"], "s", sh, target=10.0))
    bs = ctx.measure("bench_attribution:bootstrap_medium", resamples=200 if ctx.scale != "tiny" else 10)
    out.append(Record.from_measurement(f"bootstrap {bs.result['resamples']} resamples, 7 models, medium-sized",
                                       bs.result["total_s"], "s", bs, target=120.0,
                                       notes=f"{bs.result['journeys']} synthetic journeys, 2,087 clients"))
    return out
