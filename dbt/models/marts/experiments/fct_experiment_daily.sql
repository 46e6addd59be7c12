-- Cumulative sufficient statistics per experiment arm: enough to compute means, variances,
-- t-tests, CUPED (theta = cov(x, y) / var(x)) and conversion rates as of any day without the units.
with

units as (

    select * from {{ ref('fct_experiment_units') }}

),

days as (

    select date_day
    from {{ date_spine(
        '(select min(assigned_date) from ' ~ ref('fct_experiment_units') ~ ')',
        '(select max(assigned_date) from ' ~ ref('fct_experiment_units') ~ ')'
    ) }} as spine

),

arms as (

    select
        experiment_id,
        variant,
        {{ bool_or_agg('is_control') }} as is_control
    from units
    group by experiment_id, variant

),

experiment_ranges as (

    select experiment_id, min(assigned_date) as first_date, max(assigned_date) as last_date
    from units
    group by experiment_id

),

grid as (

    select arms.experiment_id, arms.variant, arms.is_control, days.date_day
    from arms
    inner join experiment_ranges
        on arms.experiment_id = experiment_ranges.experiment_id
    inner join days
        on days.date_day between experiment_ranges.first_date and experiment_ranges.last_date

),

daily as (

    select
        experiment_id,
        variant,
        assigned_date as date_day,
        count(*) as n,
        sum({{ bool_to_int('converted') }}) as n_converted,
        sum(metric_value) as sum_y,
        sum(metric_value * metric_value) as sum_y2,
        sum(pre_metric_value) as sum_x,
        sum(pre_metric_value * pre_metric_value) as sum_x2,
        sum(pre_metric_value * metric_value) as sum_xy
    from units
    group by 1, 2, 3

),

cumulative as (

    select
        grid.experiment_id,
        grid.variant,
        grid.is_control,
        grid.date_day,
        coalesce(daily.n, 0) as new_units,
        sum(coalesce(daily.n, 0)) over w as n,
        sum(coalesce(daily.n_converted, 0)) over w as n_converted,
        sum(coalesce(daily.sum_y, 0)) over w as sum_y,
        sum(coalesce(daily.sum_y2, 0)) over w as sum_y2,
        sum(coalesce(daily.sum_x, 0)) over w as sum_x,
        sum(coalesce(daily.sum_x2, 0)) over w as sum_x2,
        sum(coalesce(daily.sum_xy, 0)) over w as sum_xy
    from grid
    left join daily
        on grid.experiment_id = daily.experiment_id
        and grid.variant = daily.variant
        and grid.date_day = daily.date_day
    window w as (
        partition by grid.experiment_id, grid.variant
        order by grid.date_day
        rows between unbounded preceding and current row
    )

)

select
    cast(experiment_id as {{ string_type() }}) as experiment_id,
    cast(variant as {{ string_type() }}) as variant,
    cast(date_day as date) as date_day,
    cast(is_control as boolean) as is_control,
    cast(new_units as bigint) as new_units,
    cast(n as bigint) as n,
    cast(n_converted as bigint) as n_converted,
    cast(sum_y as {{ double_type() }}) as sum_y,
    cast(sum_y2 as {{ double_type() }}) as sum_y2,
    cast(sum_x as {{ double_type() }}) as sum_x,
    cast(sum_x2 as {{ double_type() }}) as sum_x2,
    cast(sum_xy as {{ double_type() }}) as sum_xy
from cumulative
