"""The ``register_experiment`` job: validate a definition, size it, append it to the registry."""


import datetime as dt
from typing import Literal

import dagster as dg
import polars as pl
from pydantic import Field

from dagster_project.analytics.experiments.registry import (
    REGISTRY_COLUMNS,
    Definition,
    experiment_id,
    registry_row,
    validate,
)
from dagster_project.warehouse import Warehouse

REGISTRY_TABLE = "analytics.experiment_registry"


class VariantConfig(dg.Config):
    name: str = Field(description="Variant name.")
    weight: float = Field(description="Share of units assigned to it; the weights sum to 1.")


class ExperimentDefinitionConfig(dg.Config):
    """An experiment to register (read by the experiment assets from `analytics.experiments`)."""

    name: str = Field(description="Unique, human-readable name.")
    hypothesis: str = Field(description="What the treatment should change, and why.")
    kind: Literal["pricing", "content", "feature"] = Field(description="pricing, content or feature.")
    unit_type: Literal["client", "customer", "user"] = Field(description="Randomisation unit.")
    primary_metric: str = Field(description="conversion, revenue_14d or signups.")
    secondary_metrics: list[str] = Field(default=[], description="Other metrics to read out.")
    variants: list[VariantConfig] = Field(description="Variants with weights, control included.")
    control: str = Field(default="control", description="Name of the control variant.")
    alpha: float = Field(default=0.05, description="Two-sided significance level.")
    power: float = Field(default=0.8, description="Power at the minimum detectable effect.")
    mde: float = Field(default=0.1, description="Minimum detectable effect, relative (0.1 = +10%).")
    baseline: float | None = Field(default=None, description="Control conversion rate, or mean "
                                   "of the metric for mean metrics.")
    baseline_sd: float | None = Field(default=None, description="Standard deviation of the "
                                      "metric per unit (mean metrics).")
    client_id: str | None = Field(default=None, description="Client; empty = platform-wide.")
    prior_mean: float | None = Field(default=None, description="Mean of a Gaussian prior on the "
                                     "relative effect (0.02 = +2%); give prior_sd too. Empty: a "
                                     "flat prior.")
    prior_sd: float | None = Field(default=None, description="Standard deviation of that prior "
                                   "(> 0; e.g. 0.05 says effects beyond +/-10% are rare).")
    start_date: str | None = Field(default=None, description="Planned start (YYYY-MM-DD).")
    end_date: str | None = Field(default=None, description="Planned end (YYYY-MM-DD).")


def to_definition(c: ExperimentDefinitionConfig) -> Definition:
    return Definition(
        name=c.name, hypothesis=c.hypothesis, kind=c.kind, unit_type=c.unit_type,
        primary_metric=c.primary_metric, variants=[(v.name, v.weight) for v in c.variants],
        control=c.control, secondary_metrics=list(c.secondary_metrics), alpha=c.alpha,
        power=c.power, mde=c.mde, baseline=c.baseline, baseline_sd=c.baseline_sd,
        client_id=c.client_id, prior_mean=c.prior_mean, prior_sd=c.prior_sd)


def _date(value: str | None) -> dt.datetime | None:
    return dt.datetime.fromisoformat(value) if value else None


@dg.op(out=dg.Out(dict))
def register_experiment_op(context: dg.OpExecutionContext, config: ExperimentDefinitionConfig,
                           warehouse: Warehouse) -> dict:
    """Validate the definition, compute its required sample and append it to the registry."""
    definition = to_definition(config)
    errors = validate(definition)
    if errors:
        raise dg.Failure(description=f"experiment {config.name!r} refused: " + "; ".join(errors),
                         metadata={"errors": dg.MetadataValue.md("\n".join(f"- {e}" for e in errors))})
    row = registry_row(definition, _date(config.start_date), _date(config.end_date))
    eid = experiment_id(config.name)
    with warehouse.session() as s:
        s.create_table(REGISTRY_TABLE, [(c, _sql_type(t)) for c, t in REGISTRY_COLUMNS.items()])
        present = s.read(f"select * from {REGISTRY_TABLE} limit 0").columns
        for c, t in REGISTRY_COLUMNS.items():  # a registry made before the column existed
            if c not in present:
                s.execute(f"alter table {REGISTRY_TABLE} add column {c} {_sql_type(t)}")
        if s.scalar(f"select count(*) from {REGISTRY_TABLE} where experiment_id = ?", [eid]):
            raise dg.Failure(description=f"experiment {config.name!r} is already registered as {eid}")
        s.write(REGISTRY_TABLE, row, mode="append")
    n_c, n_total = row["required_n_per_arm"][0], row["required_n_total"][0]
    context.log.info(f"registered {eid}: {n_c:.0f} units in the control arm, {n_total:.0f} in all")
    context.add_output_metadata({"experiment_id": eid, "required_n_per_arm": n_c,
                                 "required_n_total": n_total})
    return {"experiment_id": eid, "required_n_per_arm": n_c, "required_n_total": n_total}


def _sql_type(t: pl.DataType) -> str:
    if t == pl.String:
        return "varchar"
    if t == pl.Float64:
        return "double precision"
    return "timestamp"


# the Launchpad opens with this config: a two-arm conversion test to edit; name and hypothesis
# are left empty, so launching it unedited is refused
REGISTER_LAUNCHPAD = {"ops": {"register_experiment_op": {"config": {
    "name": "", "hypothesis": "", "kind": "feature", "unit_type": "user",
    "primary_metric": "conversion", "secondary_metrics": [],
    "variants": [{"name": "control", "weight": 0.5}, {"name": "treatment", "weight": 0.5}],
    "control": "control", "alpha": 0.05, "power": 0.8, "mde": 0.1, "baseline": 0.1,
    "baseline_sd": None, "client_id": None, "prior_mean": None, "prior_sd": None,
    "start_date": None, "end_date": None}}}}


@dg.job(config=REGISTER_LAUNCHPAD, description="Register an experiment: validate it (weights sum to 1, control named, "
        "metrics known, a prior given by mean and sd), compute the required sample and append "
        "it to "
        "analytics.experiment_registry; refuses bad definitions with the reasons. Re-materialize "
        "analytics/experiments afterwards.")
def register_experiment():
    register_experiment_op()
