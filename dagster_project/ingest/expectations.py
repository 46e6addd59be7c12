"""Great Expectations suites derived from the landing contract, and a validator for polars frames.

The suite of a raw table holds, from ``raw_tables.yml``: every contract column exists; required
columns are never null; the key is unique (``expect_column_values_to_be_unique`` for a single
column, ``expect_compound_columns_to_be_unique`` for a compound key) -- these carry
``meta={"key_constraint": True}``; allowed value sets; inclusive min/max bounds.
Great Expectations is imported lazily: it costs seconds, and definitions must load fast.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from dagster_project.contract import TableContract


@dataclass(frozen=True)
class ExpectationOutcome:
    expectation: str  # e.g. expect_column_values_to_be_unique
    columns: tuple[str, ...]
    success: bool
    key_constraint: bool
    unexpected_count: int | None
    sample: tuple[str, ...]  # a few unexpected values, as text


@dataclass(frozen=True)
class SuiteResult:
    suite: str
    success: bool
    outcomes: tuple[ExpectationOutcome, ...]

    @property
    def keys_ok(self) -> bool:
        return all(o.success for o in self.outcomes if o.key_constraint)

    @property
    def others_ok(self) -> bool:
        return all(o.success for o in self.outcomes if not o.key_constraint)


def build_suite(contract: TableContract):
    """The ``gx.ExpectationSuite`` named ``raw.<table>`` for one contract table."""
    import great_expectations as gx
    import great_expectations.expectations as gxe

    key_meta = {"key_constraint": True}
    exps: list = [gxe.ExpectColumnToExist(column=c) for c in contract.column_names]
    if len(contract.key) == 1:
        exps.append(gxe.ExpectColumnValuesToBeUnique(column=contract.key[0], meta=key_meta))
    else:
        exps.append(
            gxe.ExpectCompoundColumnsToBeUnique(column_list=list(contract.key), meta=key_meta)
        )
    exps += [
        gxe.ExpectColumnValuesToNotBeNull(column=c, meta=key_meta if c in contract.key else {})
        for c in contract.required_columns
    ]
    for c in contract.columns:
        if c.allowed:
            exps.append(gxe.ExpectColumnValuesToBeInSet(column=c.name, value_set=list(c.allowed)))
        if c.min is not None or c.max is not None:
            exps.append(
                gxe.ExpectColumnValuesToBeBetween(column=c.name, min_value=c.min, max_value=c.max)
            )
    return gx.ExpectationSuite(name=f"raw.{contract.name}", expectations=exps)


def _context():
    import great_expectations as gx
    from great_expectations.data_context.types.base import (
        DataContextConfig,
        InMemoryStoreBackendDefaults,
        ProgressBarsConfig,
    )

    config = DataContextConfig(
        store_backend_defaults=InMemoryStoreBackendDefaults(),
        analytics_enabled=False,
        progress_bars=ProgressBarsConfig(globally=False),
    )
    return gx.get_context(mode="ephemeral", project_config=config)


def validate_frame(df: pl.DataFrame, contract: TableContract) -> SuiteResult:
    """Run the table's suite over ``df`` (converted to pandas) in an ephemeral GX context."""
    suite = build_suite(contract)
    context = _context()
    batch_definition = (
        context.data_sources.add_pandas("landing")
        .add_dataframe_asset(contract.name)
        .add_batch_definition_whole_dataframe("whole_frame")
    )
    batch = batch_definition.get_batch(batch_parameters={"dataframe": df.to_pandas()})
    result = batch.validate(suite, result_format="SUMMARY")
    outcomes = []
    for r in result.results:
        cfg = r.expectation_config
        columns = cfg.kwargs.get("column_list") or [cfg.kwargs.get("column")]
        details = r.result or {}
        outcomes.append(
            ExpectationOutcome(
                expectation=cfg.type,
                columns=tuple(columns),
                success=bool(r.success),
                key_constraint=bool((cfg.meta or {}).get("key_constraint")),
                unexpected_count=details.get("unexpected_count"),
                sample=tuple(str(v) for v in (details.get("partial_unexpected_list") or [])[:5]),
            )
        )
    return SuiteResult(suite.name, bool(result.success), tuple(outcomes))


def combine(results: list[SuiteResult]) -> SuiteResult:
    """One suite's results over consecutive chunks of a batch as one result: an expectation
    succeeds when it succeeds on every chunk; unexpected counts add up; the sample comes from
    the first chunks that failed. (Uniqueness is judged within each chunk: the exact key check
    over the whole table is ``batch_checks.check_keys``.)"""
    first = results[0]
    outcomes = []
    for i, o in enumerate(first.outcomes):
        parts = [r.outcomes[i] for r in results]
        counts = [p.unexpected_count for p in parts if p.unexpected_count is not None]
        outcomes.append(ExpectationOutcome(
            o.expectation, o.columns, all(p.success for p in parts), o.key_constraint,
            sum(counts) if counts else None,
            tuple(v for p in parts if not p.success for v in p.sample)[:5]))
    return SuiteResult(first.suite, all(r.success for r in results), tuple(outcomes))
