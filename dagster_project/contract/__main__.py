"""``python -m dagster_project.contract``: regenerate dbt/models/staging/_sources.yml."""

from dagster_project.contract.dbt_sources import write_sources_yml

if __name__ == "__main__":
    print(f"wrote {write_sources_yml()}")
