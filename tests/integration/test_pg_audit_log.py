"""The audit log on PostgreSQL: what the database prevents, and what the chain detects.

Each test gets a fresh database of the session's throwaway server with the roles command
applied, and connects as the roles themselves: bi_writer (the pipeline) and the superuser.
Every bypass found in issue 11 is replayed: renaming the writer-owned schema away and recreating
it, UPDATE/DELETE by the writer, a superuser's DELETE after SET session_replication_role =
replica (now refused), and a superuser who disables the triggers (now detected).
"""

from __future__ import annotations

import hashlib
import json
import threading
import uuid
from datetime import UTC, datetime, timedelta

import dagster as dg
import psycopg
import pytest
from psycopg import errors

from dagster_project.audit import GENESIS_HASH, record_audit, verify_chain
from dagster_project.defs.audit.jobs import ALERT_SOURCE, verify_audit_log
from dagster_project.postgres.roles import apply_roles
from dagster_project.warehouse import Warehouse

pytestmark = [pytest.mark.integration, pytest.mark.postgres]

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
DIGEST = "audit.entry_digest(prev_hash, id, occurred_at, actor, action, object, before, after)"


class AuditDb:
    def __init__(self, server, name: str):
        self.server, self.name = server, name

    def connect(self, user: str = "postgres", **kwargs) -> psycopg.Connection:
        return psycopg.connect(self.server.conninfo(self.name, user=user), autocommit=True,
                               **kwargs)

    def warehouse(self, user: str = "bi_writer") -> Warehouse:
        return Warehouse(backend="postgres", postgres_dsn=self.server.conninfo(self.name, user=user))

    def append(self, n: int) -> None:
        for i in range(1, n + 1):
            with self.warehouse().session() as s:
                record_audit(s, f"user{i}", "approve_price", f"pricing_proposals/{i}",
                             {"status": "pending"}, {"price": 30 + i, "status": "approved"})

    def findings(self) -> list[tuple[int | None, str]]:
        with self.warehouse().session() as s:
            return [(r["id"], r["problem"]) for r in verify_chain(s).problems.to_dicts()]

    def as_superuser_with_triggers_off(self, *statements: str) -> None:
        """What a superuser can still do: switch the triggers off, change rows, switch back."""
        with self.connect() as con:
            con.execute("alter table audit.audit_log disable trigger user")
            for sql in statements:
                con.execute(sql)
            for trigger in ("audit_log_chain", "audit_log_append_only", "audit_log_no_truncate"):
                con.execute(f"alter table audit.audit_log enable always trigger {trigger}")


def _create_database(server) -> str:
    name = f"audit_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(server.conninfo(), autocommit=True) as con:
        con.execute(f"create database {name}")
    return name


def _drop_database(server, name: str) -> None:
    with psycopg.connect(server.conninfo(), autocommit=True) as con:
        con.execute(f"drop database if exists {name} with (force)")


@pytest.fixture
def db(pg_server):
    name = _create_database(pg_server)
    apply_roles(pg_server.conninfo(name))
    yield AuditDb(pg_server, name)
    _drop_database(pg_server, name)


def _fails(con: psycopg.Connection, sql: str, error=errors.InsufficientPrivilege) -> str:
    with pytest.raises(error) as info:
        con.execute(sql)
    return str(info.value)


# --- where the log lives ----------------------------------------------------------------------


def test_the_log_lives_in_a_schema_owned_by_the_nologin_audit_owner(db):
    with db.connect() as con:
        owners = con.execute(
            "select pg_get_userbyid(n.nspowner), pg_get_userbyid(c.relowner)"
            " from pg_class c join pg_namespace n on n.oid = c.relnamespace"
            " where c.oid = 'audit.audit_log'::regclass").fetchone()
        login = con.execute("select rolcanlogin from pg_roles where rolname = 'bi_audit_owner'"
                            ).fetchone()
        assert con.execute("select to_regclass('ops.audit_log')").fetchone() == (None,)
    assert owners == ("bi_audit_owner", "bi_audit_owner")
    assert login == (False,)


def test_record_audit_appends_and_the_database_chains_each_entry_with_sha256(db):
    db.append(2)
    with db.connect("bi_writer") as con:
        rows = con.execute("select id, occurred_at, actor, action, object, before, after,"
                           " prev_hash, entry_hash from audit.audit_log order by id").fetchall()
    assert [r[:7] for r in rows] == [
        (i, rows[i - 1][1], f"user{i}", "approve_price", f"pricing_proposals/{i}",
         {"status": "pending"}, {"price": 30 + i, "status": "approved"}) for i in (1, 2)]
    # recomputed with hashlib from the documented form: the jsonb text of [prev_hash, id,
    # epoch microseconds, actor, action, object, before, after] (", " and ": " separators)
    previous = GENESIS_HASH
    for entry_id, occurred_at, actor, action, obj, before, after, prev_hash, entry_hash in rows:
        micros = (occurred_at - EPOCH) // timedelta(microseconds=1)
        text = json.dumps([previous, entry_id, micros, actor, action, obj, before, after])
        assert prev_hash == previous
        assert entry_hash == hashlib.sha256(text.encode()).hexdigest()
        previous = entry_hash


