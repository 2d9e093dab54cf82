"""The Runtime API as runtimes see it: AWS's own client, variables, misuse, idle expiry."""

from __future__ import annotations

import base64
import json
import os
import sys
import textwrap
import time

from tests.conftest import client_for, create_function, start_server, unique

AWSLAMBDARIC_BOOTSTRAP = '#!/bin/sh\nexec "$PYTHON_BIN" -m awslambdaric app.handler\n'
ENV_HANDLER = textwrap.dedent(
    """\
    import os
    def handler(event, context):
        keys = ["AWS_LAMBDA_RUNTIME_API", "_HANDLER", "LAMBDA_TASK_ROOT",
                "AWS_LAMBDA_FUNCTION_NAME", "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
                "AWS_LAMBDA_FUNCTION_VERSION", "AWS_REGION", "AWS_LAMBDA_LOG_GROUP_NAME",
                "AWS_LAMBDA_LOG_STREAM_NAME", "GREETING", "HOME", "VIRTUAL_ENV"]
        return {"env": {k: os.environ.get(k) for k in keys}, "cwd": os.getcwd(),
                "request_id": context.aws_request_id,
                "remaining": context.get_remaining_time_in_millis(),
                "arn": context.invoked_function_arn}
    """
)


def test_awslambdaric_runs_a_buffered_function(lambda_client):
    """AWS's official Python runtime client, from PyPI, as a provided.al2023 runtime."""
    name = unique("ric")
    create_function(
        lambda_client,
        name,
        {
            "bootstrap": AWSLAMBDARIC_BOOTSTRAP,
            "app.py": "def handler(event, context):\n    return {'echo': event}\n",
        },
        Runtime="provided.al2023",
        Environment={"Variables": {"PYTHON_BIN": sys.executable}},
    )
    for payload in ({"n": 1}, {"n": 2}):
        response = lambda_client.invoke(FunctionName=name, Payload=json.dumps(payload))
        assert "FunctionError" not in response, response["Payload"].read()
        assert json.load(response["Payload"]) == {"echo": payload}
    streamed = lambda_client.invoke_with_response_stream(FunctionName=name, Payload=b'{"n": 3}')
    events = list(streamed["EventStream"])
    assert events == [
        {"PayloadChunk": {"Payload": b'{"echo": {"n": 3}}'}},
        {"InvokeComplete": {}},
    ]


def test_function_environment(lambda_client):
    name = unique("env")
    create_function(
        lambda_client,
        name,
        {"app.py": ENV_HANDLER},
        MemorySize=256,
        Timeout=5,
        Environment={"Variables": {"GREETING": "hello"}},
    )
    result = json.load(lambda_client.invoke(FunctionName=name)["Payload"])
    env = result["env"]
    assert env["_HANDLER"] == "app.handler"
    assert env["AWS_LAMBDA_FUNCTION_NAME"] == name
    assert env["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"] == "256"
    assert env["AWS_LAMBDA_FUNCTION_VERSION"] == "$LATEST"
    assert env["AWS_REGION"] == "eu-west-1"
    assert env["AWS_LAMBDA_LOG_GROUP_NAME"] == f"/aws/lambda/{name}"
    assert "[$LATEST]" in env["AWS_LAMBDA_LOG_STREAM_NAME"]
    assert env["AWS_LAMBDA_RUNTIME_API"].startswith("127.0.0.1:")
    assert env["GREETING"] == "hello"
    assert env["LAMBDA_TASK_ROOT"] == result["cwd"]
    # The server's own environment does not leak into functions.
    assert env["HOME"] is None and env["VIRTUAL_ENV"] is None
    assert 0 < result["remaining"] <= 5000
    assert result["arn"].endswith(f":function:{name}")


MISUSE_BOOTSTRAP = textwrap.dedent(
    """\
    #!/usr/bin/env python3
    import http.client, json, os
    host, port = os.environ["AWS_LAMBDA_RUNTIME_API"].split(":")
    base = "/2018-06-01/runtime/invocation/"
    def call(method, path, body=None, headers=None):
        conn = http.client.HTTPConnection(host, int(port))
        conn.request(method, path, body=body, headers=headers or {})
        resp = conn.getresponse()
        return resp, resp.read()
    def next_id():
        resp, _ = call("GET", base + "next")
        assert resp.getheader("Content-Type") == "application/json"
        return resp.getheader("Lambda-Runtime-Aws-Request-Id")
    rid = next_id()
    results = {}
    r, body = call("POST", base + "not-the-id/response", b"{}")
    results["wrong_id"] = [r.status, json.loads(body)["errorType"]]
    r, body = call("GET", "/2018-06-01/runtime/nonsense")
    results["unknown"] = r.status
    r, body = call("POST", base + rid + "/response", b'"fine"')
    results["first"] = r.status
    r, body = call("POST", base + rid + "/response", b"{}")
    results["twice"] = [r.status, json.loads(body)["errorType"]]
    print("RESULTS " + json.dumps(results), flush=True)
    rid = next_id()
    r, body = call("POST", base + rid + "/response", b"{}",
                   {"Lambda-Runtime-Function-Response-Mode": "Streaming"})
    print("MODE " + json.dumps([r.status, json.loads(body)["errorType"]]), flush=True)
    next_id()
    """
)


def test_runtime_protocol_misuse_gets_documented_statuses(lambda_client):
    name = unique("misuse")
    create_function(lambda_client, name, {"bootstrap": MISUSE_BOOTSTRAP}, Runtime="provided.al2023")
    first = lambda_client.invoke(FunctionName=name, LogType="Tail")
    assert json.load(first["Payload"]) == "fine"
    second = lambda_client.invoke(FunctionName=name, LogType="Tail")
    assert second["FunctionError"] == "Unhandled"
    assert json.load(second["Payload"])["errorType"] == "Runtime.InvalidResponseModeHeader"
    log = "".join(base64.b64decode(r["LogResult"]).decode() for r in (first, second))
    results = json.loads(log.split("RESULTS ", 1)[1].splitlines()[0])
    assert results == {
        "wrong_id": [400, "InvalidRequestID"],
        "unknown": 404,
        "first": 202,
        "twice": [403, "InvalidStateTransition"],
    }


def test_idle_environment_stops(tmp_path):
    running = start_server(tmp_path / "data", "--idle-timeout", "0.5")
    try:
        client = client_for(running.url)
        name = unique("idle")
        create_function(
            client, name, {"app.py": "import os\ndef handler(e, c):\n    return os.getpid()\n"}
        )
        pid = json.load(client.invoke(FunctionName=name)["Payload"])
        assert json.load(client.invoke(FunctionName=name)["Payload"]) == pid
        deadline = time.monotonic() + 5
        while _alive(pid) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not _alive(pid)
        assert json.load(client.invoke(FunctionName=name)["Payload"]) != pid
    finally:
        assert running.stop() == 0


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with open(f"/proc/{pid}/stat") as stat:
        return stat.read().split()[2] != "Z"
