"""Verifying the audit log's hash chain.

Each entry carries ``entry_hash = SHA-256(JSON array [prev_hash, id, occurred_at as epoch
microseconds, actor, action, object, before, after])`` (hex; the warehouse's ``audit.entry_digest``)
and ``prev_hash`` = the previous entry's ``entry_hash`` (``GENESIS_HASH`` for entry 1), the
construction of a hash-chained, tamper-evident log (Haber & Stornetta, "How to time-stamp a
digital document", J. Cryptology 3, 1991; Schneier & Kelsey, "Secure audit logs to support
computer forensics", ACM TISSEC 2, 1999). Given SHA-256's collision resistance:

- an entry edited in place no longer matches its hash (``entry_changed``);
- an entry deleted or inserted, or edited with its hash recomputed, leaves the next entry's
  ``prev_hash`` pointing at something else (``link_broken``);
- a rewrite that recomputes every later hash as well is consistent in itself; it is caught by
  the *anchor*, the head (id, hash) that the previous verification recorded outside the
  warehouse: the entry with that id must still have that hash (``anchor_changed``, or
  ``anchor_missing`` when it is gone, e.g. the newest entries were deleted).

What no chain can show: entries appended after the last anchor and then deleted or rewritten
together with everything after them. On PostgreSQL the log's protections are checked too
(``unprotected``: an owner changed, a trigger dropped or disabled).

Every entry is checked in one SQL statement (a window over the entries ordered by id).
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from dagster_project.audit.log import AUDIT_LOG, GENESIS_HASH, protection_faults
from dagster_project.warehouse import WarehouseSession

PROBLEMS = {
    "log_missing": "the audit log does not exist (PostgreSQL: run the roles command)",
    "unprotected": "the log's protection is not in place",
    "entry_changed": "entry_hash is not the digest of the entry's content and prev_hash: "
                     "the entry or its hash was edited",
    "link_broken": "prev_hash is not the previous entry's entry_hash: an entry before it was "
                   "deleted or inserted, or rewritten with a recomputed hash",
    "anchor_missing": "the entry recorded as head by the last verification is gone",
    "anchor_changed": "the entry recorded as head by the last verification has another hash: "
                      "the history up to it was rewritten",
}
PROBLEM_SCHEMA = {"id": pl.Int64, "problem": pl.String, "detail": pl.String}

_ENTRY_PROBLEMS = f"""
with entries as (
    select id,
           entry_hash is distinct from audit.entry_digest(
               prev_hash, id, occurred_at, actor, action, object, before, after) as changed,
           prev_hash is distinct from coalesce(lag(entry_hash) over (order by id), ?) as unlinked
    from {AUDIT_LOG}
)
select id, 'entry_changed' as problem from entries where changed
union all
select id, 'link_broken' as problem from entries where unlinked
"""


@dataclass(frozen=True)
class Anchor:
    """The head of the chain as a verification found it: the newest entry's id and hash."""

    id: int
    entry_hash: str


@dataclass(frozen=True)
class ChainReport:
    """``entries``: rows in the log; ``head``: the newest entry (None when empty or missing);
    ``problems``: one row per finding (``id`` null when it concerns the whole log), ``problem``
    a key of ``PROBLEMS``, ``detail`` its explanation."""

    entries: int
    head: Anchor | None
    problems: pl.DataFrame

    @property
    def intact(self) -> bool:
        return self.problems.is_empty()


def _problems(rows: list[tuple[int | None, str, str]]) -> pl.DataFrame:
    return pl.DataFrame(rows, schema=PROBLEM_SCHEMA, orient="row").sort("id", "problem")


def verify_chain(session: WarehouseSession, anchor: Anchor | None = None) -> ChainReport:
    """Check every entry's hash and link, the ``anchor`` of the last verification (if any) and,
    on PostgreSQL, the log's protections. An empty DuckDB log is intact when no anchor says it
    had entries; on PostgreSQL the log must exist (the roles command creates it)."""
    found: list[tuple[int | None, str, str]] = []
    if session.dialect == "postgres":
        faults = protection_faults(session)
        if faults == [f"{AUDIT_LOG} does not exist"]:
            found.append((None, "log_missing", PROBLEMS["log_missing"]))
        elif faults:
            found.append((None, "unprotected", "; ".join(faults)))
    if not session.table_exists(AUDIT_LOG):
        if anchor is not None:
            found.append((anchor.id, "anchor_missing", PROBLEMS["anchor_missing"]))
        return ChainReport(0, None, _problems(found))

    for entry_id, problem in session.read(_ENTRY_PROBLEMS, [GENESIS_HASH]).rows():
        found.append((entry_id, problem, PROBLEMS[problem]))
    if anchor is not None:
        stored = session.read(f"select entry_hash from {AUDIT_LOG} where id = ?", [anchor.id])
        if stored.is_empty():
            found.append((anchor.id, "anchor_missing", PROBLEMS["anchor_missing"]))
        elif stored.item() != anchor.entry_hash:
            found.append((anchor.id, "anchor_changed", PROBLEMS["anchor_changed"]))
    entries = session.scalar(f"select count(*) from {AUDIT_LOG}")
    newest = session.read(f"select id, entry_hash from {AUDIT_LOG} order by id desc limit 1")
    head = Anchor(*newest.row(0)) if newest.height else None
    return ChainReport(int(entries), head, _problems(found))
