"""The experiment registry: validating a definition and its required sample size.

A definition is valid when: the kind and unit type are known; the primary metric is one of
:data:`~dagster_project.analytics.experiments.readout.PRIMARY_METRICS` and the secondary ones are known
metrics; there are at least two variants with distinct names, the control (named) is among them,
weights are positive and sum to 1 (within 1e-6); 0 < alpha < 0.5, 0.5 <= power < 1, mde > 0;
the baseline is a proportion in (0, 1) for ``conversion``, and a mean metric has a positive
baseline standard deviation; an optional Gaussian prior on the relative effect has both a finite
``prior_mean`` and a ``prior_sd`` > 0 (neither: a flat prior).
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass, field

import polars as pl

from .planning import plan_samples
from .readout import METRIC_TYPES, PRIMARY_METRICS

KINDS = ("pricing", "content", "feature")
UNIT_TYPES = ("client", "customer", "user")
REGISTRY_COLUMNS = {
    "experiment_id": pl.String, "client_id": pl.String, "experiment_name": pl.String,
    "hypothesis": pl.String, "kind": pl.String, "unit_type": pl.String,
    "primary_metric": pl.String, "secondary_metrics": pl.String, "variants": pl.String,
    "start_at": pl.Datetime("us"), "end_at": pl.Datetime("us"), "alpha": pl.Float64,
    "power": pl.Float64, "mde": pl.Float64, "baseline": pl.Float64, "baseline_sd": pl.Float64,
    "required_n_per_arm": pl.Float64, "required_n_total": pl.Float64, "source": pl.String,
    "prior_mean": pl.Float64, "prior_sd": pl.Float64,
}


@dataclass(frozen=True)
class Definition:
    name: str
    hypothesis: str
    kind: str
    unit_type: str
    primary_metric: str
    variants: list[tuple[str, float]]  # (name, weight); listed control first after normalising
    control: str = "control"
    secondary_metrics: list[str] = field(default_factory=list)
    alpha: float = 0.05
    power: float = 0.8
    mde: float = 0.1
    baseline: float | None = None
    baseline_sd: float | None = None
    client_id: str | None = None
    prior_mean: float | None = None  # Gaussian prior on the relative effect (None: flat)
    prior_sd: float | None = None


def validate(d: Definition) -> list[str]:
    """Every rule the definition breaks, as a sentence; empty when it is valid."""
    errors = []
    if not d.name.strip():
        errors.append("name is empty")
    if d.kind not in KINDS:
        errors.append(f"kind {d.kind!r} is not one of {', '.join(KINDS)}")
    if d.unit_type not in UNIT_TYPES:
        errors.append(f"unit_type {d.unit_type!r} is not one of {', '.join(UNIT_TYPES)}")
    if d.primary_metric not in PRIMARY_METRICS:
        errors.append(f"primary metric {d.primary_metric!r} is not one of {', '.join(PRIMARY_METRICS)}")
    unknown = [m for m in d.secondary_metrics if m not in METRIC_TYPES]
    if unknown:
        errors.append(f"unknown secondary metrics {unknown}; known: {', '.join(METRIC_TYPES)}")
    names = [n for n, _ in d.variants]
    if len(names) < 2:
        errors.append("an experiment needs at least two variants")
    if len(set(names)) != len(names):
        errors.append(f"variant names repeat: {names}")
    if d.control not in names:
        errors.append(f"the control {d.control!r} is not among the variants {names}")
    if any(w <= 0 for _, w in d.variants):
        errors.append("every variant weight must be positive")
    total = sum(w for _, w in d.variants)
    if abs(total - 1) > 1e-6:
        errors.append(f"variant weights sum to {total:g}, not 1")
    if not 0 < d.alpha < 0.5:
        errors.append(f"alpha {d.alpha} is not in (0, 0.5)")
    if not 0.5 <= d.power < 1:
        errors.append(f"power {d.power} is not in [0.5, 1)")
    if not d.mde > 0:
        errors.append(f"the minimum detectable effect (relative) must be > 0, got {d.mde}")
    kind = METRIC_TYPES.get(d.primary_metric)
    if kind == "proportion" and not (d.baseline is not None and 0 < d.baseline < 1):
        errors.append("a conversion experiment needs a baseline rate in (0, 1)")
    if kind == "proportion" and d.baseline is not None and d.baseline * (1 + d.mde) >= 1:
        errors.append("baseline x (1 + mde) must stay below 1")
    if kind == "mean" and not (d.baseline and d.baseline > 0 and d.baseline_sd and d.baseline_sd > 0):
        errors.append("a mean metric needs a positive baseline mean and baseline_sd")
    if (d.prior_mean is None) != (d.prior_sd is None):
        errors.append("a prior on the relative effect needs both prior_mean and prior_sd")
    elif d.prior_sd is not None and not (math.isfinite(d.prior_mean) and math.isfinite(d.prior_sd)
                                         and d.prior_sd > 0):
        errors.append(f"prior_mean must be finite and prior_sd > 0, got {d.prior_mean} and "
                      f"{d.prior_sd}")
    return errors


def required_sample(d: Definition) -> tuple[float, float]:
    """(control-arm n, total n) for the fixed test of the primary metric at the MDE, as
    :func:`.planning.plan_samples` sizes it (whole units per arm). ValueError naming the broken
    rules for a definition that :func:`validate` refuses."""
    errors = validate(d)
    if errors:
        raise ValueError("definition: " + "; ".join(errors))
    plan = plan_samples(_row(d), pl.DataFrame(schema={"experiment_id": pl.String,
                                                      "variant": pl.String, "n": pl.Float64,
                                                      "n_converted": pl.Float64,
                                                      "sum_y": pl.Float64, "sum_y2": pl.Float64}))
    return plan["planned_n_control"].item(), plan["planned_n_total"].item()


def experiment_id(name: str) -> str:
    return "reg-" + hashlib.sha1(name.strip().lower().encode()).hexdigest()[:8]


def _row(d: Definition, start_at=None, end_at=None) -> pl.DataFrame:
    ordered = sorted(d.variants, key=lambda v: v[0] != d.control)
    return pl.DataFrame([{
        "experiment_id": experiment_id(d.name), "client_id": d.client_id,
        "experiment_name": d.name.strip(), "hypothesis": d.hypothesis, "kind": d.kind,
        "unit_type": d.unit_type, "primary_metric": d.primary_metric,
        "secondary_metrics": json.dumps(d.secondary_metrics),
        "variants": json.dumps([{"name": n, "weight": w} for n, w in ordered]),
        "start_at": start_at, "end_at": end_at, "alpha": d.alpha, "power": d.power, "mde": d.mde,
        "baseline": d.baseline, "baseline_sd": d.baseline_sd, "required_n_per_arm": None,
        "required_n_total": None, "source": "register_experiment", "prior_mean": d.prior_mean,
        "prior_sd": d.prior_sd,
    }], schema=REGISTRY_COLUMNS)


def registry_row(d: Definition, start_at=None, end_at=None) -> pl.DataFrame:
    """The validated definition as one ``analytics.experiment_registry`` row (control first)."""
    n_c, n_total = required_sample(d)
    return _row(d, start_at, end_at).with_columns(required_n_per_arm=pl.lit(n_c, pl.Float64),
                                                  required_n_total=pl.lit(n_total, pl.Float64))


def registry_union(landed: pl.DataFrame, registered: pl.DataFrame | None) -> pl.DataFrame:
    """Landed experiments (``staging.stg_raw__experiments``) and registered ones, one schema;
    a registered id never shadows a landed one."""
    def conformed(df: pl.DataFrame) -> pl.DataFrame:
        df = df.with_columns([pl.lit(None, t).alias(c) for c, t in REGISTRY_COLUMNS.items()
                              if c not in df.columns])
        return df.select([pl.col(c).cast(t) for c, t in REGISTRY_COLUMNS.items()])

    land = landed.with_columns(source=pl.lit("landing"))
    frames = [conformed(land)]
    if registered is not None and registered.height:
        reg = registered.filter(~pl.col("experiment_id").is_in(land["experiment_id"].implode()))
        frames.append(conformed(reg))
    return pl.concat(frames).sort("experiment_id")