def test_an_insert_cannot_choose_its_id_time_or_hashes(db):
    db.append(1)
    with db.connect("bi_writer") as con:
        row = con.execute(
            "insert into audit.audit_log (id, occurred_at, actor, action, object, prev_hash,"
            " entry_hash) values (99, '2000-01-01', 'w', 'x', 'y', 'forged', 'forged')"
            " returning id, occurred_at > now() - interval '1 hour', prev_hash <> 'forged'"
        ).fetchone()
    assert row == (2, True, True)
    assert db.findings() == []


def test_an_append_outside_read_committed_is_refused(db):
    # a REPEATABLE READ snapshot could miss the entry committed while it waited for the lock
    with db.connect("bi_writer") as con, con.transaction():
        con.execute("set transaction isolation level repeatable read")
        _fails(con, "insert into audit.audit_log (actor, action, object) values ('w', 'x', 'y')",
               errors.InvalidTransactionState)


# --- concurrent writers -----------------------------------------------------------------------


def test_a_second_writer_waits_for_the_first_and_chains_onto_its_entry(db):
    first_appended, release, second_done = threading.Event(), threading.Event(), threading.Event()

    def first():
        with db.warehouse().session() as s:
            record_audit(s, "first", "create", "x/1")
            first_appended.set()
            release.wait(30)  # still uncommitted, holding the log's lock

    def second():
        with db.warehouse().session() as s:
            record_audit(s, "second", "create", "x/2")
        second_done.set()

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    threads[0].start()
    assert first_appended.wait(30)
    threads[1].start()
    assert not second_done.wait(1.0), "the second append did not wait for the first"
    release.set()
    for t in threads:
        t.join(30)
    assert second_done.is_set()
    with db.connect() as con:
        rows = con.execute("select id, actor, prev_hash, entry_hash from audit.audit_log"
                           " order by id").fetchall()
    assert [(r[0], r[1]) for r in rows] == [(1, "first"), (2, "second")]
    assert rows[1][2] == rows[0][3]
    assert db.findings() == []


