"""Process lifecycle, logs and handler styles, through a real server and boto3."""

from __future__ import annotations

import base64
import json
import re
import signal
import subprocess
import textwrap
import threading
import time
from pathlib import Path

import pytest

from tests.conftest import client_for, create_function, start_server, unique

FORKING = textwrap.dedent(
    """\
    import json, os, signal, subprocess, time
    from sluice_runtime import streamify_response

    def spawn(mode, seconds=300):
        # A child in the group, in a session of its own, one that ignores SIGTERM too, one
        # with a cleared environment too, or a daemon: own session, cleared environment,
        # its parent gone (a double fork).
        sleep = ["sleep", str(seconds)]
        if mode == "group":
            return subprocess.Popen(sleep).pid
        if mode == "session":
            return subprocess.Popen(sleep, start_new_session=True).pid
        if mode == "stubborn":
            script = f"trap '' TERM; sleep {seconds}"
            return subprocess.Popen(["sh", "-c", script], start_new_session=True).pid
        if mode == "cleared":
            bare = {"PATH": os.environ["PATH"]}
            return subprocess.Popen(sleep, start_new_session=True, env=bare).pid
        script = f"sleep {seconds} >/dev/null 2>&1 & echo $!"
        out = subprocess.run(
            ["sh", "-c", script], start_new_session=True, env={"PATH": os.environ["PATH"]},
            capture_output=True, text=True, check=True,
        )
        return int(out.stdout)

    def start(event):
        if event.get("ignore_term"):
            signal.signal(signal.SIGTERM, signal.SIG_IGN)
        pids = [spawn(*mode) for mode in event.get("spawn", [["group"]])]
        print("CHILDREN", json.dumps(pids), "SELF", os.getpid(), flush=True)
        return pids

    def handler(event, context):
        pids = start(event)
        time.sleep(event.get("sleep", 0))
        if event.get("exit"):
            os._exit(3)
        return {"children": pids, "self": os.getpid()}

    @streamify_response
    def stream(event, response_stream, context):
        pids = start(event)
        response_stream.write(json.dumps({"children": pids, "self": os.getpid()}))
        for _ in range(event.get("ticks", 0)):
            time.sleep(0.1)
            response_stream.write(".")
    """
)
# Every way a child can leave its environment's process group but the daemon, which
# escapes an environment's stop and is caught only at the server's (see docs/design.md).
ESCAPES = [["group"], ["session"], ["stubborn"]]


