"""Experiment assets: registry, results (with decisions), daily sequential monitor, power.

Each asset reads marts through the warehouse, calls :mod:`dagster_project.analytics.experiments`
and writes one ``analytics.*`` table.
"""


import datetime as dt

import dagster as dg
import polars as pl
from pydantic import Field

from dagster_project.alert_events import alert_event, write_alert_events
from dagster_project.analytics import experiments as ex
from dagster_project.analytics.experiments.registry import registry_union
from dagster_project.defs.experiments.plots import monitor_figure
from dagster_project.domains import domain
from dagster_project.metadata import markdown_table, png_markdown, table_metadata
from dagster_project.settings import get_settings
from dagster_project.warehouse import Warehouse

DOMAIN = domain("experiments")
KINDS = {"python", "polars", get_settings().warehouse_backend}
REGISTRY_KEY = dg.AssetKey(["analytics", "experiments"])
DAILY = dg.AssetKey(["marts", "fct_experiment_daily"])
UNITS = dg.AssetKey(["marts", "fct_experiment_units"])

UNIT_STATS_SQL = """
select experiment_id, variant, max(assigned_date) as date_day, count(*) as n,
    sum(case when converted then 1 else 0 end) as n_converted,
    sum(coalesce(metric_value, 0)) as sum_y,
    sum(coalesce(metric_value, 0) * coalesce(metric_value, 0)) as sum_y2,
    sum(coalesce(pre_metric_value, 0)) as sum_x,
    sum(coalesce(pre_metric_value, 0) * coalesce(pre_metric_value, 0)) as sum_x2,
    sum(coalesce(pre_metric_value, 0) * coalesce(metric_value, 0)) as sum_xy,
    sum(case when converted then coalesce(metric_value, 0) else 0 end) as sum_yc
from marts.fct_experiment_units
group by experiment_id, variant
"""


class ExperimentStatsConfig(dg.Config):
    """What an analyst may change in the experiment read-out."""

    use_cuped: bool = Field(default=True, description="Adjust revenue_14d on its pre-period value.")
    srm_p_threshold: float = Field(
        default=0.001, description="Sample-ratio-mismatch p-value below which an experiment is "
        "flagged invalid (and an alert event written).")
    rate_days: int = Field(default=7, description="Days of recent assignments that set the "
                           "daily rate behind the expected days left.")


def read_registry(warehouse: Warehouse) -> pl.DataFrame:
    return warehouse.read("select * from analytics.experiments")


def read_daily(warehouse: Warehouse) -> pl.DataFrame:
    return warehouse.read("select * from marts.fct_experiment_daily order by experiment_id, "
                          "variant, date_day")


@dg.asset(key=["analytics", "experiments"], group_name=DOMAIN.name, kinds=KINDS, owners=DOMAIN.owners,
          deps=[dg.AssetKey(["staging", "stg_raw__experiments"])])
def experiments_registry(warehouse: Warehouse) -> dg.MaterializeResult:
    """The experiment registry: the landed experiments (`staging.stg_raw__experiments`) and
    those defined with the `register_experiment` job (`analytics.experiment_registry`), one row
    each, with variants and weights (first = control), primary and secondary metrics, alpha,
    power, relative MDE and, for registered ones, the baseline and required sample."""
    landed = warehouse.read("select * from staging.stg_raw__experiments")
    registered = (warehouse.read("select * from analytics.experiment_registry")
                  if warehouse.table_exists("analytics.experiment_registry") else None)
    df = registry_union(landed, registered)
    warehouse.write("analytics.experiments", df)
    return dg.MaterializeResult(metadata=table_metadata(df))


