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
from dagster_project.analytics.experiments.status import (
    contract_breaches,
    null_unless_ok,
    status_table,
)
from dagster_project.defs.experiments.plots import monitor_figure
from dagster_project.domains import domain
from dagster_project.metadata import markdown_table, png_markdown, table_metadata
from dagster_project.plots import bars, plot_entry
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
    power, relative MDE and, for registered ones, the baseline, the required sample and the
    optional Gaussian prior on the relative effect (`prior_mean`, `prior_sd`; null: flat)."""
    landed = warehouse.read("select * from staging.stg_raw__experiments")
    registered = (warehouse.read("select * from analytics.experiment_registry")
                  if warehouse.table_exists("analytics.experiment_registry") else None)
    df = registry_union(landed, registered)
    warehouse.write("analytics.experiments", df)
    return dg.MaterializeResult(metadata={**table_metadata(df), **plot_entry(df, lambda d: bars(
        d["experiment_id"].to_list(), d["required_n_total"],
        "Planned sample size per experiment", "units needed (all arms)"), "planned samples",
        "no experiment is registered")})


STATUS_DESCRIPTION = ("ok, or why the row has no statistics (then every p-value, interval, "
                      "chance and decision is null): " + "; ".join(
                          f"{code}: {meaning}" for code, meaning in ex.STATUS_CODES.items()))
RESULT_DESCRIPTIONS = {
    "status": STATUS_DESCRIPTION, "status_message": "the status's reason for this row, in words",
    "control_mean": "control's mean of the metric (unadjusted)",
    "treatment_mean": "treatment's mean of the metric (unadjusted)",
    "abs_lift": "treatment - control (CUPED-adjusted for revenue_14d)",
    "rel_lift": "(treatment - control) / control's unadjusted mean",
    "p_value": "two-sided, fixed horizon (Welch t for means, z otherwise)",
    "p_holm": "Holm-adjusted across the experiment's variants and metrics (null p-values not "
              "counted)",
    "p_bh": "Benjamini-Hochberg-adjusted across the experiment's variants and metrics (null "
            "p-values not counted)",
    "variance_reduction": "CUPED: 1 - adjusted / unadjusted variance of the lift",
    "cuped_theta": "CUPED theta = cov(x, y) / var(x) over the pair's pooled units (0: none)",
    "seq_ci_low": "always-valid (normal-mixture) lower bound of abs_lift, level alpha / (k - 1)",
    "seq_ci_high": "always-valid upper bound of abs_lift",
    "seq_rel_ci_low": "always-valid lower bound of rel_lift",
    "seq_rel_ci_high": "always-valid upper bound of rel_lift",
    "seq_p_value": "always-valid p-value of abs_lift, min(1, (k - 1) / M_n): < alpha exactly when "
                   "the always-valid interval excludes 0",
    "seq_p_value_rel": "always-valid p-value of rel_lift",
    "chance_to_beat_control": "posterior P(rel_lift > 0): registry prior on the relative effect "
                              "(prior_mean, prior_sd), flat when absent; normal approximation",
    "risk_control": "expected loss of keeping control: E[max(0, rel_lift)]",
    "risk_treatment": "expected loss of shipping the treatment: E[max(0, -rel_lift)]",
    "credible_low": "lower bound of the (1 - alpha) credible interval of rel_lift",
    "credible_high": "upper bound of the (1 - alpha) credible interval of rel_lift",
    "decision": "the experiment's decision (ship / do not ship / keep running / invalid / cannot "
                "decide); 'cannot decide' on rows whose status is not ok",
    "decision_reason": "why; on rows whose status is not ok, the status message",
}
CHECKED_STATS = [c for c in (*ex.RESULT_STATS, "p_holm", "p_bh") if c != "df"]


@dg.asset(key=["analytics", "experiment_results"], group_name=DOMAIN.name, kinds=KINDS, owners=DOMAIN.owners,
          deps=[REGISTRY_KEY, UNITS, DAILY],
          check_specs=[dg.AssetCheckSpec("results_are_finite", asset=["analytics", "experiment_results"],
                                         description="Rows with status ok have finite lifts, "
                                         "intervals, p-values and Bayesian figures; every other "
                                         "row has them null."),
                       dg.AssetCheckSpec("no_sample_ratio_mismatch",
                                         asset=["analytics", "experiment_results"],
                                         description="No experiment fails the SRM chi-square.")])
def experiment_results(config: ExperimentStatsConfig, warehouse: Warehouse):
    """One row per experiment x metric x treatment variant, compared with the control as of the
    last data: absolute and relative lift with confidence intervals at the experiment's alpha
    (relative by the delta method, over the control's unadjusted mean), Welch/z p-values with
    Holm and Benjamini-Hochberg adjustments across the experiment's variants and metrics, CUPED
    (revenue_14d: theta from the pooled sums of each treatment and its control, as gbstats), the
    always-valid interval and p-value of both lifts (normal mixture tuned at the planned sample:
    safe to look every day), the Bayesian posterior (chance to beat control, the risk of each
    choice, credible interval; the registry's Gaussian prior on the relative effect or a flat
    one), the sample-ratio-mismatch test, and the experiment's decision (ship / do not ship /
    keep running / invalid / cannot decide) with its reason.

    Every row has a `status`: `ok`, or a code saying why it has no statistics (a registered arm
    without data, a variant that is not registered, null or impossible counts, zero variance, a
    zero baseline, ...; the codes are listed in the `status` column description). Such a row's
    p-values, intervals and chances are null and its decision reads "cannot decide".
    An SRM flag also writes a critical event to `analytics.alert_events`."""
    registry = read_registry(warehouse)
    stats = warehouse.read(UNIT_STATS_SQL)
    daily = read_daily(warehouse)
    latest = daily.filter(pl.col("date_day") == pl.col("date_day").max().over("experiment_id"))
    plan = ex.plan_samples(registry, latest)
    est = ex.arm_estimates(stats, registry)
    res = ex.adjust_pvalues(ex.compare_to_control(est, plan, cuped=config.use_cuped))
    srm = ex.srm(stats, registry, config.srm_p_threshold)
    prog = ex.progress(registry, daily, plan, config.rate_days)
    decisions = ex.decide(res, srm, prog)
    ok = pl.col("status") == "ok"
    df = (res.join(srm, on="experiment_id", how="left")
          .join(decisions, on="experiment_id", how="left")
          .with_columns(decision=pl.when(ok).then("decision").otherwise(pl.lit("cannot decide")),
                        decision_reason=pl.when(ok).then("decision_reason")
                        .otherwise("status_message"),
                        winning_variant=pl.when(ok).then("winning_variant"))
          .sort("experiment_id", pl.col("is_primary").not_(), "metric", "variant",
                nulls_last=True))
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
    breaches = contract_breaches(df, CHECKED_STATS)
    decision_table = decisions.join(srm.select("experiment_id", "srm_p_value"), on="experiment_id")
    yield dg.MaterializeResult(metadata={
        **table_metadata(df, RESULT_DESCRIPTIONS),
        **plot_entry(df, _lift_chart, "relative lifts", "no experiment has data"),
        "decisions": dg.MetadataValue.md(markdown_table(decision_table)),
        "statuses": dg.MetadataValue.md(markdown_table(
            df.group_by("status").len().sort("status").join(status_table(), on="status",
                                                            how="left"))),
        "srm_flagged": flagged.height, "alert_events_written": len(events),
    })
    yield dg.AssetCheckResult(check_name="results_are_finite", passed=breaches.height == 0,
                              metadata={"breaching_rows": breaches.height,
                                        "not_ok_rows": df.filter(~ok).height})
    yield dg.AssetCheckResult(check_name="no_sample_ratio_mismatch", passed=flagged.height == 0,
                              severity=dg.AssetCheckSeverity.WARN,
                              metadata={"flagged": ", ".join(flagged["experiment_id"]) or "none"})


@dg.asset(key=["analytics", "experiment_monitor"], group_name=DOMAIN.name, kinds=KINDS, owners=DOMAIN.owners,
          deps=[REGISTRY_KEY, DAILY])
def experiment_monitor(config: ExperimentStatsConfig, warehouse: Warehouse) -> dg.MaterializeResult:
    """The primary metric's lift per experiment, treatment and day, with the fixed-horizon
    interval (valid only at the one planned look) and the always-valid interval and p-value of
    the absolute and relative lift (normal-mixture confidence sequence tuned at the planned
    sample; valid at every daily look), and the running minimum of the always-valid p-value over
    the looks so far (valid too: stop when it falls below alpha). The plot shows both intervals:
    stop only when the always-valid band leaves zero. Days on which an arm has fewer than two
    units, or other degenerate data, keep their row with a `status` and null statistics."""
    registry = read_registry(warehouse)
    daily = read_daily(warehouse)
    latest = daily.filter(pl.col("date_day") == pl.col("date_day").max().over("experiment_id"))
    plan = ex.plan_samples(registry, latest)
    keys = ("experiment_id", "date_day")
    est = ex.arm_estimates(daily, registry, keys=keys).filter("is_primary")
    alpha = plan_alpha(plan)
    df = (ex.compare_to_control(est, plan, keys=keys, cuped=config.use_cuped)
          .with_columns(seq_p_value_running_min=pl.col("seq_p_value").cum_min()
                        .over(["experiment_id", "variant"], order_by="date_day"))
          .with_columns(null_unless_ok(["seq_p_value_running_min"]))
          .with_columns(seq_reject=pl.col("seq_p_value") < alpha,
                        seq_rejected_so_far=pl.col("seq_p_value_running_min") < alpha,
                        fixed_reject=pl.col("p_value") < alpha)
          .select("experiment_id", "date_day", "metric", "variant", "n_control", "n_treatment",
                  "control_mean", "treatment_mean", "abs_lift", "abs_ci_low", "abs_ci_high",
                  "rel_lift", "rel_ci_low", "rel_ci_high", "seq_multiplier", "seq_ci_low",
                  "seq_ci_high", "seq_rel_ci_low", "seq_rel_ci_high", "p_value", "seq_p_value",
                  "seq_p_value_rel", "seq_p_value_running_min", "fixed_reject", "seq_reject",
                  "seq_rejected_so_far", "status", "status_message")
          .sort("experiment_id", "variant", "date_day"))
    warehouse.write("analytics.experiment_monitor", df)
    return dg.MaterializeResult(metadata={
        **table_metadata(df, MONITOR_DESCRIPTIONS),
        "plot": png_markdown(monitor_figure(df.filter(pl.col("status") == "ok")),
                             "sequential intervals")})


MONITOR_DESCRIPTIONS = {
    **{c: RESULT_DESCRIPTIONS[c] for c in ("status", "status_message", "abs_lift", "rel_lift",
                                           "seq_ci_low", "seq_ci_high", "seq_rel_ci_low",
                                           "seq_rel_ci_high", "seq_p_value", "seq_p_value_rel")},
    "seq_p_value_running_min": "minimum of seq_p_value over this and the earlier looks (still "
                               "always valid)",
    "fixed_reject": "p_value < alpha: valid only at the one planned look",
    "seq_reject": "seq_p_value < alpha: the always-valid interval excludes 0 at this look",
    "seq_rejected_so_far": "seq_p_value_running_min < alpha: rejected at this or an earlier look",
}


def plan_alpha(plan: pl.DataFrame) -> pl.Expr:
    """The experiment's alpha as an expression over rows keyed by experiment_id."""
    return pl.col("experiment_id").replace_strict(dict(plan.select("experiment_id", "alpha")
                                                       .iter_rows()), default=0.05)