def test_many_concurrent_writers_leave_one_unbroken_chain(db):
    def writer(w: int) -> None:
        for i in range(10):
            with db.warehouse().session() as s:
                record_audit(s, f"writer{w}", "create", f"x/{w}/{i}")

    threads = [threading.Thread(target=writer, args=(w,)) for w in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    with db.connect() as con:
        ids = [r[0] for r in con.execute("select id from audit.audit_log order by id")]
        distinct_prev = con.execute("select count(distinct prev_hash) from audit.audit_log"
                                    ).fetchone()[0]
    assert ids == list(range(1, 41))
    assert distinct_prev == 40  # a fork would give two entries the same predecessor
    assert db.findings() == []


# --- what the writer cannot do ----------------------------------------------------------------


@pytest.mark.parametrize(
    "sql",
    ["update audit.audit_log set actor = 'mallory'", "delete from audit.audit_log",
     "truncate audit.audit_log",
     "alter table audit.audit_log disable trigger audit_log_append_only",
     "alter schema audit rename to audit_moved", "drop schema audit cascade",
     "create table audit.lookalike (x int)", "drop table audit.audit_log",
     "drop trigger audit_log_append_only on audit.audit_log",
     "drop function bi_audit.audit_log_refuse_change() cascade", "drop schema bi_audit cascade"],
)
def test_writer_cannot_change_move_or_drop_the_log(db, sql):
    db.append(1)
    with db.connect("bi_writer") as con:
        _fails(con, sql)
    assert db.findings() == []


def test_renaming_ops_away_and_recreating_it_no_longer_reaches_the_log(db):
    # the bypass: bi_writer owns ops, so this still succeeds, but the log is not in ops
    with db.connect("bi_writer") as con:
        con.execute("alter schema ops rename to ops_moved")
        con.execute("create schema ops")
    with db.warehouse().session() as s:
        record_audit(s, "alice", "create", "x/1")
    with db.connect("bi_writer") as con:
        assert con.execute("select to_regclass('ops.audit_log')").fetchone() == (None,)
        assert con.execute("select actor from audit.audit_log").fetchall() == [("alice",)]
        _fails(con, "delete from audit.audit_log")


# --- what a superuser cannot do, and what is detected -----------------------------------------


@pytest.mark.parametrize(
    "sql",
    ["update audit.audit_log set actor = 'mallory'", "delete from audit.audit_log",
     "truncate audit.audit_log", "drop table audit.audit_log", "drop schema audit cascade",
     "drop function bi_audit.audit_log_chain() cascade",
     "drop function audit.entry_digest(text, bigint, timestamptz, text, text, text, jsonb, jsonb)"],
)
def test_a_superuser_is_refused_even_as_a_replica(db, sql):
    db.append(2)
    with db.connect() as con:
        con.execute("set session_replication_role = replica")  # skips ordinary triggers
        assert "append-only" in _fails(con, sql)
    assert db.findings() == []


@pytest.mark.parametrize(
    ("tampering", "expected"),
    [
        pytest.param(["update audit.audit_log set after = '{}' where id = 2"],
                     [(2, "entry_changed")], id="edited"),
        pytest.param(["delete from audit.audit_log where id = 2"], [(3, "link_broken")],
                     id="deleted"),
        # room made after entry 1 and a forged entry 2 chained correctly onto it: the old
        # entry 2 (now 3) does not link to it, and 3 and 4 no longer match their hashes
        pytest.param(["update audit.audit_log set id = id + 100 where id >= 2",
                      "update audit.audit_log set id = id - 99 where id > 100",
                      ("insert into audit.audit_log select 2, occurred_at, 'mallory', 'approve',"
                       " 'x/9', null, null, entry_hash, '' from audit.audit_log where id = 1"),
                      f"update audit.audit_log set entry_hash = {DIGEST} where id = 2"],
                     [(3, "entry_changed"), (3, "link_broken"), (4, "entry_changed")],
                     id="inserted"),
    ],
)
def test_a_superuser_who_switches_the_triggers_off_is_detected(db, tampering, expected):
    db.append(3)
    db.as_superuser_with_triggers_off(*tampering)
    assert db.findings() == expected


def test_switched_off_triggers_are_reported_even_before_any_row_changes(db):
    db.append(1)
    with db.connect() as con:
        con.execute("alter table audit.audit_log disable trigger audit_log_append_only")
    assert db.findings() == [(None, "unprotected")]


def test_the_job_alerts_on_tampering_from_an_anchor_kept_outside_the_warehouse(db):
    db.append(3)
    instance = dg.DagsterInstance.ephemeral()

    def run() -> bool:
        return verify_audit_log.execute_in_process(
            instance=instance, resources={"warehouse": db.warehouse()},
            raise_on_error=False).success

    assert run()
    # a superuser deletes the newest entry: the chain in the warehouse is consistent, the
    # head recorded in the Dagster instance is gone
    db.as_superuser_with_triggers_off("delete from audit.audit_log where id = 3")
    assert db.findings() == []
    assert not run()
    with db.connect("bi_writer") as con:
        events = con.execute("select source, severity, entity, title from analytics.alert_events"
                             ).fetchall()
    assert [e[:3] for e in events] == [(ALERT_SOURCE, "critical", "audit.audit_log")]
    assert "anchor_missing" in events[0][3]


# --- a database set up before issue 11 --------------------------------------------------------


def test_the_roles_command_moves_an_older_log_with_its_entries_and_chains_them(pg_server):
    name = _create_database(pg_server)
    try:
        with psycopg.connect(pg_server.conninfo(name), autocommit=True) as con:
            con.execute("create schema ops")
            con.execute("create table ops.audit_log (id bigint generated always as identity"
                        " primary key, occurred_at timestamptz not null default now(),"
                        " actor text not null, action text not null, object text not null,"
                        " before jsonb, after jsonb)")
            for actor in ("alice", "bob", "carol"):
                con.execute("insert into ops.audit_log (actor, action, object, after)"
                            " values (%s, 'approve', 'p/1', '{\"ok\": true}')", [actor])
            con.execute("delete from ops.audit_log where actor = 'bob'")  # ids 1 and 3 remain
        apply_roles(pg_server.conninfo(name))
        apply_roles(pg_server.conninfo(name))  # idempotent: the chain is filled once
        db = AuditDb(pg_server, name)
        assert db.findings() == []
        db.append(1)
        with db.connect() as con:
            rows = con.execute("select id, actor from audit.audit_log order by id").fetchall()
            assert con.execute("select to_regclass('ops.audit_log')").fetchone() == (None,)
        assert rows == [(1, "alice"), (3, "carol"), (4, "user1")]
        assert db.findings() == []
    finally:
        _drop_database(pg_server, name)
