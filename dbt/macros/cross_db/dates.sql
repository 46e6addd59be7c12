{#-
  Date and time helpers. DuckDB, PostgreSQL and Spark agree on `date_trunc` (Spark's 'week' is the
  ISO Monday too) and on `cast(... as date)`, but differ on date differences, epoch extraction,
  interval arithmetic, series and on what `date_trunc` returns, so every model goes through these
  macros. Spark's `timestamp` is the session-zone kind; the local server runs in UTC
  (devtools/sparkserver.py), so its wall-clock values are the naive UTC ones of the other two.
-#}

{#- Truncate a timestamp to `part` ('hour', 'day', 'week' = ISO Monday, 'month'); returns a timestamp. -#}
{% macro trunc_timestamp(part, expr) -%}
    {{ return(adapter.dispatch('trunc_timestamp')(part, expr)) }}
{%- endmacro %}
{% macro default__trunc_timestamp(part, expr) -%}
    cast(date_trunc('{{ part }}', cast({{ expr }} as timestamp)) as timestamp)
{%- endmacro %}

{#- Truncate to `part` and return a date (day, week start, month start). -#}
{% macro trunc_date(part, expr) -%}
    {{ return(adapter.dispatch('trunc_date')(part, expr)) }}
{%- endmacro %}
{% macro default__trunc_date(part, expr) -%}
    cast(date_trunc('{{ part }}', cast({{ expr }} as timestamp)) as date)
{%- endmacro %}

{#- Whole days from date `start_expr` to date `end_expr` (end - start). -#}
{% macro days_between(start_expr, end_expr) -%}
    {{ return(adapter.dispatch('days_between')(start_expr, end_expr)) }}
{%- endmacro %}
{% macro default__days_between(start_expr, end_expr) -%}
    date_diff('day', cast({{ start_expr }} as date), cast({{ end_expr }} as date))
{%- endmacro %}
{% macro postgres__days_between(start_expr, end_expr) -%}
    (cast({{ end_expr }} as date) - cast({{ start_expr }} as date))
{%- endmacro %}
{% macro spark__days_between(start_expr, end_expr) -%}
    datediff(cast({{ end_expr }} as date), cast({{ start_expr }} as date))
{%- endmacro %}

{#- Seconds (double precision, fractional) from timestamp `start_expr` to `end_expr`. -#}
{% macro seconds_between(start_expr, end_expr) -%}
    {{ return(adapter.dispatch('seconds_between')(start_expr, end_expr)) }}
{%- endmacro %}
{#- Exact microsecond difference, one rounding: epoch() in seconds as double loses about 1e-7 s
    at today's epoch, and the two warehouses must agree to 1e-9 relative. -#}
{% macro default__seconds_between(start_expr, end_expr) -%}
    cast((epoch_us(cast({{ end_expr }} as timestamp)) - epoch_us(cast({{ start_expr }} as timestamp))) / 1000000.0 as {{ double_type() }})
{%- endmacro %}
{% macro postgres__seconds_between(start_expr, end_expr) -%}
    cast(extract(epoch from (cast({{ end_expr }} as timestamp) - cast({{ start_expr }} as timestamp))) as {{ double_type() }})
{%- endmacro %}
{% macro spark__seconds_between(start_expr, end_expr) -%}
    cast((unix_micros(cast({{ end_expr }} as timestamp)) - unix_micros(cast({{ start_expr }} as timestamp))) / 1000000.0 as {{ double_type() }})
{%- endmacro %}

{#- Timestamp/date `expr` plus `days` days (an integer literal or expression); returns a timestamp. -#}
{% macro add_days(expr, days) -%}
    {{ return(adapter.dispatch('add_days')(expr, days)) }}
{%- endmacro %}
{% macro default__add_days(expr, days) -%}
    (cast({{ expr }} as timestamp) + cast({{ days }} as integer) * interval '1 day')
{%- endmacro %}

{% macro spark__add_days(expr, days) -%}
    timestampadd(day, cast({{ days }} as integer), cast({{ expr }} as timestamp))
{%- endmacro %}

{#- Timestamp `expr` plus `hours` hours (an integer literal or expression); returns a timestamp. -#}
{% macro add_hours(expr, hours) -%}
    {{ return(adapter.dispatch('add_hours')(expr, hours)) }}
{%- endmacro %}
{% macro default__add_hours(expr, hours) -%}
    (cast({{ expr }} as timestamp) + cast({{ hours }} as integer) * interval '1 hour')
{%- endmacro %}
{% macro spark__add_hours(expr, hours) -%}
    timestampadd(hour, cast({{ hours }} as integer), cast({{ expr }} as timestamp))
{%- endmacro %}

{#- The current time as a naive UTC timestamp (the warehouses' session time zones may differ). -#}
{% macro utc_now() -%}
    {{ return(adapter.dispatch('utc_now')()) }}
{%- endmacro %}
{% macro default__utc_now() -%}
    cast(timezone('UTC', current_timestamp) as timestamp)
{%- endmacro %}
{% macro spark__utc_now() -%}
    to_utc_timestamp(current_timestamp(), current_timezone())
{%- endmacro %}

{#- Cast a string/date expression to a naive (UTC) timestamp. -#}
{% macro to_timestamp(expr) -%}
    {{ return(adapter.dispatch('to_timestamp')(expr)) }}
{%- endmacro %}
{% macro default__to_timestamp(expr) -%}
    cast({{ expr }} as timestamp)
{%- endmacro %}
{% macro postgres__to_timestamp(expr) -%}
    cast({{ expr }} as timestamp without time zone)
{%- endmacro %}

{#-
  A one-column relation `date_day` with every date from `start_expr` to `end_expr`, both inclusive
  (times of day are dropped). DuckDB's `range` excludes its end, PostgreSQL's `generate_series`
  includes it (and DuckDB's returns a list when used in SELECT); Spark explodes a `sequence`,
  which includes its end. Use in FROM: `from {{ date_spine('a', 'b') }}`; the expressions may reference columns of a
  preceding FROM item only through LATERAL, so pass scalars (literals or scalar subqueries).
-#}
{% macro date_spine(start_expr, end_expr) -%}
    {{ return(adapter.dispatch('date_spine')(start_expr, end_expr)) }}
{%- endmacro %}
{% macro default__date_spine(start_expr, end_expr) -%}
    (
        select cast(gs.d as date) as date_day
        from range(
            cast(cast({{ start_expr }} as date) as timestamp),
            cast(cast({{ end_expr }} as date) as timestamp) + interval '1 day',
            interval '1 day'
        ) as gs(d)
    )
{%- endmacro %}
{% macro postgres__date_spine(start_expr, end_expr) -%}
    (
        select cast(gs.d as date) as date_day
        from generate_series(
            cast(cast({{ start_expr }} as date) as timestamp),
            cast(cast({{ end_expr }} as date) as timestamp),
            interval '1 day'
        ) as gs(d)
    )
{%- endmacro %}
{% macro spark__date_spine(start_expr, end_expr) -%}
    (
        select explode(sequence(
            cast({{ start_expr }} as date), cast({{ end_expr }} as date), interval 1 day
        )) as date_day
    )
{%- endmacro %}
