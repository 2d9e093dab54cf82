"""A server killed with SIGKILL: nothing deployed is lost, and the next server on the same
data dir stops the function processes the dead one left running."""

from __future__ import annotations

import contextlib
import io
import json
import os
import random
import re
import signal
import subprocess
import sys
import threading
import time
import zipfile
from pathlib import Path

import pytest

from tests.conftest import client_for, create_function, start_server, unique
from tests.integration.test_lifecycle import ESCAPES, FORKING, _state

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="reads /proc")

STOPPED = re.compile(r"stopped (\d+) function process(?:es)? left running by a previous server")


def _start_logged(data_dir: Path, log: Path):
    """A server whose stderr goes to `log`; returns it and how long it took to be ready."""
    started = time.monotonic()
    with log.open("w") as stderr:
        server = start_server(data_dir, stderr=stderr)
    return server, time.monotonic() - started


def _stream_until_killed(client, name: str, event: dict, first: threading.Event, out: dict):
    """Read a stream until the server dies under it; keep the first chunk (the pids)."""
    try:
        response = client.invoke_with_response_stream(FunctionName=name, Payload=json.dumps(event))
        for item in response["EventStream"]:
            if "PayloadChunk" in item and "pids" not in out:
                out["pids"] = json.loads(item["PayloadChunk"]["Payload"])
                first.set()
    except Exception as exc:
        out["error"] = exc


def _alive(pid: int) -> bool:
    """Running (a zombie has ended: this machine's init may never collect it)."""
    return _state(pid) not in (None, "Z")


def test_the_next_server_stops_what_a_killed_one_left(tmp_path):
    """SIGKILL mid-stream: the stream's runtime and its children (in the group, in sessions
    of their own, ignoring SIGTERM, an orphaned daemon) and an idle warm environment all
    outlive the server; the next one stops them before it listens and says so."""
    data = tmp_path / "data"
    first = start_server(data)
    client = client_for(first.url)
    name = unique("leftover")
    create_function(client, name, {"app.py": FORKING}, Handler="app.stream", Timeout=60)
    idle = unique("idle")
    create_function(client, idle, {"app.py": FORKING})
    warm = json.load(client.invoke(FunctionName=idle)["Payload"])
    streamed: dict = {}
    got_pids = threading.Event()
    event = {"spawn": [*ESCAPES, ["daemon"]], "ticks": 600}
    reader = threading.Thread(
        target=_stream_until_killed, args=(client, name, event, got_pids, streamed)
    )
    reader.start()
    assert got_pids.wait(10)
    time.sleep(1.2)  # the server records an orphan within 0.5 s of adopting it
    assert first.stop(signal.SIGKILL) == -signal.SIGKILL
    reader.join(10)
    pids = [streamed["pids"]["self"], *streamed["pids"]["children"], *warm["children"]]
    assert all(_alive(pid) for pid in pids[1:]), "the scenario needs survivors"

    second, ready = _start_logged(data, tmp_path / "second.txt")
    try:
        assert not any(map(_alive, [*pids, warm["self"]]))
        (count,) = STOPPED.findall((tmp_path / "second.txt").read_text())
        assert int(count) >= len(pids) - 1  # the children; runtimes may have exited
        print(f"\nrestart stopped {count} leftovers; ready in {ready:.2f} s")
        client = client_for(second.url)
        listed = {f["FunctionName"] for f in client.list_functions()["Functions"]}
        assert {name, idle} <= listed
        assert json.load(client.invoke(FunctionName=idle)["Payload"])["self"] > 0
        response = client.invoke_with_response_stream(
            FunctionName=name, Payload=json.dumps({"spawn": [], "ticks": 2})
        )
        events = list(response["EventStream"])
        assert b"".join(e["PayloadChunk"]["Payload"] for e in events[:-1]).endswith(b"}..")
        assert "ErrorCode" not in events[-1]["InvokeComplete"]
        assert list((data / "run").glob("*")) != []  # the new environment's record
    finally:
        assert second.stop() == 0
    assert list((data / "run").iterdir()) == []


def _big_zip(files: int, size: int) -> bytes:
    """Incompressible members, so the archive is large and slow to extract."""
    rng = random.Random(6)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as archive:
        archive.writestr("app.py", "def handler(event, context):\n    return 'big'\n")
        for index in range(files):
            archive.writestr(f"data/{index:05}.bin", rng.randbytes(size))
    return buffer.getvalue()


