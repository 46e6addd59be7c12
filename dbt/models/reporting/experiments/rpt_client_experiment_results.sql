-- A client's own experiments (the registry's client_id), for client-facing BI: the rows of
-- rpt_experiment_results whose owner is a client. A table keyed by client_id, so that
-- PostgreSQL row-level security scopes it to one client; platform-wide experiments are not here.
select
    cast(experiment_client_id as {{ string_type() }}) as client_id,
    experiment_id,
    metric,
    variant,
    experiment_name,
    kind,
    metric_type,
    is_primary,
    decision,
    is_decided,
    winning_variant,
    decision_reason,
    n_control,
    n_treatment,
    control_mean,
    treatment_mean,
    abs_lift,
    abs_ci_low,
    abs_ci_high,
    rel_lift,
    rel_ci_low,
    rel_ci_high,
    p_value,
    p_holm,
    p_bh,
    seq_p_value,
    chance_to_beat_control,
    srm_flag,
    srm_p_value,
    status,
    status_message,
    start_at,
    end_at
from {{ ref('rpt_experiment_results') }}
where experiment_client_id is not null
