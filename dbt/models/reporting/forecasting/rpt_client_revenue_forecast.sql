{{ config(materialized='table') }}
-- Each client's own daily revenue forecast for client-facing BI: one row per client x
-- forecast day x interval level (analytics.revenue_forecast, client series), or one row with
-- null values and the status when the client has no forecast. A table, so that PostgreSQL
-- row-level security applies. Before the forecasting asset has run (a fresh dbt build) it
-- builds empty.
-- source() is called outside the conditional so that dbt records the dependency at parse time
-- (execute is false then): the reporting step waits for the forecasting asset.
{%- set forecasts_source = source('analytics', 'revenue_forecast') %}
{%- set present = (load_relation(forecasts_source) is not none) if execute else false %}
with

forecasts as (

    {%- if present %}
    select client_id, forecast_date, horizon_days, level, forecast, lower, upper,
        backtest_coverage, method, status, status_message, as_of_date
    from {{ forecasts_source }}
    where series_kind = 'client'
    {%- else %}
    select cast(null as varchar) as client_id, cast(null as date) as forecast_date,
        cast(null as bigint) as horizon_days, cast(null as double precision) as level,
        cast(null as double precision) as forecast, cast(null as double precision) as lower,
        cast(null as double precision) as upper,
        cast(null as double precision) as backtest_coverage, cast(null as varchar) as method,
        cast(null as varchar) as status, cast(null as varchar) as status_message,
        cast(null as date) as as_of_date
    where 1 = 0
    {%- endif %}

)

select
    cast(client_id as varchar) as client_id,
    cast(forecast_date as date) as forecast_date,
    cast(horizon_days as bigint) as horizon_days,
    cast(level as double precision) as interval_level,
    cast(forecast as double precision) as revenue_forecast,
    cast(lower as double precision) as revenue_lower,
    cast(upper as double precision) as revenue_upper,
    cast(backtest_coverage as double precision) as backtest_coverage,
    cast(method as varchar) as method,
    cast(status as varchar) as status,
    cast(status_message as varchar) as status_message,
    cast(as_of_date as date) as as_of_date
from forecasts