RESULT_DESCRIPTIONS = {
    "rel_lift": "treatment / control - 1", "abs_lift": "treatment - control",
    "p_value": "two-sided, fixed horizon (Welch t for means, z otherwise)",
    "p_holm": "Holm-adjusted across the experiment's variants and metrics",
    "p_bh": "Benjamini-Hochberg-adjusted across the experiment's variants and metrics",
    "seq_ci_low": "always-valid (normal-mixture) lower bound of abs_lift",
    "variance_reduction": "CUPED: 1 - adjusted / unadjusted variance of the lift",
    "chance_to_beat_control": "P(rel_lift > 0), flat prior, normal approximation",
    "expected_loss": "E[max(0, -rel_lift)] if shipped",
}


@dg.asset(key=["analytics", "experiment_results"], group_name=DOMAIN.name, kinds=KINDS, owners=DOMAIN.owners,
          deps=[REGISTRY_KEY, UNITS, DAILY],
          check_specs=[dg.AssetCheckSpec("results_are_finite", asset=["analytics", "experiment_results"],
                                         description="Lifts, intervals and p-values are not NaN."),
                       dg.AssetCheckSpec("no_sample_ratio_mismatch",
                                         asset=["analytics", "experiment_results"],
                                         description="No experiment fails the SRM chi-square.")])
def experiment_results(config: ExperimentStatsConfig, warehouse: Warehouse):
    """One row per experiment x metric x treatment variant, compared with the control as of the
    last data: absolute and relative lift with confidence intervals at the experiment's alpha
    (relative by the delta method), Welch/z p-values with Holm and Benjamini-Hochberg adjustments
    across the experiment's variants and metrics, CUPED variance reduction (revenue_14d), the
    always-valid interval (normal mixture tuned at the planned sample: safe to look every day),
    Bayesian chance to beat control and expected loss, the sample-ratio-mismatch test, and the
    experiment's decision (ship / do not ship / keep running / invalid) with its reason.
    An SRM flag also writes a critical event to `analytics.alert_events`."""
    registry = read_registry(warehouse)
    stats = warehouse.read(UNIT_STATS_SQL)
    daily = read_daily(warehouse)
    latest = daily.filter(pl.col("date_day") == pl.col("date_day").max().over("experiment_id"))
    plan = ex.plan_samples(registry, latest)
    est = ex.arm_estimates(stats, registry, cuped=config.use_cuped)
    res = ex.adjust_pvalues(ex.compare_to_control(est, plan, cuped=config.use_cuped))
    srm = ex.srm(stats, registry, config.srm_p_threshold)
    prog = ex.progress(registry, daily, plan, config.rate_days)
    decisions = ex.decide(res, srm, prog)
    df = (res.join(srm, on="experiment_id", how="left").join(decisions, on="experiment_id",
                                                            how="left")
          .sort("experiment_id", pl.col("is_primary").not_(), "metric", "variant"))
    flagged = srm.filter("srm_flag")
    as_of = prog["as_of"].max()
    occurred = dt.datetime.combine(as_of or dt.date.today(), dt.time())
    events = [alert_event(occurred, "experiments", "critical", e,
                          f"Sample ratio mismatch in experiment {e}",
                          {"srm_p_value": p, "chi_square": c, "threshold": config.srm_p_threshold})
              for e, p, c in flagged.select("experiment_id", "srm_p_value", "srm_chi2").iter_rows()]
    with warehouse.session() as s:
        s.write("analytics.experiment_results", df)
        write_alert_events(s, events)
    numeric = ["abs_lift", "abs_ci_low", "abs_ci_high", "rel_lift", "rel_ci_low", "rel_ci_high",
               "p_value", "p_holm", "p_bh"]
    nan_rows = df.filter(pl.any_horizontal([pl.col(c).is_nan() | pl.col(c).is_null()
                                            for c in numeric]))
    decision_table = decisions.join(srm.select("experiment_id", "srm_p_value"), on="experiment_id")
    yield dg.MaterializeResult(metadata={
        **table_metadata(df, RESULT_DESCRIPTIONS),
        "decisions": dg.MetadataValue.md(markdown_table(decision_table)),
        "srm_flagged": flagged.height, "alert_events_written": len(events),
    })
    yield dg.AssetCheckResult(check_name="results_are_finite", passed=nan_rows.height == 0,
                              metadata={"nan_rows": nan_rows.height})
    yield dg.AssetCheckResult(check_name="no_sample_ratio_mismatch", passed=flagged.height == 0,
                              severity=dg.AssetCheckSeverity.WARN,
                              metadata={"flagged": ", ".join(flagged["experiment_id"]) or "none"})


