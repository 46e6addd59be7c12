with

source as (

    select * from {{ source('raw', 'resource_usage') }}

),

renamed as (

    select
        cast(ts as timestamp) as minute_at,
        cast(host as {{ string_type() }}) as host,
        cast(cpu_pct as {{ double_type() }}) as cpu_pct,
        cast(memory_pct as {{ double_type() }}) as memory_pct,
        cast(disk_pct as {{ double_type() }}) as disk_pct,
        cast(queue_depth as bigint) as queue_depth,
        cast(_loaded_at as timestamp) as _loaded_at
    from source

)

select * from renamed
