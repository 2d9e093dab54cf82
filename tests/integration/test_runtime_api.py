"""The Runtime API as runtimes see it: AWS's own client, variables, misuse, idle expiry."""

from __future__ import annotations

import base64
import json
import os
import socket
import sys
import textwrap
import time
import urllib.request

import pytest
from botocore.exceptions import ClientError

from tests.conftest import client_for, create_function, error_of, start_server, unique

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


# --- A scripted custom runtime: what each invocation does is in its event -----------------

SCRIPTED_BOOTSTRAP = textwrap.dedent(
    """\
    #!/usr/bin/env python3
    import base64, http.client, json, os, socket, time
    api = os.environ["AWS_LAMBDA_RUNTIME_API"]
    host, port = api.split(":")
    base = "/2018-06-01/runtime/"
    def call(method, path, body=None, headers=None):
        conn = http.client.HTTPConnection(host, int(port), timeout=10)
        conn.request(method, base + path, body=body, headers=headers or {})
        answer = conn.getresponse()
        return answer, answer.read()
    stray = False
    while True:
        if stray:
            # Another `next`, on a connection closed at once, before the runtime's own.
            sock = socket.create_connection((host, int(port)))
            sock.sendall(f"GET {base}invocation/next HTTP/1.1\\r\\nHost: x\\r\\n\\r\\n".encode())
            sock.close()
            time.sleep(0.5)
            stray = False
        answer, body = call("GET", "invocation/next")
        rid = answer.getheader("Lambda-Runtime-Aws-Request-Id")
        event = json.loads(body)
        reply = {"api": api, "pid": os.getpid()}
        if event.get("do") == "raw":
            raw = base64.b64decode(event["raw"]).replace(b"{rid}", rid.encode())
            with socket.create_connection((host, int(port)), timeout=10) as sock:
                sock.sendall(raw)
                sock.recv(65536)
            continue
        if event.get("do") == "headers":
            reply["headers"] = {k.lower(): v for k, v in answer.getheaders()}
        elif event.get("do") == "late-init-error":
            refused, document = call("POST", "init/error", b'{"errorType": "Late"}')
            reply["init_error"] = [refused.status, json.loads(document)]
        elif event.get("do") == "stray":
            stray = True
        call("POST", f"invocation/{rid}/response", json.dumps(reply).encode())
    """
)
INVOCATION = "/2018-06-01/runtime/invocation/{rid}"


@pytest.fixture(scope="module")
def scripted(lambda_client) -> str:
    name = unique("scripted")
    create_function(
        lambda_client, name, {"bootstrap": SCRIPTED_BOOTSTRAP}, Runtime="provided.al2023", Timeout=3
    )
    return name


def run_script(client, name: str, **event) -> dict:
    response = client.invoke(FunctionName=name, Payload=json.dumps(event))
    assert "FunctionError" not in response, response["Payload"].read()
    return json.load(response["Payload"])


def raw_post(path: str, headers: dict[str, str], body: bytes = b"", trailers: str = "") -> str:
    """A request the runtime sends as is: Content-Length framing, or chunked when
    `trailers` is given (one chunk of `body`, then the trailers)."""
    head = f"POST {path} HTTP/1.1\r\nHost: x\r\n" + "".join(
        f"{k}: {v}\r\n" for k, v in headers.items()
    )
    if trailers:
        framed = f"{len(body):x}\r\n".encode() + body + f"\r\n0\r\n{trailers}\r\n".encode()
        data = head.encode("latin-1") + b"Transfer-Encoding: chunked\r\n\r\n" + framed
    else:
        data = head.encode("latin-1") + f"Content-Length: {len(body)}\r\n\r\n".encode() + body
    return base64.b64encode(data).decode()


STREAMING_MODE = {"Lambda-Runtime-Function-Response-Mode": "streaming"}


def raw_event(raw: str) -> dict:
    return {"do": "raw", "raw": raw}


