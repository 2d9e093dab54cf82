"""The durable store against real files: restarts, transactions, code blobs, hostile zips."""

from __future__ import annotations

import base64
import hashlib
import io
import os
import sqlite3
import stat
import struct
import warnings
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from sluice.errors import ConfigError, FunctionExists, InvalidZipFile
from sluice.store import (
    MAX_UNZIPPED_BYTES,
    MAX_ZIP_ENTRIES,
    SCHEMA_VERSION,
    UNZIP_MESSAGE,
    AsyncEventRecord,
    FunctionRecord,
    Store,
)
from sluice.store._code import UNZIPPED_SIZE_MESSAGE

# -- helpers ------------------------------------------------------------------------------


def entry(name: str, mode: int | None = None) -> zipfile.ZipInfo:
    """A ZipInfo made on "Unix" with `mode` (type and permission bits) when given."""
    info = zipfile.ZipInfo(name, date_time=(2024, 1, 1, 0, 0, 0))
    info.compress_type = zipfile.ZIP_DEFLATED
    if mode is not None:
        info.create_system = 3
        info.external_attr = mode << 16
    return info


def make_zip(*members: tuple[str | zipfile.ZipInfo, bytes]) -> bytes:
    buf = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # zipfile warns when writing duplicate names
        with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
            for name, data in members:
                zf.writestr(name, data)
    return buf.getvalue()


def zeros_zip(size: int) -> bytes:
    """One member of `size` zero bytes, written in 1 MiB chunks so memory stays small."""
    buf = io.BytesIO()
    chunk = bytes(1 << 20)
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf, zf.open("zeros", "w") as out:
        for _ in range(size >> 20):
            out.write(chunk)
    return buf.getvalue()


def patch_first_entry(data: bytes, local_offset: int, central_offset: int, value: int) -> bytes:
    """Overwrite one little-endian field of the first member in both of its headers."""
    patched = bytearray(data)
    assert patched[:4] == b"PK\x03\x04"
    central = patched.find(b"PK\x01\x02")
    width = "<H" if local_offset == 6 else "<I"
    struct.pack_into(width, patched, local_offset, value)
    struct.pack_into(width, patched, central + central_offset, value)
    return bytes(patched)


