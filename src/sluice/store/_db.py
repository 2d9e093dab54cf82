"""The SQLite half of the store: one row per function.

Theory of operation
-------------------
A function is one row of ``functions``: its name, the FunctionConfiguration members the API
layer keeps (as JSON the store never interprets), the SHA-256 of its code (the key into
``code/``), its tags (JSON) and when it was created. Keeping a function in a single row makes
every operation a single-row statement in its own ``BEGIN IMMEDIATE`` transaction, so a
failed call rolls back to exactly what was there before.

Durability settings:

* ``journal_mode=WAL``: readers never block the writer, and a commit is an append to the WAL
  rather than a rewrite of pages, which is cheap and crash-safe.
* ``synchronous=FULL``: every commit is fsynced. With ``NORMAL``, WAL mode survives a
  process crash but may lose the last commits on power loss or an OS crash; Lambda API
  writes are rare (a deploy, a tag), so one fsync each costs nothing noticeable and makes a
  successful ``CreateFunction`` mean "on disk", matching the fsynced code blob it points at.

The schema version lives in ``PRAGMA user_version``; `_MIGRATIONS[i]` takes a database from
version ``i`` to ``i + 1`` inside one transaction (SQLite DDL is transactional), and a
database newer than this code is refused rather than misread.

One connection, used from the thread that opened it (``check_same_thread`` stays on): the
server is a single asyncio thread and every call here is short.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Collection, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sluice.errors import ConfigError, FunctionExists

__all__ = ["SCHEMA_VERSION", "Database", "FunctionRecord"]

_MIGRATIONS: tuple[tuple[str, ...], ...] = (
    (
        """
        CREATE TABLE functions (
            name        TEXT PRIMARY KEY NOT NULL,
            config      TEXT NOT NULL,
            code_sha256 TEXT NOT NULL,
            tags        TEXT NOT NULL DEFAULT '{}',
            created_at  REAL NOT NULL
        )
        """,
        "CREATE INDEX functions_by_code ON functions (code_sha256)",
    ),
)

SCHEMA_VERSION = len(_MIGRATIONS)

_COLUMNS = "name, config, code_sha256, tags, created_at"


@dataclass(frozen=True, slots=True)
class FunctionRecord:
    """A function as stored.

    `config` holds the FunctionConfiguration members exactly as the API layer gives them;
    the store only serialises it. `code_sha256` is the hex content address of the code zip
    (Lambda's base64 ``CodeSha256`` is the API layer's business). `created_at` is seconds
    since the epoch.
    """

    name: str
    config: Mapping[str, Any]
    code_sha256: str
    tags: Mapping[str, str]
    created_at: float


def _dumps(value: Mapping[str, Any]) -> str:
    """JSON for a column; `dict()` so any Mapping works at the top level."""
    return json.dumps(dict(value), separators=(",", ":"), allow_nan=False)


def _record(row: tuple[Any, ...]) -> FunctionRecord:
    name, config, code_sha256, tags, created_at = row
    return FunctionRecord(
        name=name,
        config=json.loads(config),
        code_sha256=code_sha256,
        tags=json.loads(tags),
        created_at=created_at,
    )


class Database:
    """Functions and tags in ``sluice.db``; see the module docstring for the guarantees."""

    def __init__(self, path: Path) -> None:
        try:
            self._conn = sqlite3.connect(path, isolation_level=None)
        except sqlite3.Error as error:
            raise ConfigError(f"cannot open {path}: {error}") from error
        try:
            self._conn.execute("PRAGMA journal_mode=WAL").fetchone()
            self._conn.execute("PRAGMA synchronous=FULL")
            self._conn.execute("PRAGMA busy_timeout=5000")
            self._migrate(path)
        except sqlite3.DatabaseError as error:
            self._conn.close()
            raise ConfigError(f"cannot use {path} as a sluice database: {error}") from error
        except BaseException:
            self._conn.close()
            raise

    def _migrate(self, path: Path) -> None:
        """Bring the schema to `SCHEMA_VERSION`, one transaction per step."""
        (version,) = self._conn.execute("PRAGMA user_version").fetchone()
        if version > SCHEMA_VERSION:
            raise ConfigError(
                f"{path} has schema version {version}; this sluice understands up to "
                f"{SCHEMA_VERSION}. Use a newer sluice or another data directory."
            )
        for step in range(version, SCHEMA_VERSION):
            with self._transaction() as conn:
                for statement in _MIGRATIONS[step]:
                    conn.execute(statement)
                conn.execute(f"PRAGMA user_version={step + 1}")

    def close(self) -> None:
        """Close the connection; safe to call twice."""
        self._conn.close()

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        """``BEGIN IMMEDIATE`` … ``COMMIT``, or ``ROLLBACK`` on any error.

        IMMEDIATE takes the write lock up front, so a read-modify-write (tags) cannot be
        interleaved with another writer between its read and its write.
        """
        self._conn.execute("BEGIN IMMEDIATE")
        try:
            yield self._conn
            self._conn.execute("COMMIT")
        except BaseException:
            if self._conn.in_transaction:
                self._conn.execute("ROLLBACK")
            raise

    def insert(self, record: FunctionRecord) -> None:
        """Add a function; `FunctionExists` (AWS's wording) if the name is taken."""
        config, tags = _dumps(record.config), _dumps(record.tags)
        with self._transaction() as conn:
            try:
                conn.execute(
                    f"INSERT INTO functions ({_COLUMNS}) VALUES (?, ?, ?, ?, ?)",
                    (record.name, config, record.code_sha256, tags, record.created_at),
                )
            except sqlite3.IntegrityError as error:
                raise FunctionExists(f"Function already exist: {record.name}") from error

    def get(self, name: str) -> FunctionRecord | None:
        row = self._conn.execute(
            f"SELECT {_COLUMNS} FROM functions WHERE name = ?", (name,)
        ).fetchone()
        return None if row is None else _record(row)

    def update(self, record: FunctionRecord) -> bool:
        """Replace config and code of an existing function; False if there is none.

        Tags and `created_at` are left alone: tags change only through `set_tags` and
        `remove_tags`, so an update built from a stale read cannot undo a tag change, and
        creation time never changes.
        """
        config = _dumps(record.config)
        with self._transaction() as conn:
            cursor = conn.execute(
                "UPDATE functions SET config = ?, code_sha256 = ? WHERE name = ?",
                (config, record.code_sha256, record.name),
            )
            return cursor.rowcount == 1

    def delete(self, name: str) -> bool:
        with self._transaction() as conn:
            return conn.execute("DELETE FROM functions WHERE name = ?", (name,)).rowcount == 1

    def page(self, after: str | None, limit: int) -> list[FunctionRecord]:
        if limit < 0:
            raise ValueError(f"limit must not be negative: {limit}")
        if after is None:
            rows = self._conn.execute(
                f"SELECT {_COLUMNS} FROM functions ORDER BY name LIMIT ?", (limit,)
            )
        else:
            rows = self._conn.execute(
                f"SELECT {_COLUMNS} FROM functions WHERE name > ? ORDER BY name LIMIT ?",
                (after, limit),
            )
        return [_record(row) for row in rows]

    def set_tags(self, name: str, tags: Mapping[str, str]) -> bool:
        """Merge `tags` into the function's tags; False if there is no such function."""
        with self._transaction() as conn:
            row = conn.execute("SELECT tags FROM functions WHERE name = ?", (name,)).fetchone()
            if row is None:
                return False
            merged = {**json.loads(row[0]), **tags}
            conn.execute("UPDATE functions SET tags = ? WHERE name = ?", (_dumps(merged), name))
            return True

    def remove_tags(self, name: str, keys: Collection[str]) -> bool:
        """Drop `keys` (absent ones are ignored); False if there is no such function."""
        with self._transaction() as conn:
            row = conn.execute("SELECT tags FROM functions WHERE name = ?", (name,)).fetchone()
            if row is None:
                return False
            drop = set(keys)
            remaining = {k: v for k, v in json.loads(row[0]).items() if k not in drop}
            conn.execute("UPDATE functions SET tags = ? WHERE name = ?", (_dumps(remaining), name))
            return True

    def code_in_use(self) -> set[str]:
        """Every code digest some function references."""
        return {sha for (sha,) in self._conn.execute("SELECT DISTINCT code_sha256 FROM functions")}
