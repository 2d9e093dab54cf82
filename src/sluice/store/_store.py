"""`Store`: functions in SQLite plus their code on disk, kept consistent with each other.

The two halves meet in two places. A function row may only name code that is on disk, so
code is put (and fsynced) before the row that references it is committed. Code no function
references is garbage, collected after every delete or replace that may have orphaned it and
once at open; `put_code` pins what it stores until a create or replace has named it, so a
collection running between the two cannot take code out from under a request in flight.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from collections.abc import Callable, Collection, Mapping
from pathlib import Path
from types import TracebackType
from typing import Self, TypeVar

from sluice.errors import ConfigError
from sluice.store._code import CodeBlob, CodeRepo, is_sha256_hex
from sluice.store._db import (
    AsyncEventRecord,
    Database,
    FunctionRecord,
    FunctionUrlRecord,
    UrlCreation,
)

__all__ = ["Store"]

T = TypeVar("T")


class Store:
    """Durable functions, tags, function URLs and code for one data directory.

    Open it with `Store.open`. Everything except `put_code` and `code_path` must be called
    from the thread that opened the store; those two only touch files, so a server may run
    a large extraction in a worker thread. One open store owns a data directory at a time:
    `open` takes an exclusive lock (`sluice.lock`) that `close` or the process's end
    releases, so a second server is refused instead of sweeping the first one's files.
    """

    def __init__(self, data_dir: Path, db: Database, code: CodeRepo, lock: int = -1) -> None:
        """Use `Store.open`; this only assembles already opened parts."""
        self.data_dir = data_dir
        self._db = db
        self._code = code
        self._lock = lock
        # Read-through cache of function rows. Every invocation looks its function up, and
        # every write to a row goes through this object (the lock keeps other processes
        # out), so dropping an entry on each write keeps the cache exact. Records are frozen
        # and callers copy `config` before changing it.
        self._functions: dict[str, FunctionRecord] = {}
        # Function URLs by id, for every request to a URL's host; cleared on any URL write
        # and on a function's delete (which deletes its URL).
        self._urls: dict[str, FunctionUrlRecord] = {}

    @classmethod
    def open(cls, data_dir: Path) -> Store:
        """Open (creating if needed) ``data_dir/sluice.db`` and ``data_dir/code/``.

        Leftovers of a crash (temp files, code no function references) are removed here,
        the one moment nothing else can be using them. `ConfigError` if the directory or
        database cannot be used.
        """
        data_dir = Path(data_dir)
        try:
            data_dir.mkdir(parents=True, exist_ok=True)
            lock = _lock(data_dir)
        except OSError as error:
            raise ConfigError(f"cannot use data directory {data_dir}: {error}") from error
        try:
            code = CodeRepo(data_dir / "code")
            db = Database(data_dir / "sluice.db")
        except OSError as error:
            os.close(lock)
            raise ConfigError(f"cannot use data directory {data_dir}: {error}") from error
        except BaseException:
            os.close(lock)
            raise
        store = cls(data_dir, db, code, lock)
        try:
            code.sweep_temp()
            store.gc_code()
        except BaseException:
            store.close()
            raise
        return store

    def close(self) -> None:
        """Close the database and release the data directory; safe to call twice."""
        self._db.close()
        if self._lock >= 0:
            os.close(self._lock)
            self._lock = -1

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # -- code ---------------------------------------------------------------------------

    def put_code(self, zip_bytes: bytes) -> CodeBlob:
        """Validate and store a deployment package; `InvalidZipFile` if it is unsafe.

        Idempotent: the same bytes are written and extracted once. The code stays pinned
        until the next `create_function` or `replace_function` naming it, or
        `release_code` if the caller gives up on it.
        """
        return self._code.put(zip_bytes)

    def release_code(self, sha256_hex: str) -> None:
        """Give up the pin of a `put_code` whose create or replace will never happen."""
        self._code.unpin(sha256_hex)

    def code_path(self, sha256_hex: str) -> Path:
        """The extracted code folder, re-extracted from the stored zip if it is missing."""
        return self._code.path(sha256_hex)

    def zip_path(self, sha256_hex: str) -> Path:
        """The stored zip itself (what GetFunction's ``Code.Location`` can serve)."""
        return self._code.zip_path(sha256_hex)

    def gc_code(self) -> list[str]:
        """Delete code (zip and folder) no function references; return the digests removed."""
        return self._code.collect(self._db.code_in_use())

    # -- functions ----------------------------------------------------------------------

    def create_function(self, record: FunctionRecord) -> None:
        """Add a function; `FunctionExists` if the name is taken (nothing is changed)."""
        self._check_code(record)
        self._functions.pop(record.name, None)
        try:
            self._db.insert(record)
        finally:
            self._code.unpin(record.code_sha256)

    def get_function(self, name: str) -> FunctionRecord | None:
        """The function, or None: the caller words the not-found error."""
        return _read_through(self._functions, name, self._db.get)

    def replace_function(self, record: FunctionRecord) -> bool:
        """Replace a function's config and code; False (and no change) if it does not exist.

        Tags and `created_at` are kept from the stored row. Code the function no longer
        uses is collected if nothing else references it.
        """
        self._check_code(record)
        self._functions.pop(record.name, None)
        try:
            replaced = self._db.update(record)
        finally:
            self._code.unpin(record.code_sha256)
        if replaced:
            self.gc_code()
        return replaced

    def delete_function(self, name: str) -> bool:
        """Remove a function, its URL and pending events, then its code if unreferenced.

        False if it did not exist.
        """
        self._functions.pop(name, None)
        self._urls.clear()
        deleted = self._db.delete(name)
        if deleted:
            self.gc_code()
        return deleted

    def list_functions(self, after: str | None, limit: int) -> list[FunctionRecord]:
        """Up to `limit` functions ordered by name, strictly after `after` when given."""
        return self._db.page(after, limit)

    def set_tags(self, name: str, tags: Mapping[str, str]) -> bool:
        """Add or overwrite tags; False if there is no such function."""
        self._functions.pop(name, None)
        return self._db.set_tags(name, tags)

    def remove_tags(self, name: str, keys: Collection[str]) -> bool:
        """Remove tag keys (missing keys are ignored); False if there is no such function."""
        self._functions.pop(name, None)
        return self._db.remove_tags(name, keys)

    # -- function URLs --------------------------------------------------------------------

    def create_function_url(self, record: FunctionUrlRecord) -> UrlCreation:
        """Give a function its URL; nothing changes unless the result is `CREATED`.

        `NO_FUNCTION` if `record.function_name` names no function, `ALREADY_EXISTS` if it has
        a URL already (one per function). `sqlite3.IntegrityError` if `url_id` is another
        URL's (only a caller reusing ids can make that happen).
        """
        self._urls.clear()
        return self._db.insert_url(record)

    def get_function_url(self, function_name: str) -> FunctionUrlRecord | None:
        """The function's URL configuration, or None (no function, or no URL)."""
        return self._db.get_url(function_name)

    def function_url_by_id(self, url_id: str) -> FunctionUrlRecord | None:
        """The URL whose id is `url_id` (what a request's host names), or None."""
        return _read_through(self._urls, url_id, self._db.url_by_id)

    def replace_function_url(self, record: FunctionUrlRecord) -> bool:
        """Store new auth type, invoke mode, CORS and last-modified time; False if no URL.

        `url_id` and `creation_time` are kept from the stored row.
        """
        self._urls.clear()
        return self._db.update_url(record)

    def delete_function_url(self, function_name: str) -> bool:
        """Remove the function's URL; False if it had none. (`delete_function` does too.)"""
        self._urls.clear()
        return self._db.delete_url(function_name)

    def list_function_urls(self, after: str | None, limit: int) -> list[FunctionUrlRecord]:
        """Up to `limit` URLs ordered by function name, strictly after `after` when given."""
        return self._db.url_page(after, limit)

    # -- async (Event) invocations ----------------------------------------------------------

    def add_event(self, record: AsyncEventRecord) -> bool:
        """Durably queue an accepted Event invocation (committed and fsynced on return).

        False, and nothing stored, if the function is gone: it was deleted while the
        request's payload was being read.
        """
        return self._db.insert_event(record)

    def pending_events(self) -> list[AsyncEventRecord]:
        """Events accepted but not yet run, oldest first: what a starting server requeues."""
        return self._db.events()

    def delete_event(self, event_id: str) -> bool:
        """Forget an event that has run; False if it was not stored (or already deleted)."""
        return self._db.delete_event(event_id)

    def _check_code(self, record: FunctionRecord) -> None:
        """A row must only name code that is on disk; anything else is a programming error."""
        if not is_sha256_hex(record.code_sha256):
            raise ValueError(f"code_sha256 is not a hex SHA-256: {record.code_sha256!r}")
        if not self._code.zip_path(record.code_sha256).is_file():
            raise RuntimeError(f"no stored code {record.code_sha256}: call put_code first")


def _read_through(cache: dict[str, T], key: str, load: Callable[[str], T | None]) -> T | None:
    """`cache[key]`, loading and keeping it on a miss; an absent row is not cached."""
    found = cache.get(key)
    if found is None:
        found = load(key)
        if found is not None:
            cache[key] = found
    return found


def _lock(data_dir: Path) -> int:
    """Lock `data_dir` for this process; its pid goes in the file for the refusal message.

    `flock` is released by the kernel when the holder dies, however it dies, so a lock that
    can be taken means no server is using the directory, and anything a previous one left
    (temp files, function processes) is safe to clean up. The descriptor is not inherited
    by function processes, which may outlive a killed server.

    Raises:
        ConfigError: another process holds the lock.
    """
    fd = os.open(data_dir / "sluice.lock", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        holder = os.pread(fd, 32, 0).decode("ascii", "replace").strip()
        os.close(fd)
        owner = f" (pid {holder})" if holder.isdigit() else ""
        raise ConfigError(
            f"data directory {data_dir} is in use by another sluice server{owner}"
        ) from None
    except BaseException:
        os.close(fd)
        raise
    with contextlib.suppress(OSError):
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
    return fd
