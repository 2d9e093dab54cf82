"""The SQLite half of the store: one row per function, one per function URL.

Theory of operation
-------------------
A function is one row of ``functions``: its name, the FunctionConfiguration members the API
layer keeps (as JSON the store never interprets), the SHA-256 of its code (the key into
``code/``), its tags (JSON) and when it was created. Keeping a function in a single row makes
every operation a single-row statement in its own ``BEGIN IMMEDIATE`` transaction, so a
failed call rolls back to exactly what was there before.

An accepted Event invocation is one row of ``async_events`` from the moment it is accepted
(committed before the 202 is sent) until it has run; it references ``functions`` with ``ON
DELETE CASCADE`` too, so a deleted function's pending events go with it.

A function URL is one row of ``function_urls``, keyed by the function's name (one URL per
function: the unqualified, ``$LATEST`` one) with its ``url_id`` unique, so a request's host
finds its function through an index. The row references ``functions`` with ``ON DELETE
CASCADE`` and ``foreign_keys`` is on for the connection, so deleting a function deletes its
URL in the same statement; a URL can never outlive its function or name a missing one.

Durability settings:

* ``journal_mode=WAL``: readers never block the writer, and a commit is an append to the WAL
  rather than a rewrite of pages, which is cheap and crash-safe.
* ``synchronous=FULL``: every commit is fsynced. With ``NORMAL``, WAL mode survives a
  process crash but may lose the last commits on power loss or an OS crash; Lambda API
  writes are rare (a deploy, a tag), so one fsync each costs nothing noticeable and makes a
  successful ``CreateFunction`` mean "on disk", matching the fsynced code blob it points at.
* ``wal_autocheckpoint=128`` and ``journal_size_limit=1 MiB``: every Event invocation is two
  commits (stored, then removed once run), so a busy server appends to the WAL all day.
  SQLite's defaults let the WAL file reach 1000 pages (4 MiB) and keep that size forever;
  checkpointing every 128 pages and truncating the file back to 1 MiB keeps the data dir
  from growing under load (the soak measures this).

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
from enum import Enum
from pathlib import Path
from typing import Any

from sluice.errors import ConfigError, FunctionExists

__all__ = [
    "SCHEMA_VERSION",
    "AsyncEventRecord",
    "Database",
    "FunctionRecord",
    "FunctionUrlRecord",
    "UrlCreation",
]

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
    (
        # One URL per function (its $LATEST one); UNIQUE indexes url_id for host lookups.
        """
        CREATE TABLE function_urls (
            function_name      TEXT PRIMARY KEY NOT NULL
                               REFERENCES functions (name) ON DELETE CASCADE,
            url_id             TEXT NOT NULL UNIQUE,
            auth_type          TEXT NOT NULL,
            invoke_mode        TEXT NOT NULL,
            cors               TEXT,
            creation_time      TEXT NOT NULL,
            last_modified_time TEXT NOT NULL
        )
        """,
    ),
    (
        # Accepted Event invocations not yet run; a function's delete cascades to its own.
        """
        CREATE TABLE async_events (
            id             TEXT PRIMARY KEY NOT NULL,
            function_name  TEXT NOT NULL REFERENCES functions (name) ON DELETE CASCADE,
            payload        BLOB NOT NULL,
            invoked_arn    TEXT NOT NULL,
            region         TEXT NOT NULL,
            client_context TEXT,
            tenant_id      TEXT,
            accepted_at    REAL NOT NULL
        )
        """,
        "CREATE INDEX async_events_by_function ON async_events (function_name)",
    ),
)

SCHEMA_VERSION = len(_MIGRATIONS)

WAL_CHECKPOINT_PAGES = 128
WAL_SIZE_LIMIT_BYTES = 1 << 20

_COLUMNS = "name, config, code_sha256, tags, created_at"
_URL_COLUMNS = (
    "function_name, url_id, auth_type, invoke_mode, cors, creation_time, last_modified_time"
)
_EVENT_COLUMNS = (
    "id, function_name, payload, invoked_arn, region, client_context, tenant_id, accepted_at"
)


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


@dataclass(frozen=True, slots=True)
class FunctionUrlRecord:
    """A function URL's configuration as stored.

    `url_id` is the host label that names the URL; the URL string itself (scheme, region,
    port) is the API layer's to build per response. `cors` is the Lambda API's ``Cors``
    structure as the API layer gives it, or None for no CORS settings. The two times are
    the strings the API answers with; the store does not interpret them.
    """

    function_name: str
    url_id: str
    auth_type: str
    invoke_mode: str
    cors: Mapping[str, Any] | None
    creation_time: str
    last_modified_time: str


@dataclass(frozen=True, slots=True)
class AsyncEventRecord:
    """An accepted Event invocation that has not run yet: what rebuilds its request.

    The function's configuration is not copied: a requeued event runs the function as it is
    when it runs, as AWS's queue does. `accepted_at` is seconds since the epoch.
    """

    id: str
    function_name: str
    payload: bytes
    invoked_arn: str
    region: str
    client_context: str | None
    tenant_id: str | None
    accepted_at: float


class UrlCreation(Enum):
    """What `Database.insert_url` did; the caller words the refusals."""

    CREATED = "created"
    NO_FUNCTION = "no such function"
    ALREADY_EXISTS = "the function already has a URL"


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


def _url_record(row: tuple[Any, ...]) -> FunctionUrlRecord:
    function_name, url_id, auth_type, invoke_mode, cors, creation_time, last_modified = row
    return FunctionUrlRecord(
        function_name=function_name,
        url_id=url_id,
        auth_type=auth_type,
        invoke_mode=invoke_mode,
        cors=None if cors is None else json.loads(cors),
        creation_time=creation_time,
        last_modified_time=last_modified,
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
            self._conn.execute(f"PRAGMA wal_autocheckpoint={WAL_CHECKPOINT_PAGES}")
            self._conn.execute(f"PRAGMA journal_size_limit={WAL_SIZE_LIMIT_BYTES}")
            self._conn.execute("PRAGMA busy_timeout=5000")
            # Per connection, and only outside a transaction: function_urls cascades on it.
            self._conn.execute("PRAGMA foreign_keys=ON")
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
        """Remove a function and (by the foreign keys' cascade) its URL and pending events;
        False if none."""
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

    # -- function URLs --------------------------------------------------------------------

    def insert_url(self, record: FunctionUrlRecord) -> UrlCreation:
        """Add a function's URL unless the function is missing or already has one.

        Raises:
            sqlite3.IntegrityError: `url_id` is taken by another URL (ids are random, 32
                characters; the caller may retry with a fresh one).
        """
        with self._transaction() as conn:
            name = record.function_name
            if conn.execute("SELECT 1 FROM functions WHERE name = ?", (name,)).fetchone() is None:
                return UrlCreation.NO_FUNCTION
            taken = conn.execute("SELECT 1 FROM function_urls WHERE function_name = ?", (name,))
            if taken.fetchone() is not None:
                return UrlCreation.ALREADY_EXISTS
            conn.execute(
                f"INSERT INTO function_urls ({_URL_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    name,
                    record.url_id,
                    record.auth_type,
                    record.invoke_mode,
                    None if record.cors is None else _dumps(record.cors),
                    record.creation_time,
                    record.last_modified_time,
                ),
            )
            return UrlCreation.CREATED

    def get_url(self, function_name: str) -> FunctionUrlRecord | None:
        row = self._conn.execute(
            f"SELECT {_URL_COLUMNS} FROM function_urls WHERE function_name = ?", (function_name,)
        ).fetchone()
        return None if row is None else _url_record(row)

    def url_by_id(self, url_id: str) -> FunctionUrlRecord | None:
        row = self._conn.execute(
            f"SELECT {_URL_COLUMNS} FROM function_urls WHERE url_id = ?", (url_id,)
        ).fetchone()
        return None if row is None else _url_record(row)

    def update_url(self, record: FunctionUrlRecord) -> bool:
        """Replace auth type, invoke mode, CORS and last-modified time; False if no URL.

        `url_id` and `creation_time` are kept from the row: a URL never changes its address.
        """
        cors = None if record.cors is None else _dumps(record.cors)
        with self._transaction() as conn:
            cursor = conn.execute(
                "UPDATE function_urls SET auth_type = ?, invoke_mode = ?, cors = ?, "
                "last_modified_time = ? WHERE function_name = ?",
                (
                    record.auth_type,
                    record.invoke_mode,
                    cors,
                    record.last_modified_time,
                    record.function_name,
                ),
            )
            return cursor.rowcount == 1

    def delete_url(self, function_name: str) -> bool:
        with self._transaction() as conn:
            cursor = conn.execute(
                "DELETE FROM function_urls WHERE function_name = ?", (function_name,)
            )
            return cursor.rowcount == 1

    def url_page(self, after: str | None, limit: int) -> list[FunctionUrlRecord]:
        if limit < 0:
            raise ValueError(f"limit must not be negative: {limit}")
        query = f"SELECT {_URL_COLUMNS} FROM function_urls"
        if after is None:
            rows = self._conn.execute(f"{query} ORDER BY function_name LIMIT ?", (limit,))
        else:
            rows = self._conn.execute(
                f"{query} WHERE function_name > ? ORDER BY function_name LIMIT ?", (after, limit)
            )
        return [_url_record(row) for row in rows]

    # -- async events -----------------------------------------------------------------------

    def insert_event(self, record: AsyncEventRecord) -> bool:
        """Keep an accepted event; False (nothing stored) if its function no longer exists."""
        with self._transaction() as conn:
            name = record.function_name
            if conn.execute("SELECT 1 FROM functions WHERE name = ?", (name,)).fetchone() is None:
                return False
            conn.execute(
                f"INSERT INTO async_events ({_EVENT_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    record.id,
                    name,
                    record.payload,
                    record.invoked_arn,
                    record.region,
                    record.client_context,
                    record.tenant_id,
                    record.accepted_at,
                ),
            )
            return True

    def events(self) -> list[AsyncEventRecord]:
        """Every pending event, oldest accepted first."""
        rows = self._conn.execute(
            f"SELECT {_EVENT_COLUMNS} FROM async_events ORDER BY accepted_at, rowid"
        )
        return [AsyncEventRecord(*row[:2], bytes(row[2]), *row[3:]) for row in rows]

    def delete_event(self, event_id: str) -> bool:
        with self._transaction() as conn:
            cursor = conn.execute("DELETE FROM async_events WHERE id = ?", (event_id,))
            return cursor.rowcount == 1