@dg.asset(key=["analytics", "experiment_power"], group_name=DOMAIN.name, kinds=KINDS, owners=DOMAIN.owners,
          deps=[REGISTRY_KEY, DAILY])
def experiment_power(config: ExperimentStatsConfig, warehouse: Warehouse) -> dg.MaterializeResult:
    """Per experiment: the planned sample for its primary metric at its MDE, alpha and power
    (fixed test, Bonferroni over treatments: Cohen's h and the z test for conversion, Cohen's d
    and the t test for means; whole units per arm) and the larger sample the always-valid test
    needs, the current sample and share of plan, the power the experiment has now to detect the
    MDE and the MDE it can detect now, the recent daily rate and the expected days left. The
    baseline comes from the registry or, for landed experiments, from the control arm's data.
    `status` says why a plan could not be made (unknown metric, invalid alpha or weights, no
    baseline, a zero baseline or sd); its planned samples are then null."""
    registry = read_registry(warehouse)
    daily = read_daily(warehouse)
    latest = daily.filter(pl.col("date_day") == pl.col("date_day").max().over("experiment_id"))
    plan = ex.plan_samples(registry, latest)
    df = ex.progress(registry, daily, plan, config.rate_days)
    warehouse.write("analytics.experiment_power", df)
    return dg.MaterializeResult(metadata={**table_metadata(df, POWER_DESCRIPTIONS), **plot_entry(
        df, lambda d: bars(d["experiment_id"].to_list(), d["share_of_planned"],
                           "Sample collected so far", "share of the planned sample"),
        "share of planned sample", "no experiment is registered")})


