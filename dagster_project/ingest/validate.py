"""Validate a batch of landing rows against the contract; split valid rows from quarantine rows.

Rules, in precedence order (a row is quarantined once; ``rule``/``column_name``/``value`` name
the first violation, ``violations`` lists every one as ``rule(column)``):

1. ``type``           a value that is not missing and does not convert to the contract type
                      (NaN/inf, a fraction in an integer column, text with a NUL, ...; see
                      ``ingest.coerce``; blank text counts as missing)
2. ``not_null``       missing (null or blank) in a required column (non-nullable or key)
3. ``min`` / ``max``  numeric value outside the contract's inclusive bounds
4. ``allowed_values`` value outside the contract's closed list
5. ``time_range``     timestamp/date before ``EARLIEST_VALID_TIME``; after the load time in the
                      table's ``checked_times`` (what already happened), at or after
                      ``LATEST_PLANNED_TIME`` in the other temporal columns (planned times)
6. ``duplicate_key``  judged only among rows passing 1-5: a key already in ``raw`` (every such
                      row), or repeated in the batch (the first occurrence in file-path then row
                      order is loaded, later ones quarantined). Keys are compared after trimming.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

import polars as pl

from dagster_project.contract import EARLIEST_VALID_TIME, LATEST_PLANNED_TIME, TableContract
from dagster_project.ingest.coerce import is_missing, to_contract_type
from dagster_project.ingest.quarantine import QUARANTINE_SCHEMA, quarantine_rows
from dagster_project.ingest.read import SOURCE_FILE, SOURCE_ROW

RULES = ("type", "not_null", "min", "max", "allowed_values", "time_range", "duplicate_key")
KeyLookup = Callable[[pl.DataFrame], pl.DataFrame]
"""Given distinct candidate keys (contract dtypes), return those already present in raw."""


@dataclass(frozen=True)
class Validated:
    valid: pl.DataFrame  # contract columns in contract dtypes + _source_file, _source_row
    quarantine: pl.DataFrame  # QUARANTINE_SCHEMA, one row per quarantined input row


def _typed(frame: pl.DataFrame, contract: TableContract) -> pl.DataFrame:
    """Contract columns cast to contract types plus a ``__type__<col>`` failure flag each."""
    casts = [to_contract_type(c.name, frame.schema[c.name], c) for c in contract.columns]
    flags = [
        (~is_missing(c.name, frame.schema[c.name]) & cast.is_null()).alias(f"__type__{c.name}")
        for c, cast in zip(contract.columns, casts)
    ]
    return frame.select(*casts, *flags, pl.col(SOURCE_FILE), pl.col(SOURCE_ROW))


def _checks(contract: TableContract, now: datetime) -> list[tuple[str, str, pl.Expr]]:
    earliest = datetime.fromisoformat(EARLIEST_VALID_TIME)
    planned = datetime.fromisoformat(LATEST_PLANNED_TIME)
    out = [("type", c.name, pl.col(f"__type__{c.name}")) for c in contract.columns]
    out += [
        ("not_null", c, pl.col(c).is_null() & ~pl.col(f"__type__{c}"))
        for c in contract.required_columns
    ]
    out += [("min", c.name, pl.col(c.name) < c.min) for c in contract.columns if c.min is not None]
    out += [("max", c.name, pl.col(c.name) > c.max) for c in contract.columns if c.max is not None]
    out += [
        ("allowed_values", c.name, ~pl.col(c.name).is_in(list(c.allowed)))
        for c in contract.columns
        if c.allowed
    ]
    for c in contract.columns:
        if c.is_temporal:
            lo = earliest.date() if c.type == "date" else earliest
            col = pl.col(c.name)
            if c.name in contract.checked_times:
                late = col > pl.lit(now.date() if c.type == "date" else now)
            else:
                late = col >= pl.lit(planned.date() if c.type == "date" else planned)
            out.append(("time_range", c.name, (col < pl.lit(lo)) | late))
    return [(rule, col, flag.fill_null(False)) for rule, col, flag in out]


def _mark_duplicates(
    batch: pl.DataFrame, contract: TableContract, existing_keys: KeyLookup | None
) -> pl.DataFrame:
    """Add ``__dup_batch`` (a repeat of an earlier valid row's key) and ``__dup_raw``."""
    key = list(contract.key)
    ok_keys = batch.filter("__ok").select(key)
    # a repeat needs a repeated hash (cheap); only then compare the keys themselves
    repeated = (ok_keys.select(pl.struct(key).hash()).to_series().is_duplicated().any()
                and ok_keys.is_duplicated().any())
    # rare: only then rank the rows within each key (a window over the whole batch)
    repeat = pl.int_range(pl.len()).over([*key, "__ok"]) > 0 if repeated else pl.lit(False)
    batch = batch.with_columns(__dup_batch=pl.col("__ok") & repeat)
    in_raw = pl.lit(False)
    if existing_keys is not None and ok_keys.height:
        found = (
            existing_keys(ok_keys.unique() if repeated else ok_keys)
            .select(key)
            .cast({k: contract.column(k).polars_type for k in key})
        )
        if found.height:  # usually none: skip joining the batch back
            batch = batch.join(
                found.unique().with_columns(__in_raw=pl.lit(True)),
                on=key,
                how="left",
                maintain_order="left",
            )
            in_raw = pl.col("__in_raw").fill_null(False)
    return batch.with_columns(__dup_raw=pl.col("__ok") & in_raw)


def validate_batch(
    frames: Sequence[pl.DataFrame],
    contract: TableContract,
    now: datetime,
    existing_keys: KeyLookup | None = None,
) -> Validated:
    """Check every row of ``frames`` (as returned by ``read_file`` plus ``_source_file``).

    Vectorized over the whole batch: one cast per physical schema, then one pass of polars
    expressions over the concatenated typed rows. ``now`` is the load time (naive UTC).
    """
    if not frames:
        return Validated(
            contract.empty_frame().with_columns(
                pl.lit(None, pl.String).alias(SOURCE_FILE), pl.lit(None, pl.Int64).alias(SOURCE_ROW)
            ),
            pl.DataFrame(schema=QUARANTINE_SCHEMA),
        )
    # one cast per physical schema (usually one for the whole batch: per-file casts cost more
    # than the rules), then back to file-path and row order, which decides repeated keys
    by_schema: dict[tuple, list[pl.DataFrame]] = {}
    for f in frames:
        by_schema.setdefault(tuple(f.schema.items()), []).append(f)
    batch = pl.concat([_typed(pl.concat(group, rechunk=False), contract)
                       for group in by_schema.values()], how="vertical")
    if len(by_schema) > 1:
        batch = batch.sort(SOURCE_FILE, SOURCE_ROW, maintain_order=True)
    checks = _checks(contract, now)
    flags = [flag.alias(f"__f{i}") for i, (_, _, flag) in enumerate(checks)]
    batch = batch.with_columns(flags).with_columns(
        __ok=~pl.any_horizontal([f"__f{i}" for i in range(len(checks))])
    )
    batch = _mark_duplicates(batch, contract, existing_keys)
    key = list(contract.key)
    dup = pl.col("__dup_batch") | pl.col("__dup_raw")
    key_label = ",".join(key)

    rule = pl.when(dup).then(pl.lit("duplicate_key"))
    column = pl.when(dup).then(pl.lit(key_label))
    for i, (r, c, _) in enumerate(checks):
        rule = rule.when(pl.col(f"__f{i}")).then(pl.lit(r))
        column = column.when(pl.col(f"__f{i}")).then(pl.lit(c))
    violations = pl.concat_str(
        [pl.when(pl.col(f"__f{i}")).then(pl.lit(f"{r}({c})")) for i, (r, c, _) in enumerate(checks)]
        + [
            pl.when("__dup_raw").then(pl.lit(f"duplicate_key({key_label}): already in raw")),
            pl.when("__dup_batch").then(pl.lit(f"duplicate_key({key_label}): repeated in batch")),
        ],
        separator="; ",
        ignore_nulls=True,
    )
    good = pl.col("__ok") & ~dup
    valid = batch.filter(good).select(*contract.column_names, SOURCE_FILE, SOURCE_ROW)
    bad = batch.filter(~good).select(
        SOURCE_FILE,
        SOURCE_ROW,
        rule.alias("__rule"),
        column.alias("__column"),
        violations.alias("violations"),
    )
    quarantine = quarantine_rows(bad, frames, contract, now)
    return Validated(valid, quarantine)
