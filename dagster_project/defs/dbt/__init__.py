"""The dbt project as Dagster assets: staging, marts and reporting models."""
