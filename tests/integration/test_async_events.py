"""Event invocations are stored when accepted: a server killed or stopped before they ran
runs them at its next start, once each; a deleted function's events never run."""

from __future__ import annotations

import contextlib
import json
import signal
import sqlite3
import threading
import time
from pathlib import Path

from tests.conftest import client_for, create_function, start_server, unique

# Appends its tag to a file, then sleeps: a long call keeps the only environment busy.
APP = """
import time

def handler(event, context):
    with open(event["file"], "a") as out:
        out.write(event["tag"] + "\\n")
    time.sleep(event.get("sleep", 0))
    return event["tag"]
"""


def _lines(path: Path) -> list[str]:
    return path.read_text().splitlines() if path.exists() else []


def _wait_for(path: Path, count: int, timeout: float = 20) -> list[str]:
    deadline = time.monotonic() + timeout
    while len(_lines(path)) < count and time.monotonic() < deadline:
        time.sleep(0.05)
    return _lines(path)


def _pending(data: Path) -> list[tuple[str, bytes]]:
    """The stored events, read straight from the database (the server may be down)."""
    conn = sqlite3.connect(data / "sluice.db")
    try:
        return conn.execute("SELECT function_name, payload FROM async_events").fetchall()
    finally:
        conn.close()


def _busy_with_events(tmp_path: Path, out: Path, tags: list[str], log: Path | None = None):
    """A `--concurrency 1` server whose one environment runs a long call, with `tags`
    accepted as Event invocations behind it; returns the server and the function's name.
    Its stderr goes to `log` when given."""
    with (log or tmp_path / "first-stderr.txt").open("w") as stderr:
        server = start_server(tmp_path / "data", "--concurrency", "1", stderr=stderr)
    client = client_for(server.url)
    name = unique("events")
    create_function(client, name, {"app.py": APP}, Timeout=60)
    long_call = {"file": str(out), "tag": "long", "sleep": 60}
    threading.Thread(
        target=_call_until_killed, args=(server.url, name, long_call), daemon=True
    ).start()
    assert _wait_for(out, 1) == ["long"]
    for tag in tags:
        payload = json.dumps({"file": str(out), "tag": tag})
        response = client.invoke(FunctionName=name, InvocationType="Event", Payload=payload)
        assert response["StatusCode"] == 202
    return server, name


def _call_until_killed(url: str, name: str, event: dict) -> None:
    with contextlib.suppress(Exception):  # the server goes away under it
        client_for(url, read_timeout=90).invoke(FunctionName=name, Payload=json.dumps(event))


def _check_ran_once(data: Path, out: Path, tags: list[str]) -> None:
    """Restart on `data`: every tag runs exactly once, and nothing stays stored."""
    server = start_server(data)
    try:
        ran = _wait_for(out, 1 + len(tags))
        time.sleep(1)  # a duplicate would show up now
        assert sorted(_lines(out)) == sorted(["long", *tags]), ran
        assert _pending(data) == []
    finally:
        assert server.stop() == 0


def test_events_accepted_before_a_kill_run_once_after_restart(tmp_path):
    """(a) SIGKILL while the events wait for the busy environment; (d) a second restart
    runs nothing again."""
    out = tmp_path / "ran.txt"
    tags = ["one", "two", "three"]
    server, name = _busy_with_events(tmp_path, out, tags)
    assert server.stop(signal.SIGKILL) == -signal.SIGKILL
    assert {fn for fn, _ in _pending(tmp_path / "data")} == {name}
    assert len(_pending(tmp_path / "data")) == len(tags)
    _check_ran_once(tmp_path / "data", out, tags)
    _check_ran_once(tmp_path / "data", out, tags)  # the second restart runs nothing


def test_events_pending_at_sigterm_run_after_restart(tmp_path):
    """(b) A clean stop does not run or lose the waiting events: the next start runs them."""
    out = tmp_path / "ran.txt"
    tags = ["first", "second"]
    server, _ = _busy_with_events(tmp_path, out, tags)
    assert server.stop() == 0
    assert _lines(out) == ["long"]
    assert len(_pending(tmp_path / "data")) == len(tags)
    _check_ran_once(tmp_path / "data", out, tags)


def test_events_of_a_deleted_function_are_dropped_with_a_warning(tmp_path):
    """(c) Deleting the function drops its waiting events (said on stderr); an event row
    whose function is gone at start (written here behind the server's back, as an older
    or damaged database could hold) is dropped with a warning instead of run."""
    out = tmp_path / "ran.txt"
    data = tmp_path / "data"
    first_log, log = tmp_path / "first.txt", tmp_path / "second.txt"
    server, name = _busy_with_events(tmp_path, out, ["doomed"], first_log)
    client_for(server.url).delete_function(FunctionName=name)
    assert _pending(data) == []
    time.sleep(1)
    assert _lines(out) == ["long"]
    assert server.stop(signal.SIGKILL) == -signal.SIGKILL
    said = f"dropped 1 pending Event invocation(s) of deleted function {name}"
    assert said in first_log.read_text()

    conn = sqlite3.connect(data / "sluice.db")  # foreign keys are off by default
    payload = json.dumps({"file": str(out), "tag": "orphan"}).encode()
    with conn:
        conn.execute(
            "INSERT INTO async_events (id, function_name, payload, invoked_arn, region, "
            "accepted_at) VALUES ('orphan', ?, ?, 'arn', 'eu-west-1', 0)",
            (name, payload),
        )
    conn.close()
    with log.open("w") as stderr:
        second = start_server(data, stderr=stderr)
    try:
        time.sleep(1)
        assert _lines(out) == ["long"]
        assert _pending(data) == []
    finally:
        assert second.stop() == 0
    text = log.read_text()
    assert f"dropped an Event invocation of {name}" in text
    assert "the function no longer exists" in text


def test_an_event_that_ran_leaves_nothing_to_run_again(tmp_path):
    """(d) The normal path: the event runs at once, its row goes, a restart runs nothing."""
    out = tmp_path / "ran.txt"
    data = tmp_path / "data"
    server = start_server(data)
    try:
        client = client_for(server.url)
        name = unique("normal")
        create_function(client, name, {"app.py": APP})
        payload = json.dumps({"file": str(out), "tag": "once"})
        client.invoke(FunctionName=name, InvocationType="Event", Payload=payload)
        assert _wait_for(out, 1) == ["once"]
        deadline = time.monotonic() + 10
        while _pending(data) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert _pending(data) == []
    finally:
        assert server.stop() == 0
    again = start_server(data)
    try:
        time.sleep(1)
        assert _lines(out) == ["once"]
    finally:
        assert again.stop() == 0