def test_a_too_deeply_nested_error_document_is_kept_as_text(lambda_client, scripted):
    """json.loads raises RecursionError on it; that is one more body that is not a JSON
    object, not a reason to drop the runtime's connection."""
    raw = raw_post(f"{INVOCATION}/error", {}, b"[" * 1000)
    response = lambda_client.invoke(FunctionName=scripted, Payload=json.dumps(raw_event(raw)))
    assert response["FunctionError"] == "Unhandled"
    assert json.load(response["Payload"]) == {"errorMessage": "[" * 1000, "errorType": "Unknown"}

    deep = base64.b64encode(b"[" * 2000).decode()
    trailers = (
        f"Lambda-Runtime-Function-Error-Type: Deep\r\n"
        f"Lambda-Runtime-Function-Error-Body: {deep}\r\n"
    )
    raw = raw_post(f"{INVOCATION}/response", STREAMING_MODE, b"part", trailers)
    events = list(
        lambda_client.invoke_with_response_stream(
            FunctionName=scripted, Payload=json.dumps(raw_event(raw))
        )["EventStream"]
    )
    assert events == [
        {"PayloadChunk": {"Payload": b"part"}},
        {"InvokeComplete": {"ErrorCode": "Unhandled", "ErrorDetails": "[" * 2000}},
    ]
    run_script(lambda_client, scripted)  # the same runtime serves on


def test_a_content_type_with_bytes_over_0x7f_reaches_the_caller_as_sent(lambda_client, scripted):
    """HTTP allows obs-text in a field value and RAPID (Go) forwards it: the caller gets the
    runtime's bytes, as its client decodes them (latin-1 for botocore), not a 500."""
    content_type = "text/caf\xe9"
    buffered = raw_post(f"{INVOCATION}/response", {"Content-Type": content_type}, b"hi")
    response = lambda_client.invoke(FunctionName=scripted, Payload=json.dumps(raw_event(buffered)))
    assert response["ResponseMetadata"]["HTTPHeaders"]["content-type"] == content_type
    assert response["Payload"].read() == b"hi"

    streamed = raw_post(
        f"{INVOCATION}/response",
        {**STREAMING_MODE, "Content-Type": content_type},
        b"hi",
        "x: y\r\n",
    )
    response = lambda_client.invoke_with_response_stream(
        FunctionName=scripted, Payload=json.dumps(raw_event(streamed))
    )
    assert response["ResponseStreamContentType"] == content_type
    assert list(response["EventStream"]) == [
        {"PayloadChunk": {"Payload": b"hi"}},
        {"InvokeComplete": {}},
    ]


def test_client_context_reaches_the_runtime_as_one_ascii_line_of_the_same_json(
    lambda_client, scripted
):
    """A header cannot carry a line break, and non-ASCII bytes in one are read differently
    by each client: such JSON is re-serialised, the same value in `\\u` escapes."""
    text = '{\n  "custom": {"name": "café", "party": "🎉"},\n  "env": {"locale": "fr"}\n}'
    context = base64.b64encode(text.encode()).decode()
    response = lambda_client.invoke(
        FunctionName=scripted, ClientContext=context, Payload=b'{"do": "headers"}'
    )
    header = json.load(response["Payload"])["headers"]["lambda-runtime-client-context"]
    assert header.isascii() and "\n" not in header
    assert json.loads(header) == json.loads(text)

    plain = '{"custom": {"k": "v"}}'  # what AWS passes as is, and so does sluice
    response = lambda_client.invoke(
        FunctionName=scripted,
        ClientContext=base64.b64encode(plain.encode()).decode(),
        Payload=b'{"do": "headers"}',
    )
    assert json.load(response["Payload"])["headers"]["lambda-runtime-client-context"] == plain


def test_tenant_id_is_checked_against_the_model(lambda_client, scripted):
    """botocore checks only its minimum length; the Lambda API checks the pattern, before
    the runtime could get a header value it cannot carry (non-ASCII text)."""
    pattern = "Member must satisfy regular expression pattern: [a-zA-Z0-9\\._:\\/=+\\-@ ]+"
    for tenant in ("tenant#1", "café"):
        with pytest.raises(ClientError) as excinfo:
            lambda_client.invoke(FunctionName=scripted, TenantId=tenant, Payload=b"{}")
        code, status, message = error_of(excinfo)
        assert (code, status) == ("ValidationException", 400)
        # botocore sends UTF-8; the value is shown as the header's bytes read as latin-1.
        shown = tenant.encode().decode("latin-1")
        assert message == (
            f"1 validation error detected: Value '{shown}' at 'tenantId' failed to satisfy "
            f"constraint: {pattern}"
        )
    tenant = "tenant-1 a.b@c:d/e=f+g_h"
    response = lambda_client.invoke(
        FunctionName=scripted, TenantId=tenant, Payload=b'{"do": "headers"}'
    )
    assert json.load(response["Payload"])["headers"]["lambda-runtime-aws-tenant-id"] == tenant


