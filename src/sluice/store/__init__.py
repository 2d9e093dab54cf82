"""The durable store: functions, their configuration, tags and URLs, and their code.

Theory of operation
-------------------
A data directory holds::

    sluice.db          SQLite (WAL, synchronous=FULL): one row per function with its
                       configuration and tags as JSON and the SHA-256 of its code, and
                       one row per function URL (id, auth type, invoke mode, CORS, times),
                       one row per accepted Event invocation until it has run
    code/<hex>.zip     each distinct deployment package, named by its SHA-256
    code/<hex>/        that package extracted once, what execution environments run
    sluice.lock        held (flock) while a store is open: one server per data directory

Code is content-addressed, so identical uploads share storage and are extracted once. Every
file or folder reaches its final name by an atomic rename, and every function mutation is one
SQLite transaction, so a crash or a failed call leaves either the old state or the new one.
Code goes to disk before the row that references it commits; code no longer referenced is
garbage-collected after deletes and replaces and at open. Uploaded zips are never trusted:
see `sluice.store._code` for the checks.

The store does not interpret configuration and knows nothing of HTTP or processes; missing
functions come back as None or False (a URL create as a `UrlCreation`) so the caller words
the AWS error.
"""

from sluice.store._code import (
    MAX_COMPRESSION_RATIO,
    MAX_UNZIPPED_BYTES,
    MAX_ZIP_ENTRIES,
    UNZIP_MESSAGE,
    CodeBlob,
)
from sluice.store._db import (
    SCHEMA_VERSION,
    AsyncEventRecord,
    FunctionRecord,
    FunctionUrlRecord,
    UrlCreation,
)
from sluice.store._store import Store

__all__ = [
    "MAX_COMPRESSION_RATIO",
    "MAX_UNZIPPED_BYTES",
    "MAX_ZIP_ENTRIES",
    "SCHEMA_VERSION",
    "UNZIP_MESSAGE",
    "AsyncEventRecord",
    "CodeBlob",
    "FunctionRecord",
    "FunctionUrlRecord",
    "Store",
    "UrlCreation",
]
