{#-
  Incremental marts (materialized='incremental', incremental_strategy='delete+insert',
  unique_key = the mart's scope: an hour, a day, a post, a customer). An incremental build
  recomputes every scope that a raw row loaded since the last build belongs to, from ALL of that
  scope's rows, and replaces it; the other scopes stay as they are. A late row (an old day's event
  delivered today) therefore lands exactly where a full refresh would put it, and a rerun on
  unchanged data changes nothing. Raw tables are append-only (rows are never updated in place), so
  no scope loses rows between builds; `dbt build --full-refresh` (DbtBuildConfig.full_refresh)
  rebuilds everything.

  "Loaded since the last build": the staging rows' `_loaded_at` is compared with the newest
  `_loaded_at` of that source the mart already summarises, a lineage column of the mart (one per
  source for marts with several). The watermark is what the mart saw, not the clock, so an ingest
  that commits while a build runs is picked up by the next build.
-#}

{#- The distinct `scope` values of `relation`'s rows loaded after this model's `watermark` column. -#}
{% macro loaded_since_last_build(relation, scope, watermark='loaded_at') -%}
    select distinct {{ scope }}
    from {{ relation }}
    where _loaded_at > (
        select coalesce(max({{ watermark }}), {{ to_timestamp("'1900-01-01'") }}) from {{ this }}
    )
{%- endmacro %}