def sha_of(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def record(name: str, sha: str, **config: object) -> FunctionRecord:
    return FunctionRecord(
        name=name,
        config={"Runtime": "python3.12", "Handler": "app.handler", **config},
        code_sha256=sha,
        tags={},
        created_at=1_700_000_000.5,
    )


CODE = make_zip(("app.py", b"def handler(event, context):\n    return event\n"))
OTHER_CODE = make_zip(("app.py", b"def handler(event, context):\n    return 42\n"))


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "data"


@pytest.fixture
def store(data_dir: Path) -> Iterator[Store]:
    with Store.open(data_dir) as opened:
        yield opened


def code_entries(data_dir: Path) -> set[str]:
    return {p.name for p in (data_dir / "code").iterdir()}


# -- functions ----------------------------------------------------------------------------


def test_open_creates_layout_with_wal_and_schema_version(data_dir: Path) -> None:
    with Store.open(data_dir):
        pass
    assert (data_dir / "code").is_dir()
    conn = sqlite3.connect(data_dir / "sluice.db")
    try:
        assert conn.execute("PRAGMA journal_mode").fetchone() == ("wal",)
        assert conn.execute("PRAGMA user_version").fetchone() == (SCHEMA_VERSION,)
    finally:
        conn.close()


def test_functions_and_tags_survive_restart(data_dir: Path) -> None:
    config = {
        "Runtime": "python3.12",
        "Handler": "app.handler",
        "Role": "arn:aws:iam::123456789012:role/r",
        "Timeout": 3,
        "MemorySize": 128,
        "Description": "naïve ☃",
        "Environment": {"Variables": {"A": "1"}},
        "Architectures": ["x86_64"],
        "PackageType": "Zip",
        "LastModified": "2024-01-01T00:00:00.000+0000",
        "Version": "$LATEST",
    }
    with Store.open(data_dir) as store:
        blob = store.put_code(CODE)
        store.create_function(
            FunctionRecord("fn", config, blob.sha256_hex, {"team": "a", "env": "dev"}, 12.25)
        )
        assert store.set_tags("fn", {"env": "prod", "cost": "x"})
        assert store.remove_tags("fn", ["team", "absent"])

    with Store.open(data_dir) as store:
        got = store.get_function("fn")
        assert got == FunctionRecord(
            "fn", config, blob.sha256_hex, {"env": "prod", "cost": "x"}, 12.25
        )
        assert (store.code_path(blob.sha256_hex) / "app.py").read_bytes().startswith(b"def")


def test_missing_function_is_none_or_false(store: Store) -> None:
    sha = store.put_code(CODE).sha256_hex
    assert store.get_function("nope") is None
    assert store.replace_function(record("nope", sha)) is False
    assert store.delete_function("nope") is False
    assert store.set_tags("nope", {"a": "b"}) is False
    assert store.remove_tags("nope", ["a"]) is False
    assert store.list_functions(None, 10) == []


def test_list_functions_pages_by_name(store: Store) -> None:
    sha = store.put_code(CODE).sha256_hex
    names = ["b", "a", "d", "c", "e", "B"]
    for name in names:
        store.create_function(record(name, sha))

    seen: list[str] = []
    after = None
    while page := store.list_functions(after, 2):
        assert len(page) <= 2
        seen += [r.name for r in page]
        after = page[-1].name
    assert seen == sorted(names)
    assert [r.name for r in store.list_functions("b", 100)] == ["c", "d", "e"]
    assert [r.name for r in store.list_functions("bb", 1)] == ["c"]
    assert store.list_functions("e", 5) == []
    assert store.list_functions(None, 0) == []
    with pytest.raises(ValueError):
        store.list_functions(None, -1)


def test_duplicate_create_raises_and_changes_nothing(store: Store) -> None:
    sha = store.put_code(CODE).sha256_hex
    original = record("fn", sha, Timeout=3)
    store.create_function(original)
    with pytest.raises(FunctionExists, match=r"^Function already exist: fn$"):
        store.create_function(record("fn", sha, Timeout=900))
    assert store.get_function("fn") == original


def test_failed_create_leaves_no_row(store: Store) -> None:
    sha = store.put_code(CODE).sha256_hex
    with pytest.raises(TypeError):
        store.create_function(record("fn", sha, Bad=object()))
    assert store.get_function("fn") is None
    assert store.list_functions(None, 10) == []


def test_create_requires_stored_code(store: Store) -> None:
    with pytest.raises(RuntimeError):
        store.create_function(record("fn", sha_of(b"never put")))
    with pytest.raises(ValueError):
        store.create_function(record("fn", "../../etc"))
    assert store.get_function("fn") is None


def test_replace_updates_config_and_code_keeps_tags_and_collects_old_code(
    store: Store, data_dir: Path
) -> None:
    old = store.put_code(CODE)
    store.create_function(FunctionRecord("fn", {"Timeout": 3}, old.sha256_hex, {"k": "v"}, 1.0))
    new = store.put_code(OTHER_CODE)
    assert store.replace_function(FunctionRecord("fn", {"Timeout": 9}, new.sha256_hex, {}, 99.0))
    assert store.get_function("fn") == FunctionRecord(
        "fn", {"Timeout": 9}, new.sha256_hex, {"k": "v"}, 1.0
    )
    assert code_entries(data_dir) == {new.sha256_hex, f"{new.sha256_hex}.zip"}


def test_a_read_after_any_write_sees_it(store: Store) -> None:
    # Function rows are cached between writes (every invocation reads one): each kind of
    # write must drop the entry a read before it filled.
    sha = store.put_code(CODE).sha256_hex
    store.create_function(record("fn", sha, Timeout=3))
    assert store.get_function("fn").config["Timeout"] == 3
    store.put_code(CODE)
    assert store.replace_function(record("fn", sha, Timeout=9))
    assert store.get_function("fn").config["Timeout"] == 9
    assert store.set_tags("fn", {"k": "v"})
    assert store.get_function("fn").tags == {"k": "v"}
    assert store.remove_tags("fn", ["k"])
    assert store.get_function("fn").tags == {}
    assert store.delete_function("fn")
    assert store.get_function("fn") is None


def test_delete_collects_only_unreferenced_code(store: Store, data_dir: Path) -> None:
    shared = store.put_code(CODE).sha256_hex
    store.put_code(CODE)  # a second put of the same code, claimed by the second create
    alone = store.put_code(OTHER_CODE).sha256_hex
    store.create_function(record("one", shared))
    store.create_function(record("two", shared))
    store.create_function(record("three", alone))

    assert store.delete_function("three")
    assert code_entries(data_dir) == {shared, f"{shared}.zip"}
    assert store.delete_function("one")
    assert code_entries(data_dir) == {shared, f"{shared}.zip"}
    assert store.delete_function("two")
    assert code_entries(data_dir) == set()
    assert store.gc_code() == []


def test_put_code_is_pinned_until_claimed_or_released(store: Store, data_dir: Path) -> None:
    used = store.put_code(CODE).sha256_hex
    store.create_function(record("fn", used))
    pending = store.put_code(OTHER_CODE).sha256_hex
    assert store.gc_code() == []  # put but not yet named by a create: kept
    store.release_code(pending)
    assert store.gc_code() == [pending]
    assert code_entries(data_dir) == {used, f"{used}.zip"}


def test_open_sweeps_crash_leftovers(data_dir: Path) -> None:
    with Store.open(data_dir) as store:
        orphan = store.put_code(CODE).sha256_hex  # never referenced by a function
    (data_dir / "code" / ".tmp-half").mkdir()
    (data_dir / "code" / ".tmp-half" / "x").write_bytes(b"partial")
    (data_dir / "code" / ".tmp-blob.zip").write_bytes(b"partial")
    assert orphan in code_entries(data_dir)
    with Store.open(data_dir):
        assert code_entries(data_dir) == set()


def test_newer_schema_is_refused(data_dir: Path) -> None:
    with Store.open(data_dir):
        pass
    conn = sqlite3.connect(data_dir / "sluice.db")
    conn.execute(f"PRAGMA user_version={SCHEMA_VERSION + 1}")
    conn.close()
    with pytest.raises(ConfigError, match="schema version"):
        Store.open(data_dir)


def test_non_database_file_is_refused(data_dir: Path) -> None:
    data_dir.mkdir()
    (data_dir / "sluice.db").write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(ConfigError):
        Store.open(data_dir)


# -- async events -------------------------------------------------------------------------


def event(event_id: str, function: str, accepted_at: float) -> AsyncEventRecord:
    return AsyncEventRecord(
        id=event_id,
        function_name=function,
        payload=b"\x00{}\xff",
        invoked_arn=f"arn:aws:lambda:eu-west-1:000000000000:function:{function}",
        region="eu-west-1",
        client_context=None if event_id == "a" else "e30=",
        tenant_id=None,
        accepted_at=accepted_at,
    )


def test_events_survive_restart_until_deleted_and_go_with_their_function(
    data_dir: Path,
) -> None:
    """Accepted events are committed at once, listed oldest first after a reopen, gone
    when deleted (run) or when their function is deleted, and refused for no function."""
    with Store.open(data_dir) as store:
        sha = store.put_code(CODE).sha256_hex
        store.create_function(record("fn", sha))
        store.create_function(record("other", sha))
        assert store.add_event(event("b", "fn", 2.0))
        assert store.add_event(event("a", "fn", 1.0))
        assert store.add_event(event("c", "other", 3.0))
        assert store.add_event(event("x", "missing", 4.0)) is False

    with Store.open(data_dir) as store:
        assert store.pending_events() == [
            event("a", "fn", 1.0),
            event("b", "fn", 2.0),
            event("c", "other", 3.0),
        ]
        assert store.delete_event("a")
        assert store.delete_event("a") is False
        assert store.delete_function("other")
        assert [e.id for e in store.pending_events()] == ["b"]


def test_version_2_database_gains_the_events_table(data_dir: Path) -> None:
    """A database written before events were stored (schema 2) is migrated in place."""
    with Store.open(data_dir) as store:
        store.create_function(record("fn", store.put_code(CODE).sha256_hex))
    conn = sqlite3.connect(data_dir / "sluice.db")
    conn.execute("DROP TABLE async_events")
    conn.execute("PRAGMA user_version=2")
    conn.commit()
    conn.close()
    with Store.open(data_dir) as store:
        assert store.add_event(event("a", "fn", 1.0))
        assert store.pending_events() == [event("a", "fn", 1.0)]


# -- code ---------------------------------------------------------------------------------


def test_put_code_reports_lambda_digests(store: Store, data_dir: Path) -> None:
    blob = store.put_code(CODE)
    digest = hashlib.sha256(CODE).digest()
    assert blob.sha256_hex == digest.hex()
    assert blob.sha256_b64 == base64.b64encode(digest).decode()
    assert blob.size == len(CODE)
    assert blob.path == data_dir / "code" / digest.hex()
    assert store.code_path(blob.sha256_hex) == blob.path
    assert store.zip_path(blob.sha256_hex).read_bytes() == CODE


def test_put_code_is_idempotent_and_extracts_once(store: Store, data_dir: Path) -> None:
    first = store.put_code(CODE)
    paths = [first.path, first.path / "app.py", store.zip_path(first.sha256_hex)]
    before = [(p.stat().st_ino, p.stat().st_mtime_ns) for p in paths]
    second = store.put_code(CODE)
    assert second == first
    assert [(p.stat().st_ino, p.stat().st_mtime_ns) for p in paths] == before
    assert code_entries(data_dir) == {first.sha256_hex, f"{first.sha256_hex}.zip"}


def test_modes_are_preserved(store: Store) -> None:
    blob = store.put_code(
        make_zip(
            (entry("bootstrap", stat.S_IFREG | 0o744), b"#!/bin/sh\n"),
            (entry("lib.py", stat.S_IFREG | 0o600), b""),
            (entry("noattr.txt"), b"made on DOS"),
            (entry("bin/", stat.S_IFDIR | 0o700), b""),
            (entry("bin/tool", stat.S_IFREG | 0o100), b"x"),
            (entry("deep/er/file", stat.S_IFREG | 0o644), b"y"),
        )
    )

    def mode(rel: str) -> int:
        return stat.S_IMODE((blob.path / rel).stat().st_mode)

    assert mode("bootstrap") == 0o755
    assert os.access(blob.path / "bootstrap", os.X_OK)
    assert mode("lib.py") == 0o644
    assert mode("noattr.txt") == 0o644
    assert mode("bin/tool") == 0o755
    for folder in (".", "bin", "deep", "deep/er"):
        assert mode(folder) == 0o755


def test_code_path_reextracts_a_missing_folder(store: Store) -> None:
    blob = store.put_code(make_zip((entry("bootstrap", stat.S_IFREG | 0o755), b"#!")))
    store.create_function(record("fn", blob.sha256_hex))
    for child in blob.path.iterdir():
        child.unlink()
    blob.path.rmdir()
    path = store.code_path(blob.sha256_hex)
    assert (path / "bootstrap").read_bytes() == b"#!"
    assert stat.S_IMODE((path / "bootstrap").stat().st_mode) == 0o755


def test_backslash_without_traversal_is_a_literal_name(store: Store) -> None:
    # What old Windows tools write; Lambda keeps the backslash as part of the file name.
    blob = store.put_code(make_zip(("lib\\mod.py", b"x")))
    assert (blob.path / "lib\\mod.py").read_bytes() == b"x"


def test_highly_compressible_small_zip_is_fine(store: Store) -> None:
    blob = store.put_code(zeros_zip(4 << 20))
    assert (blob.path / "zeros").stat().st_size == 4 << 20


# -- hostile zips -------------------------------------------------------------------------


def _truncated() -> bytes:
    return CODE[: len(CODE) // 2]


def _bad_crc() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as zf:
        zf.writestr("a.txt", b"hello world")
    return buf.getvalue().replace(b"hello world", b"hello WORLD")


def _too_many_entries() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as zf:
        for i in range(MAX_ZIP_ENTRIES + 1):
            zf.writestr(f"f{i}", b"")
    return buf.getvalue()


def _size_header_too_small() -> bytes:
    # Declares 10 bytes for a 10,000-byte member: zipfile stops at the declared size and the
    # CRC of what it read does not match.
    return patch_first_entry(make_zip(("a.txt", b"x" * 10_000)), 22, 24, 10)


def _size_header_too_big() -> bytes:
    # A tiny member that claims to be over the unzipped limit.
    return patch_first_entry(make_zip(("a.txt", b"x")), 22, 24, MAX_UNZIPPED_BYTES + 1)


def _encrypted() -> bytes:
    return patch_first_entry(make_zip(("a.txt", b"secret")), 6, 8, 0x1)


# Archives over the unzipped limit get AWS's size message instead of UNZIP_MESSAGE.
OVER_SIZE = {"bomb-over-limit", "lying-size-big"}

BAD_ZIPS: list[tuple[str, Callable[[], bytes]]] = [
    ("not-a-zip", lambda: b"definitely not a zip file"),
    ("empty-bytes", lambda: b""),
    ("truncated", _truncated),
    ("bad-crc", _bad_crc),
    ("dotdot", lambda: make_zip(("../evil", b"x"))),
    ("absolute", lambda: make_zip(("/abs", b"x"))),
    ("inner-dotdot", lambda: make_zip(("a/../../b", b"x"))),
    ("backslash-dotdot", lambda: make_zip(("..\\evil", b"x"))),
    ("backslash-inner-dotdot", lambda: make_zip(("a\\..\\..\\b", b"x"))),
    ("backslash-absolute", lambda: make_zip(("\\abs", b"x"))),
    ("drive-letter", lambda: make_zip(("C:/evil", b"x"))),
    ("drive-relative", lambda: make_zip(("C:evil", b"x"))),
    ("symlink", lambda: make_zip((entry("link", stat.S_IFLNK | 0o777), b"/etc/passwd"))),
    ("device", lambda: make_zip((entry("dev", stat.S_IFCHR | 0o644), b""))),
    ("duplicate", lambda: make_zip(("a.py", b"1"), ("a.py", b"2"))),
    ("duplicate-normalised", lambda: make_zip(("a/b.py", b"1"), ("a//./b.py", b"2"))),
    ("file-dir-clash", lambda: make_zip(("a", b"1"), ("a/b", b"2"))),
    ("encrypted", _encrypted),
    ("too-many-entries", _too_many_entries),
    ("bomb-over-limit", lambda: zeros_zip(300 << 20)),
    ("bomb-ratio", lambda: zeros_zip(64 << 20)),
    ("lying-size-small", _size_header_too_small),
    ("lying-size-big", _size_header_too_big),
]


@pytest.mark.parametrize(("label", "build"), BAD_ZIPS, ids=[i for i, _ in BAD_ZIPS])
def test_hostile_zip_is_refused_and_leaves_nothing(
    store: Store, data_dir: Path, label: str, build: Callable[[], bytes]
) -> None:
    data = build()
    with pytest.raises(InvalidZipFile) as caught:
        store.put_code(data)
    expected = UNZIPPED_SIZE_MESSAGE if label in OVER_SIZE else UNZIP_MESSAGE
    assert caught.value.message == expected
    assert code_entries(data_dir) == set()
    assert store.list_functions(None, 10) == []
    # Nothing is pinned either: the store stays usable and collects as usual.
    assert store.gc_code() == []
    assert not (data_dir / "code" / f"{sha_of(data)}.zip").exists()


def test_extraction_counts_bytes_actually_written() -> None:
    # zipfile itself stops a member at its declared size, so a lying header cannot reach the
    # running count through put_code; drive the copy loop directly with little room left.
    from sluice.store._code import _copy_member

    with zipfile.ZipFile(io.BytesIO(make_zip(("a.txt", b"x" * 10_000)))) as zf:
        info = zf.getinfo("a.txt")
        assert _copy_member(zf, info, io.BytesIO(), room=10_000) == 10_000
        with pytest.raises(InvalidZipFile):
            _copy_member(zf, info, io.BytesIO(), room=9_999)
