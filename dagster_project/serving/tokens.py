"""Bearer tokens of the serving API, stored hashed in ``ops.api_tokens``; and their CLI.

A token reads ``bi_<token_id>.<secret>``: ``token_id`` (12 hex characters) is the public
part used to find the row, ``secret`` is ``secrets.token_urlsafe(32)`` (32 random bytes), of
which only the SHA-256 is stored and compared in constant time (``hmac.compare_digest``).
A fast hash is enough for 256-bit random secrets (no dictionary to try); argon2 protects
low-entropy passwords, which these are not. Each token is scoped to one client (``role``
``client`` with a ``client_id``) or to ``admin``, expires at ``expires_at`` and can be revoked;
issuing and revoking are audited (``audit.audit_log``) and bump ``ops/api_tokens`` in
``ops.serving_versions``, so running services reload the table within one poll interval.

CLI::

    python -m dagster_project.serving.tokens issue --name dash-c1 --client c_0001 --days 90 --actor alice
    python -m dagster_project.serving.tokens issue --name ops-admin --admin --days 30 --actor alice
    python -m dagster_project.serving.tokens revoke <token_id> --actor alice
    python -m dagster_project.serving.tokens list
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import hmac
import secrets
import sys
from dataclasses import dataclass

import polars as pl

from dagster_project.audit import record_audit
from dagster_project.serving.versions import TOKENS_VERSION, bump_versions
from dagster_project.warehouse import Warehouse, WarehouseSession

TOKENS = "ops.api_tokens"
COLUMNS = [("token_id", "varchar"), ("secret_sha256", "varchar"), ("name", "varchar"),
           ("role", "varchar"), ("client_id", "varchar"), ("created_at", "timestamp"),
           ("created_by", "varchar"), ("expires_at", "timestamp"), ("revoked_at", "timestamp")]
ROLES = ("client", "admin")
PREFIX = "bi_"


@dataclass(frozen=True)
class Principal:
    """Who a valid token speaks for."""

    token_id: str
    name: str
    role: str  # client | admin
    client_id: str | None  # None for admin
    expires_at: dt.datetime

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def split_token(token: str) -> tuple[str, str] | None:
    """(token_id, secret) of a well-formed token, else None."""
    if not token.startswith(PREFIX) or "." not in token:
        return None
    token_id, secret = token[len(PREFIX):].split(".", 1)
    return (token_id, secret) if token_id and secret else None


def verify(row: dict, secret: str, now: dt.datetime) -> str | None:
    """Why the row does not admit ``secret`` at ``now`` (None: it does)."""
    if not hmac.compare_digest(digest(secret), row["secret_sha256"]):
        return "invalid token"
    if row["revoked_at"] is not None:
        return "token revoked"
    if row["expires_at"] <= now:
        return "token expired"
    return None


def ensure_table(s: WarehouseSession) -> None:
    s.create_table(TOKENS, COLUMNS)


def issue(warehouse: Warehouse, name: str, role: str, client_id: str | None, days: float,
          actor: str) -> tuple[str, dict]:
    """A new token (returned once, in clear) and its stored row (without the hash)."""
    if role not in ROLES:
        raise ValueError(f"role must be one of {ROLES}, got {role!r}")
    if (role == "client") != bool(client_id):
        raise ValueError("client_id is required for a client token and refused for admin")
    if days <= 0:
        raise ValueError(f"days must be > 0, got {days}")
    if not name.strip() or not actor.strip():
        raise ValueError("name and actor must not be empty")
    token_id, secret = secrets.token_hex(6), secrets.token_urlsafe(32)
    with warehouse.session() as s:
        ensure_table(s)
        now = s.clock()
        row = {"token_id": token_id, "secret_sha256": digest(secret), "name": name.strip(),
               "role": role, "client_id": client_id, "created_at": now,
               "created_by": actor, "expires_at": now + dt.timedelta(days=days),
               "revoked_at": None}
        s.write(TOKENS, pl.DataFrame([row], schema=_schema()), mode="append")
        public = {k: v for k, v in row.items() if k != "secret_sha256"}
        record_audit(s, actor, "api_token.issue", f"api_tokens/{token_id}", None, public)
        bump_versions(s, [TOKENS_VERSION])
    return f"{PREFIX}{token_id}.{secret}", public


def revoke(warehouse: Warehouse, token_id: str, actor: str) -> dict:
    """Revoke a token (ValueError when unknown or revoked already); the row after."""
    with warehouse.session() as s:
        ensure_table(s)
        found = s.read(f"select * from {TOKENS} where token_id = ?", [token_id])
        if found.is_empty():
            raise ValueError(f"no token {token_id!r} in {TOKENS}")
        before = found.drop("secret_sha256").row(0, named=True)
        if before["revoked_at"] is not None:
            raise ValueError(f"token {token_id!r} was revoked at {before['revoked_at']}")
        s.execute(f"update {TOKENS} set revoked_at = ? where token_id = ?", [s.clock(), token_id])
        after = s.read(f"select * from {TOKENS} where token_id = ?", [token_id]
                       ).drop("secret_sha256").row(0, named=True)
        record_audit(s, actor, "api_token.revoke", f"api_tokens/{token_id}", before, after)
        bump_versions(s, [TOKENS_VERSION])
    return after


def load_tokens(s: WarehouseSession) -> dict[str, dict]:
    """Every stored token row by token_id ({} before the first token)."""
    if not s.table_exists(TOKENS):
        return {}
    return {r["token_id"]: r for r in s.read(f"select * from {TOKENS}").iter_rows(named=True)}


def _schema() -> dict[str, pl.DataType]:
    types = {"varchar": pl.String, "timestamp": pl.Datetime("us")}
    return {name: types[t] for name, t in COLUMNS}


def main(argv: list[str] | None = None) -> int:
    from dagster_project.settings import get_settings

    parser = argparse.ArgumentParser(prog="python -m dagster_project.serving.tokens",
                                     description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p_issue = sub.add_parser("issue", help="issue a token (printed once)")
    p_issue.add_argument("--name", required=True, help="what the token is for")
    scope = p_issue.add_mutually_exclusive_group(required=True)
    scope.add_argument("--client", help="the one client the token may read")
    scope.add_argument("--admin", action="store_true", help="an admin token")
    p_issue.add_argument("--days", type=float, default=90.0, help="validity (default 90)")
    p_issue.add_argument("--actor", required=True, help="who issues it (audit log)")
    p_revoke = sub.add_parser("revoke", help="revoke a token")
    p_revoke.add_argument("token_id")
    p_revoke.add_argument("--actor", required=True, help="who revokes it (audit log)")
    sub.add_parser("list", help="list tokens (never their secrets)")
    args = parser.parse_args(argv)
    warehouse = Warehouse.from_settings(get_settings())
    try:
        if args.command == "issue":
            token, row = issue(warehouse, args.name, "admin" if args.admin else "client",
                               args.client, args.days, args.actor)
            print(f"token_id {row['token_id']} ({row['role']}"
                  f"{' ' + row['client_id'] if row['client_id'] else ''}), expires "
                  f"{row['expires_at']:%Y-%m-%d %H:%M} UTC. The token (shown once):\n{token}")
        elif args.command == "revoke":
            row = revoke(warehouse, args.token_id, args.actor)
            print(f"token {row['token_id']} revoked at {row['revoked_at']}")
        else:
            with warehouse.session() as s:
                rows = load_tokens(s)
            for r in sorted(rows.values(), key=lambda r: r["created_at"]):
                state = "revoked" if r["revoked_at"] else "active"
                print(f"{r['token_id']}  {r['role']:6} {r['client_id'] or '-':12} {state:8} "
                      f"expires {r['expires_at']:%Y-%m-%d}  {r['name']}")
    except ValueError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
