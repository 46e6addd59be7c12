with

source as (

    select * from {{ source('raw', 'resource_usage') }}

),

renamed as (

    select
        cast(ts as timestamp) as minute_at,
        cast(host as varchar) as host,
        cast(cpu_pct as double precision) as cpu_pct,
        cast(memory_pct as double precision) as memory_pct,
        cast(disk_pct as double precision) as disk_pct,
        cast(queue_depth as bigint) as queue_depth,
        cast(_loaded_at as timestamp) as _loaded_at
    from source

)

select * from renamed