@dg.asset(key=["analytics", "experiment_monitor"], group_name=DOMAIN.name, kinds=KINDS, owners=DOMAIN.owners,
          deps=[REGISTRY_KEY, DAILY])
def experiment_monitor(config: ExperimentStatsConfig, warehouse: Warehouse) -> dg.MaterializeResult:
    """The primary metric's lift per experiment, treatment and day, with the fixed-horizon
    interval (valid only at the one planned look) and the always-valid interval (normal-mixture
    confidence sequence tuned at the planned sample; valid at every daily look). The plot shows
    both: stop only when the always-valid band leaves zero."""
    registry = read_registry(warehouse)
    daily = read_daily(warehouse)
    latest = daily.filter(pl.col("date_day") == pl.col("date_day").max().over("experiment_id"))
    plan = ex.plan_samples(registry, latest)
    keys = ("experiment_id", "date_day")
    est = ex.arm_estimates(daily, registry, keys=keys, cuped=config.use_cuped).filter("is_primary")
    df = (ex.compare_to_control(est, plan, keys=keys, cuped=config.use_cuped)
          .filter(pl.col("n_control") > 1, pl.col("n_treatment") > 1)
          .with_columns(seq_reject=(pl.col("seq_ci_low") > 0) | (pl.col("seq_ci_high") < 0),
                        fixed_reject=pl.col("p_value") < plan_alpha(plan))
          .select("experiment_id", "date_day", "metric", "variant", "n_control", "n_treatment",
                  "control_mean", "treatment_mean", "abs_lift", "abs_ci_low", "abs_ci_high",
                  "seq_multiplier", "seq_ci_low", "seq_ci_high", "p_value", "fixed_reject",
                  "seq_reject")
          .sort("experiment_id", "variant", "date_day"))
    warehouse.write("analytics.experiment_monitor", df)
    return dg.MaterializeResult(metadata={
        **table_metadata(df), "plot": png_markdown(monitor_figure(df), "sequential intervals")})


def plan_alpha(plan: pl.DataFrame) -> pl.Expr:
    """The experiment's alpha as an expression over rows keyed by experiment_id."""
    return pl.col("experiment_id").replace_strict(dict(plan.select("experiment_id", "alpha")
                                                       .iter_rows()), default=0.05)


@dg.asset(key=["analytics", "experiment_power"], group_name=DOMAIN.name, kinds=KINDS, owners=DOMAIN.owners,
          deps=[REGISTRY_KEY, DAILY])
def experiment_power(config: ExperimentStatsConfig, warehouse: Warehouse) -> dg.MaterializeResult:
    """Per experiment: the planned sample for its primary metric at its MDE, alpha and power
    (fixed test; Cohen's h for conversion, Bonferroni over treatments) and the larger sample the
    always-valid test needs, the current sample and share of plan, the power the experiment has
    now to detect the MDE, the recent daily rate and the expected days left. The baseline comes
    from the registry or, for landed experiments, from the control arm's data."""
    registry = read_registry(warehouse)
    daily = read_daily(warehouse)
    latest = daily.filter(pl.col("date_day") == pl.col("date_day").max().over("experiment_id"))
    plan = ex.plan_samples(registry, latest)
    df = ex.progress(registry, daily, plan, config.rate_days)
    warehouse.write("analytics.experiment_power", df)
    return dg.MaterializeResult(metadata=table_metadata(df))


experiment_assets = [experiments_registry, experiment_results, experiment_monitor,
                     experiment_power]