def _lift_chart(results: pl.DataFrame):
    """Relative lift per experiment x metric x variant, whiskers the fixed-horizon CI; primary
    metrics first."""
    d = results.sort("is_primary", "experiment_id", descending=[True, False])
    return bars([f"{e} {m} {v}" for e, m, v in d.select("experiment_id", "metric", "variant").iter_rows()],
                d["rel_lift"], "Relative lift vs control", "relative lift (null: see status)",
                d["rel_ci_low"], d["rel_ci_high"])


POWER_DESCRIPTIONS = {
    "status": STATUS_DESCRIPTION, "status_message": "the status's reason for this row, in words",
    "standardized_effect": "the MDE as an effect size: Cohen's h (conversion), Cohen's d "
                           "(means), log(1 + mde) (sign-ups)",
    "planned_n_control": "control units for the fixed test at alpha / (k - 1), two-sided: z test "
                         "(statsmodels NormalIndPower) for conversion and sign-ups, t test "
                         "(TTestIndPower) for means",
    "planned_n_total": "sum over arms of ceil(planned_n_control x w_arm / w_control)",
    "sequential_n_total": "planned_n_total x the always-valid test's inflation, rounded up",
    "power_now": "power of the fixed test to detect the MDE with the current control and "
                 "smallest treatment arm (null below 2 units per arm)",
    "mde_now": "relative lift detectable now with the planned power (null below 2 units per arm)",
    "ended": "end_at is at or before the end of as_of",
}


experiment_assets = [experiments_registry, experiment_results, experiment_monitor,
                     experiment_power]