def test_a_kill_during_create_function_loses_nothing_deployed(tmp_path):
    """SIGKILL while a 40 MB CreateFunction is being extracted: after a restart the
    functions created before are listed and run, the interrupted one is absent, and the
    code folder holds no temp files and no unreferenced code."""
    data = tmp_path / "data"
    first = start_server(data)
    client = client_for(first.url, read_timeout=120)
    create_function(client, "kept", {"app.py": "def handler(e, c):\n    return 'kept'\n"})
    kept_sha = client.get_function(FunctionName="kept")["Configuration"]["CodeSha256"]
    big = _big_zip(4000, 10_000)

    def create_big() -> None:
        with contextlib.suppress(Exception):  # the server is killed under it
            create_function(client, "big", {}, Code={"ZipFile": big})

    creator = threading.Thread(target=create_big)
    creator.start()
    code = data / "code"
    deadline = time.monotonic() + 60
    while not any(p.name.startswith(".tmp-") for p in code.iterdir()):
        assert time.monotonic() < deadline, "the upload never reached extraction"
        time.sleep(0.002)
    assert first.stop(signal.SIGKILL) == -signal.SIGKILL
    creator.join(30)
    assert any(p.name.startswith(".tmp-") for p in code.iterdir())  # killed mid-write

    second = start_server(data)
    try:
        client = client_for(second.url)
        assert [f["FunctionName"] for f in client.list_functions()["Functions"]] == ["kept"]
        assert client.invoke(FunctionName="kept")["Payload"].read() == b'"kept"'
        assert client.get_function(FunctionName="kept")["Configuration"]["CodeSha256"] == (kept_sha)
        names = sorted(p.name for p in code.iterdir())
        assert len(names) == 2 and names[1] == names[0] + ".zip"
    finally:
        assert second.stop() == 0


def test_a_second_server_on_the_same_data_dir_is_refused(tmp_path):
    """The data dir is locked: a second server would sweep the first one's uploads and
    take its function processes for leftovers. It exits 2; the first is untouched."""
    data = tmp_path / "data"
    first = start_server(data)
    try:
        client = client_for(first.url)
        name = unique("owner")
        create_function(client, name, {"app.py": FORKING})
        before = json.load(client.invoke(FunctionName=name)["Payload"])["self"]
        second = subprocess.run(
            [sys.executable, "-m", "sluice", "serve", "--port", "0", "--data-dir", str(data)],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
        assert second.returncode == 2
        assert second.stderr.strip().endswith(
            f"data directory {data} is in use by another sluice server (pid {first.process.pid})"
        )
        assert json.load(client.invoke(FunctionName=name)["Payload"])["self"] == before
    finally:
        assert first.stop() == 0


def _start_ticks(pid: int) -> int:
    text = Path(f"/proc/{pid}/stat").read_text()
    return int(text[text.rindex(")") + 2 :].split()[19])


def test_records_never_kill_a_process_that_is_not_ours(tmp_path):
    """A record names a pid, its start time and the boot: a reused pid (another start
    time) or a record from an earlier boot is left alone; a file that is no record is
    ignored. All are removed."""
    data = tmp_path / "data"
    run = data / "run"
    run.mkdir(parents=True)
    stranger = subprocess.Popen(["sleep", "60"], start_new_session=True)
    try:
        ticks = _start_ticks(stranger.pid)
        boot = Path("/proc/sys/kernel/random/boot_id").read_text().strip()
        records = {
            "env-1.json": {"pid": stranger.pid, "start": ticks - 1, "boot": boot, "marker": ""},
            "env-2.json": {"pid": stranger.pid, "start": ticks, "boot": "other", "marker": ""},
        }
        for file, record in records.items():
            (run / file).write_text(json.dumps(record))
        (run / "orphan-3.json").write_text("not json")
        server, _ = _start_logged(data, tmp_path / "log.txt")
        try:
            assert stranger.poll() is None
            assert not STOPPED.search((tmp_path / "log.txt").read_text())
            assert list(run.iterdir()) == []
        finally:
            assert server.stop() == 0
    finally:
        stranger.kill()
        stranger.wait()


def test_a_record_of_a_leftover_is_honoured(tmp_path):
    """The converse, without a crash: a session leader recorded by pid and start time is
    stopped with its whole session, also when it ignores SIGTERM."""
    data = tmp_path / "data"
    run = data / "run"
    run.mkdir(parents=True)
    leftover = subprocess.Popen(
        ["sh", "-c", "trap '' TERM; sleep 60 & sleep 60 & wait"], start_new_session=True
    )
    time.sleep(0.2)
    record = {
        "pid": leftover.pid,
        "start": _start_ticks(leftover.pid),
        "boot": Path("/proc/sys/kernel/random/boot_id").read_text().strip(),
        "marker": f"AWS_LAMBDA_LOG_STREAM_NAME={os.urandom(8).hex()}",
    }
    (run / f"env-{leftover.pid}.json").write_text(json.dumps(record))
    server, ready = _start_logged(data, tmp_path / "log.txt")
    try:
        assert leftover.wait(2) == -signal.SIGKILL
        assert STOPPED.findall((tmp_path / "log.txt").read_text()) == ["3"]
        print(f"\nrestart stopped 3 recorded processes; ready in {ready:.2f} s")
    finally:
        assert server.stop() == 0
