{{ config(materialized='table') }}
-- Each client's own daily revenue forecast for client-facing BI: one row per client x
-- forecast day x interval level (analytics.revenue_forecast, client series), or one row with
-- null values and the status when the client has no forecast. A table, so that PostgreSQL
-- row-level security applies. Before the forecasting asset has run (a fresh dbt build) it
-- builds empty (source_or_empty).
{%- set forecasts_source = source('analytics', 'revenue_forecast') %}
with

forecasts as (

    {% call source_or_empty(forecasts_source, {
        'client_id': 'varchar',
        'forecast_date': 'date',
        'horizon_days': 'bigint',
        'interval_level': 'double precision',
        'revenue_forecast': 'double precision',
        'revenue_lower': 'double precision',
        'revenue_upper': 'double precision',
        'backtest_coverage': 'double precision',
        'method': 'varchar',
        'status': 'varchar',
        'status_message': 'varchar',
        'as_of_date': 'date',
    }) %}
    select *, level as interval_level, forecast as revenue_forecast, lower as revenue_lower,
        upper as revenue_upper
    from {{ forecasts_source }}
    where series_kind = 'client'
    {% endcall %}

)

select * from forecasts