def _state(pid: int) -> str | None:
    """The process's state letter, or None once it no longer exists."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            text = stat.read()
    except FileNotFoundError:
        return None
    return text[text.rindex(")") + 2]


def _gone(pid: int, within: float = 5.0, zombie_ok: bool = True) -> bool:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        state = _state(pid)
        if state is None or (zombie_ok and state == "Z"):
            return True
        time.sleep(0.05)
    return False


def _pids_in(log: str) -> tuple[list[int], int]:
    children, parent = re.search(r"CHILDREN (\[[\d, ]*\]) SELF (\d+)", log).groups()
    return json.loads(children), int(parent)


def test_timeout_kills_the_whole_process_group(lambda_client):
    """And every child that left it: its own session, SIGTERM ignored, even a cleared
    environment (found through its parent, the runtime, alive when the stop begins)."""
    name = unique("fork-timeout")
    create_function(lambda_client, name, {"app.py": FORKING}, Timeout=1)
    event = {"sleep": 5, "spawn": [*ESCAPES, ["cleared"]]}
    response = lambda_client.invoke(
        FunctionName=name, Payload=json.dumps(event).encode(), LogType="Tail"
    )
    assert json.load(response["Payload"])["errorType"] == "Sandbox.Timedout"
    children, parent = _pids_in(base64.b64decode(response["LogResult"]).decode())
    assert all(_gone(pid) for pid in [parent, *children])


def test_a_crashed_runtime_leaves_no_children(lambda_client):
    """The runtime exits: its children are orphans by the time the environment is stopped,
    found by their session or their environment."""
    name = unique("fork-crash")
    create_function(lambda_client, name, {"app.py": FORKING})
    event = {"exit": True, "spawn": ESCAPES}
    response = lambda_client.invoke(
        FunctionName=name, Payload=json.dumps(event).encode(), LogType="Tail"
    )
    assert json.load(response["Payload"])["errorType"] == "Runtime.ExitError"
    children, parent = _pids_in(base64.b64decode(response["LogResult"]).decode())
    assert all(_gone(pid) for pid in [parent, *children])


def test_orphans_that_end_by_themselves_are_reaped(lambda_client):
    """`sluice serve` adopts what functions orphan (a child subreaper); one that exits must
    not stay a zombie of the server."""
    name = unique("fork-reap")
    create_function(lambda_client, name, {"app.py": FORKING})
    event = {"spawn": [["daemon", 0.2]]}
    (daemon,) = json.load(
        lambda_client.invoke(FunctionName=name, Payload=json.dumps(event))["Payload"]
    )["children"]
    assert _gone(daemon, within=5, zombie_ok=False)


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT, signal.SIGHUP])
def test_sigterm_stops_every_function_process(tmp_path, sig):
    """Also SIGINT (Ctrl-C) and SIGHUP (the terminal went away): each stops every process
    the functions started, in whatever session, and the server exits 0."""
    running = start_server(tmp_path / "data")
    try:
        client = client_for(running.url)
        name = unique("fork")
        create_function(client, name, {"app.py": FORKING})
        event = json.dumps({"spawn": [*ESCAPES, ["cleared"], ["daemon"]]})
        pids = json.load(client.invoke(FunctionName=name, Payload=event)["Payload"])
    finally:
        assert running.stop(sig) == 0
    assert all(_gone(pid) for pid in [pids["self"], *pids["children"]])


def _read_stream(client, name: str, event: dict, started: threading.Event, out: dict) -> None:
    """Read a stream to its end; note when it ended and its InvokeComplete."""
    response = client.invoke_with_response_stream(FunctionName=name, Payload=json.dumps(event))
    for item in response["EventStream"]:
        if "PayloadChunk" in item and "pids" not in out:
            out["pids"] = json.loads(item["PayloadChunk"]["Payload"])
            started.set()
        elif "InvokeComplete" in item:
            out["complete"] = item["InvokeComplete"]
    out["ended"] = time.monotonic()


def test_sigterm_ends_live_streams_within_the_grace_period(tmp_path):
    """Two streams in flight at SIGTERM: one runtime exits on SIGTERM, one ignores it and
    is killed after the 2 s grace. Both streams end with an InvokeComplete, every process
    (children in other sessions and an orphaned daemon included) is gone, exit status 0."""
    running = start_server(tmp_path / "data")
    streams: dict[str, dict] = {"polite": {}, "stubborn": {}}
    threads = []
    try:
        client = client_for(running.url)
        name = unique("fork-stream")
        create_function(client, name, {"app.py": FORKING}, Handler="app.stream", Timeout=60)
        for label, out in streams.items():
            started = threading.Event()
            event = {
                "spawn": [*ESCAPES, ["daemon"]],
                "ticks": 600,
                "ignore_term": label == "stubborn",
            }
            thread = threading.Thread(
                target=_read_stream, args=(client_for(running.url), name, event, started, out)
            )
            thread.start()
            threads.append(thread)
            assert started.wait(10)
    finally:
        signalled = time.monotonic()
        status = running.stop(signal.SIGTERM)
        stopped = time.monotonic()
        for thread in threads:
            thread.join(10)
    assert status == 0
    for out in streams.values():
        assert out["complete"]["ErrorCode"] == "Runtime.ExitError"
        pids = out["pids"]
        assert all(_gone(pid, within=0.5) for pid in [pids["self"], *pids["children"]])
    polite = streams["polite"]["ended"] - signalled
    stubborn = streams["stubborn"]["ended"] - signalled
    print(
        f"\nSIGTERM -> polite stream end {polite:.2f} s, stubborn stream end "
        f"{stubborn:.2f} s, server exit {stopped - signalled:.2f} s"
    )
    assert "signal: terminated" in streams["polite"]["complete"]["ErrorDetails"]
    assert "signal: killed" in streams["stubborn"]["complete"]["ErrorDetails"]
    assert stubborn < 2 + 1.5 and stopped - signalled < 2 + 3


def test_logs_are_kept_per_function_and_events_run_in_background(lambda_client, server):
    name = unique("logs")
    source = textwrap.dedent(
        """\
        import logging
        logging.getLogger().setLevel(logging.INFO)

        def handler(event, context):
            print("printed", event["n"])
            logging.info("logged %s", event["n"])
            return event["n"]
        """
    )
    create_function(lambda_client, name, {"app.py": source})
    tail = lambda_client.invoke(FunctionName=name, Payload=b'{"n": 1}', LogType="Tail")
    log = base64.b64decode(tail["LogResult"]).decode()
    request_id = tail["ResponseMetadata"]["HTTPHeaders"]["x-amzn-requestid"]
    assert request_id
    assert "printed 1\n" in log
    assert re.search(
        r"\[INFO\]\t\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z\t[0-9a-f-]{36}\tlogged 1\n", log
    )
    assert (
        lambda_client.invoke(FunctionName=name, InvocationType="Event", Payload=b'{"n": 2}')[
            "StatusCode"
        ]
        == 202
    )
    path = server.data_dir / "logs" / f"{name}.log"
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and "printed 2" not in path.read_text():
        time.sleep(0.05)
    text = path.read_text()
    assert "printed 1" in text and "printed 2" in text
    assert text.count("START RequestId:") == 2 and text.count("REPORT RequestId:") == 2


HANDLER_STYLES = textwrap.dedent(
    """\
    import asyncio
    from sluice_runtime import HttpResponseStream, streamify_response

    @streamify_response(content_type="text/event-stream")
    def generator(event, context):
        for index in range(3):
            yield f"data: {index}\\n\\n"

    @streamify_response
    async def coroutine(event, response_stream, context):
        for word in ("async", "works"):
            response_stream.write(word)
            await asyncio.sleep(0.05)

    @streamify_response
    def prelude(event, response_stream, context):
        stream = HttpResponseStream.from_(response_stream, {"statusCode": 201})
        stream.write("created")
    """
)


def _collect(client, name: str):
    response = client.invoke_with_response_stream(FunctionName=name)
    chunks = [e["PayloadChunk"]["Payload"] for e in response["EventStream"] if "PayloadChunk" in e]
    return response["ResponseStreamContentType"], chunks


def test_generator_async_and_prelude_handlers(lambda_client):
    names = {}
    for handler in ("generator", "coroutine", "prelude"):
        names[handler] = unique(handler)
        create_function(
            lambda_client, names[handler], {"app.py": HANDLER_STYLES}, Handler=f"app.{handler}"
        )
    assert _collect(lambda_client, names["generator"]) == (
        "text/event-stream",
        [b"data: 0\n\n", b"data: 1\n\n", b"data: 2\n\n"],
    )
    assert _collect(lambda_client, names["coroutine"]) == (
        "application/octet-stream",
        [b"async", b"works"],
    )
    content_type, chunks = _collect(lambda_client, names["prelude"])
    assert content_type == "application/vnd.awslambda.http-integration-response"
    # Over InvokeWithResponseStream the prelude is not stripped (spec section 5).
    assert b"".join(chunks) == b'{"statusCode":201}' + b"\0" * 8 + b"created"


def test_init_duration_only_on_the_cold_start(lambda_client):
    name = unique("cold")
    create_function(lambda_client, name, {"app.py": "def handler(e, c):\n    return 1\n"})
    logs = [
        base64.b64decode(
            lambda_client.invoke(FunctionName=name, LogType="Tail")["LogResult"]
        ).decode()
        for _ in range(3)
    ]
    assert ["Init Duration" in log for log in logs] == [True, False, False]


def test_a_relative_data_dir_still_runs_handlers_in_subfolders(tmp_path):
    """`sluice serve --data-dir d` from a project folder: function processes run inside
    their code folder, so every path they are given must be absolute."""
    server = start_server(Path("relative-data"), cwd=tmp_path)
    try:
        client = client_for(server.url)
        node = unique("relnode")
        create_function(
            client,
            node,
            {"src/app.js": "exports.handler = async () => 'node ok';"},
            Runtime="nodejs20.x",
            Handler="src/app.handler",
        )
        python = unique("relpy")
        create_function(
            client,
            python,
            {"src/app.py": "def handler(event, context):\n    return 'python ok'\n"},
            Handler="src/app.handler",
        )
        assert client.invoke(FunctionName=node)["Payload"].read() == b'"node ok"'
        assert client.invoke(FunctionName=python)["Payload"].read() == b'"python ok"'
        assert (tmp_path / "relative-data" / "logs" / f"{node}.log").is_file()
    finally:
        assert server.stop() == 0


def test_a_runtime_version_other_than_the_local_one_is_warned_about_once(tmp_path):
    local = subprocess.run(["node", "--version"], capture_output=True, text=True, check=True)
    major = int(local.stdout.strip().lstrip("v").split(".")[0])
    other = 18 if major != 18 else 20
    log = tmp_path / "stderr.txt"
    with log.open("w") as stderr:
        server = start_server(tmp_path / "data", stderr=stderr)
        try:
            client = client_for(server.url)
            name = unique("oldnode")
            create_function(
                client,
                name,
                {"app.js": "exports.handler = async () => process.version;"},
                Runtime=f"nodejs{other}.x",
            )
            for _ in range(2):
                result = client.invoke(FunctionName=name)
                assert json.loads(result["Payload"].read()) == local.stdout.strip()
                client.update_function_configuration(FunctionName=name, Description=str(_))
        finally:
            assert server.stop() == 0
    warning = f"function {name} asks for nodejs{other}.x; running it on nodejs{major}.x"
    assert log.read_text().count(warning) == 1
