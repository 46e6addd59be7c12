with

source as (

    select * from {{ source('raw', 'content_generation_jobs') }}

),

renamed as (

    select
        cast(job_id as {{ string_type() }}) as job_id,
        cast(client_id as {{ string_type() }}) as client_id,
        cast(content_id as {{ string_type() }}) as content_id,
        cast(started_at as timestamp) as started_at,
        cast(finished_at as timestamp) as finished_at,
        cast(status as {{ string_type() }}) as status,
        cast(quality_score as {{ double_type() }}) as quality_score,
        cast(_loaded_at as timestamp) as _loaded_at
    from source

)

select * from renamed
