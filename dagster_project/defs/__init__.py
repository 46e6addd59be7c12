"""Dagster definitions, one folder per business domain; loaded by ``load_from_defs_folder``."""
