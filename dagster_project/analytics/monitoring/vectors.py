"""Multivariate vectors of the system metrics, the input of Isolation Forest and the autoencoder.

One vector per entity and time of a *family* (the API metrics of an endpoint, the resource
metrics of a host): each component is the metric's robust-baseline deviation ``z`` compressed
as ``sign(z)·log1p(|z|)``, so that daily and weekly cycles and growth are removed (the models see
departures from the seasonal expectation, not the cycle itself) and one huge deviation does not
dominate the fit. Rows where a component is missing (no baseline yet, a gap) are left out.
"""

from __future__ import annotations

import polars as pl

FAMILIES: dict[str, tuple[str, ...]] = {
    "api": ("api_requests", "api_error_rate", "api_latency_p95_ms"),
    "host": ("host_cpu_pct", "host_memory_pct", "host_disk_pct", "host_queue_depth"),
}


def family_vectors(baselines: dict[str, pl.DataFrame], family: str) -> pl.DataFrame:
    """(entity, ts, one column per metric of ``family``) from the metrics' baseline frames
    (``baseline.robust_baseline`` outputs keyed by metric); empty when a metric is absent."""
    metrics = FAMILIES[family]
    if any(m not in baselines for m in metrics):
        return pl.DataFrame(schema={"entity": pl.String, "ts": pl.Datetime("us"),
                                    **{m: pl.Float64 for m in metrics}})
    out = None
    for m in metrics:
        z = baselines[m].select("entity", "ts", (pl.col("z").sign() * pl.col("z").abs().log1p())
                                .alias(m))
        out = z if out is None else out.join(z, on=["entity", "ts"], how="inner")
    return out.drop_nulls().sort("entity", "ts")