def test_init_error_after_init_is_refused_and_changes_nothing(lambda_client, scripted):
    """RAPID accepts /init/error only before the first `next` (states.go, Started state)."""
    first = run_script(lambda_client, scripted, do="late-init-error")
    status, document = first["init_error"]
    assert (status, document["errorType"]) == (403, "InvalidStateTransition")
    assert document["errorMessage"] == (
        "State transition from INVOKE to INIT_ERROR failed for runtime."
    )
    assert run_script(lambda_client, scripted)["pid"] == first["pid"]


def test_a_second_next_that_disconnects_takes_no_invocation(lambda_client, scripted):
    """A stray `next` waits beside the runtime's, as on RAPID; once its connection is
    closed it must not be handed (and lose) the invocation after the runtime's."""
    first = run_script(lambda_client, scripted)
    time.sleep(0.3)  # the runtime polls `next` again
    host, port = first["api"].split(":")
    with socket.create_connection((host, int(port)), timeout=5) as sock:
        sock.sendall(b"GET /2018-06-01/runtime/invocation/next HTTP/1.1\r\nHost: x\r\n\r\n")
        sock.settimeout(0.3)
        with pytest.raises(TimeoutError):
            sock.recv(65536)  # no answer: it waits for an invocation
    pids = [run_script(lambda_client, scripted)["pid"] for _ in range(2)]
    assert pids == [first["pid"], first["pid"]]


def test_a_next_whose_connection_closed_takes_no_invocation(lambda_client, scripted):
    """The runtime sends a stray `next` and closes it before polling on its own: the stray
    must not take (and lose) the invocation after, nor keep the runtime from polling."""
    pid = run_script(lambda_client, scripted, do="stray")["pid"]
    time.sleep(1)  # the stray is sent, closed, and the runtime polls
    assert [run_script(lambda_client, scripted)["pid"] for _ in range(2)] == [pid, pid]


def test_head_requests_get_a_head_only_answer(server, lambda_client, scripted):
    runtime_api = run_script(lambda_client, scripted)["api"]
    host, port = runtime_api.split(":")
    for address in (("127.0.0.1", server.port), (host, int(port))):
        with socket.create_connection(address, timeout=5) as sock:
            sock.sendall(b"HEAD /x HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            answer = b""
            while data := sock.recv(65536):
                answer += data
        assert answer.startswith(b"HTTP/1.1 404 Not Found\r\n"), answer
        assert b"\r\ncontent-length: " in answer.lower() and answer.endswith(b"\r\n\r\n")


INIT_ERROR_BOOTSTRAP = textwrap.dedent(
    """\
    #!/usr/bin/env python3
    import http.client, os, sys
    host, port = os.environ["AWS_LAMBDA_RUNTIME_API"].split(":")
    conn = http.client.HTTPConnection(host, int(port))
    body = b'{"errorType": "Bad\\\\udc80Type", "errorMessage": "broken \\\\ud800 init"}'
    conn.request("POST", "/2018-06-01/runtime/init/error", body)
    conn.getresponse().read()
    sys.exit(1)
    """
)


def test_init_error_text_that_utf8_cannot_hold_is_logged(server, lambda_client):
    """JSON escapes of lone surrogates become U+FFFD where the text is used, so the REPORT
    line, the log tail and the function's log file are written."""
    name = unique("surrogate")
    create_function(
        lambda_client, name, {"bootstrap": INIT_ERROR_BOOTSTRAP}, Runtime="provided.al2023"
    )
    response = lambda_client.invoke_with_response_stream(FunctionName=name, LogType="Tail")
    (event,) = list(response["EventStream"])
    complete = event["InvokeComplete"]
    assert complete["ErrorCode"] == "Bad\ufffdType"
    assert complete["ErrorDetails"] == "broken \ufffd init"
    tail = base64.b64decode(complete["LogResult"]).decode()
    assert "\tStatus: error\tError Type: Bad\ufffdType\t\n" in tail
    with urllib.request.urlopen(f"{server.url}/_sluice/logs/{name}", timeout=10) as answer:
        assert answer.read().decode() == tail
