"""Process lifecycle, logs and handler styles, through a real server and boto3."""

from __future__ import annotations

import base64
import json
import os
import re
import signal
import subprocess
import textwrap
import time
from pathlib import Path

from tests.conftest import client_for, create_function, start_server, unique

FORKING = textwrap.dedent(
    """\
    import os, subprocess, time

    def handler(event, context):
        child = subprocess.Popen(["sleep", "300"])
        print("CHILD", child.pid, "SELF", os.getpid(), flush=True)
        time.sleep(event.get("sleep", 0))
        return {"child": child.pid, "self": os.getpid()}
    """
)


def _gone(pid: int, within: float = 5.0) -> bool:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
            with open(f"/proc/{pid}/stat") as stat:
                if stat.read().split()[2] == "Z":
                    return True
        except (ProcessLookupError, FileNotFoundError):
            return True
        time.sleep(0.05)
    return False


def test_timeout_kills_the_whole_process_group(lambda_client):
    name = unique("fork-timeout")
    create_function(lambda_client, name, {"app.py": FORKING}, Timeout=1)
    response = lambda_client.invoke(FunctionName=name, Payload=b'{"sleep": 5}', LogType="Tail")
    assert json.load(response["Payload"])["errorType"] == "Sandbox.Timedout"
    log = base64.b64decode(response["LogResult"]).decode()
    child, parent = map(int, re.search(r"CHILD (\d+) SELF (\d+)", log).groups())
    assert _gone(child) and _gone(parent)


def test_sigterm_stops_every_function_process(tmp_path):
    running = start_server(tmp_path / "data")
    try:
        client = client_for(running.url)
        name = unique("fork")
        create_function(client, name, {"app.py": FORKING})
        pids = json.load(client.invoke(FunctionName=name)["Payload"])
    finally:
        assert running.stop(signal.SIGTERM) == 0
    assert _gone(pids["self"]) and _gone(pids["child"])


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
