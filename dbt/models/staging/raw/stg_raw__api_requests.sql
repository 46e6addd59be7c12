with

source as (

    select * from {{ source('raw', 'api_requests') }}

),

renamed as (

    select
        cast(ts as timestamp) as minute_at,
        cast(service as {{ string_type() }}) as service,
        cast(endpoint as {{ string_type() }}) as endpoint,
        cast(requests as bigint) as requests,
        cast(errors as bigint) as errors,
        cast(latency_p50_ms as {{ double_type() }}) as latency_p50_ms,
        cast(latency_p95_ms as {{ double_type() }}) as latency_p95_ms,
        cast(latency_p99_ms as {{ double_type() }}) as latency_p99_ms,
        cast(_loaded_at as timestamp) as _loaded_at
    from source

)

select * from renamed
