"""Function URLs in the store: one per function, found by id, gone with their function,
kept across restarts, and the schema migration that adds them."""

from __future__ import annotations

import io
import sqlite3
import zipfile
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from sluice.store import SCHEMA_VERSION, FunctionRecord, FunctionUrlRecord, Store, UrlCreation


def _zip() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("app.py", "def handler(event, context):\n    return event\n")
    return buf.getvalue()


CODE = _zip()
CORS = {"AllowOrigins": ["https://example.com"], "AllowMethods": ["GET"], "MaxAge": 60}


def url(name: str, url_id: str = "a" * 32, **changes: object) -> FunctionUrlRecord:
    record = FunctionUrlRecord(
        function_name=name,
        url_id=url_id,
        auth_type="NONE",
        invoke_mode="BUFFERED",
        cors=None,
        creation_time="2024-01-01T00:00:00.000000Z",
        last_modified_time="2024-01-01T00:00:00.000000Z",
    )
    return replace(record, **changes)


def add_function(store: Store, name: str) -> None:
    sha = store.put_code(CODE).sha256_hex
    store.create_function(FunctionRecord(name, {"Runtime": "python3.12"}, sha, {}, 1.0))


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "data"


@pytest.fixture
def store(data_dir: Path) -> Iterator[Store]:
    with Store.open(data_dir) as opened:
        add_function(opened, "fn")
        yield opened


def test_create_get_and_find_by_id(store: Store) -> None:
    record = url("fn", cors=CORS)
    assert store.create_function_url(record) is UrlCreation.CREATED
    assert store.get_function_url("fn") == record
    assert store.function_url_by_id("a" * 32) == record
    assert store.function_url_by_id("b" * 32) is None
    assert store.get_function_url("other") is None


def test_finding_by_id_sees_every_later_write(store: Store) -> None:
    # URLs are cached by id between writes (every request to a URL's host looks one up).
    assert store.create_function_url(url("fn")) is UrlCreation.CREATED
    assert store.function_url_by_id("a" * 32).auth_type == "NONE"
    assert store.replace_function_url(url("fn", auth_type="AWS_IAM"))
    assert store.function_url_by_id("a" * 32).auth_type == "AWS_IAM"
    assert store.delete_function_url("fn")
    assert store.function_url_by_id("a" * 32) is None
    assert store.create_function_url(url("fn")) is UrlCreation.CREATED
    assert store.function_url_by_id("a" * 32) is not None
    assert store.delete_function("fn")
    assert store.function_url_by_id("a" * 32) is None


def test_create_refuses_a_missing_function_and_a_second_url(store: Store) -> None:
    assert store.create_function_url(url("nope")) is UrlCreation.NO_FUNCTION
    assert store.create_function_url(url("fn")) is UrlCreation.CREATED
    second = url("fn", "b" * 32, auth_type="AWS_IAM")
    assert store.create_function_url(second) is UrlCreation.ALREADY_EXISTS
    assert store.get_function_url("fn") == url("fn")
    assert store.function_url_by_id("b" * 32) is None


def test_url_ids_are_unique(store: Store) -> None:
    add_function(store, "fn2")
    assert store.create_function_url(url("fn")) is UrlCreation.CREATED
    with pytest.raises(sqlite3.IntegrityError):
        store.create_function_url(url("fn2"))
    assert store.get_function_url("fn2") is None


def test_replace_keeps_id_and_creation_time(store: Store) -> None:
    store.create_function_url(url("fn"))
    changed = url(
        "fn",
        "z" * 32,
        auth_type="AWS_IAM",
        invoke_mode="RESPONSE_STREAM",
        cors=CORS,
        creation_time="2030-01-01T00:00:00.000000Z",
        last_modified_time="2024-02-02T00:00:00.000000Z",
    )
    assert store.replace_function_url(changed) is True
    assert store.get_function_url("fn") == replace(
        changed, url_id="a" * 32, creation_time="2024-01-01T00:00:00.000000Z"
    )
    cleared = replace(changed, cors=None)
    assert store.replace_function_url(cleared) is True
    stored = store.get_function_url("fn")
    assert stored is not None and stored.cors is None
    assert store.replace_function_url(url("nope")) is False


def test_delete_url_and_function(store: Store) -> None:
    assert store.delete_function_url("fn") is False
    store.create_function_url(url("fn"))
    assert store.delete_function_url("fn") is True
    assert store.get_function_url("fn") is None
    store.create_function_url(url("fn", "c" * 32))
    assert store.delete_function("fn") is True
    assert store.get_function_url("fn") is None
    assert store.function_url_by_id("c" * 32) is None
    # The function comes back without a URL, and may have one again.
    add_function(store, "fn")
    assert store.get_function_url("fn") is None
    assert store.create_function_url(url("fn", "c" * 32)) is UrlCreation.CREATED


def test_list_pages_by_function_name(store: Store) -> None:
    for name, url_id in (("b", "b" * 32), ("a", "d" * 32), ("c", "e" * 32)):
        add_function(store, name)
        store.create_function_url(url(name, url_id))
    assert [u.function_name for u in store.list_function_urls(None, 2)] == ["a", "b"]
    assert [u.function_name for u in store.list_function_urls("b", 2)] == ["c"]
    assert store.list_function_urls("c", 2) == []


def test_urls_survive_restart(data_dir: Path) -> None:
    with Store.open(data_dir) as store:
        add_function(store, "fn")
        store.create_function_url(url("fn", cors={"AllowCredentials": True, "MaxAge": 0}))
    with Store.open(data_dir) as store:
        assert store.function_url_by_id("a" * 32) == url(
            "fn", cors={"AllowCredentials": True, "MaxAge": 0}
        )


def test_version_1_database_gains_the_table_and_keeps_its_functions(data_dir: Path) -> None:
    """A database written before URLs existed (schema 1) is migrated in place."""
    with Store.open(data_dir) as store:
        add_function(store, "old")
    conn = sqlite3.connect(data_dir / "sluice.db")
    conn.execute("DROP TABLE async_events")  # schema 3's
    conn.execute("DROP TABLE function_urls")
    conn.execute("PRAGMA user_version=1")
    conn.commit()
    conn.close()
    with Store.open(data_dir) as store:
        assert store.get_function("old") is not None
        assert store.create_function_url(url("old")) is UrlCreation.CREATED
    conn = sqlite3.connect(data_dir / "sluice.db")
    try:
        assert conn.execute("PRAGMA user_version").fetchone() == (SCHEMA_VERSION,)
        assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
    finally:
        conn.close()


def test_control_plane_finds_a_url_and_its_function_by_id(store: Store) -> None:
    """What the data plane calls with the id from a request's host."""
    from sluice.server._control import ControlPlane

    control = ControlPlane(store, engine=None)  # type: ignore[arg-type]  # no engine needed
    store.create_function_url(url("fn", cors=CORS))
    found = control.function_url_by_id("a" * 32)
    assert found is not None
    assert found[0] == url("fn", cors=CORS)
    assert found[1].name == "fn"
    assert control.function_url_by_id("b" * 32) is None
