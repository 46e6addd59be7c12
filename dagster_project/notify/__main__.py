"""``python -m dagster_project.notify deliver``: one delivery pass outside Dagster (the warehouse
from the settings, the applied rules), printing what was sent, retried and dead-lettered."""

from __future__ import annotations

import argparse

from dagster_project.notify.deliver import deliver_due
from dagster_project.notify.store import applied_rules
from dagster_project.settings import get_settings
from dagster_project.warehouse import Warehouse


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m dagster_project.notify")
    parser.add_argument("command", choices=["deliver"])
    parser.add_argument("--max-seconds", type=float, default=300.0)
    args = parser.parse_args(argv)
    settings = get_settings()
    warehouse = Warehouse(backend=settings.warehouse_backend,
                          duckdb_path=str(settings.duckdb_path),
                          postgres_dsn=settings.postgres_dsn)
    with warehouse.session() as s:
        rules = applied_rules(s)
    if rules is None:
        raise SystemExit("no alert rules applied yet: run the apply_alert_rules job")
    print(deliver_due(warehouse.session, rules, args.max_seconds), flush=True)


if __name__ == "__main__":
    main()
