"""Python functions on sluice's runtime client, driven by boto3 against `sluice serve`."""

from __future__ import annotations

import base64
import itertools
import json
import textwrap
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from botocore.exceptions import ClientError

from tests.conftest import client_for, create_function, start_server, unique

STREAMING = textwrap.dedent(
    """\
    import os, time
    from sluice_runtime import streamify_response

    COUNT = 0

    @streamify_response
    def handler(event, response_stream, context):
        global COUNT
        COUNT += 1
        response_stream.set_content_type("text/plain")
        print("invocation", COUNT, "pid", os.getpid())
        for index, word in enumerate(event.get("words", [])):
            if event.get("fail_at") == index:
                raise ValueError("This is a custom error mid-stream!")
            if event.get("exit_at") == index:
                os._exit(3)
            response_stream.write(word)
            time.sleep(event.get("pause", 0))
        response_stream.write(f"count={COUNT}")
    """
)


def _stream(client, name: str, **event):
    """Invoke with a stream; returns chunks, the InvokeComplete and arrival times."""
    started = time.monotonic()
    response = client.invoke_with_response_stream(
        FunctionName=name, Payload=json.dumps(event), LogType="Tail"
    )
    chunks, arrivals, complete = [], [], None
    for event_ in response["EventStream"]:
        if "PayloadChunk" in event_:
            chunks.append(event_["PayloadChunk"]["Payload"])
            arrivals.append(time.monotonic() - started)
        else:
            complete = event_["InvokeComplete"]
    return chunks, complete, arrivals


@pytest.fixture(scope="module")
def streaming_fn(lambda_client) -> str:
    name = unique("stream")
    create_function(lambda_client, name, {"app.py": STREAMING}, Timeout=1)
    return name


def test_chunks_arrive_as_written(lambda_client, streaming_fn):
    words = ["This ", "function ", "is ", "streaming "]
    chunks, complete, arrivals = _stream(lambda_client, streaming_fn, words=words, pause=0.2)
    assert chunks[:4] == [w.encode() for w in words]
    gaps = [later - earlier for earlier, later in itertools.pairwise(arrivals[:4])]
    assert all(0.1 < gap < 0.6 for gap in gaps), gaps
    assert "ErrorCode" not in complete
    log = base64.b64decode(complete["LogResult"]).decode()
    assert log.count("START RequestId:") == 1 and "END RequestId:" in log
    assert "REPORT RequestId:" in log and "Memory Size: 128 MB" in log
    assert "invocation" in log


def test_half_second_pace_through_a_real_stream(lambda_client):
    name = unique("pace")
    create_function(lambda_client, name, {"app.py": STREAMING})
    chunks, _, arrivals = _stream(lambda_client, name, words=["a", "b", "c", "d"], pause=0.5)
    assert len(chunks) == 5
    gaps = [later - earlier for earlier, later in itertools.pairwise(arrivals[:4])]
    assert all(0.35 < gap < 0.9 for gap in gaps), gaps


def test_warm_environment_is_reused(lambda_client, streaming_fn):
    counts = []
    for _ in range(3):
        chunks, _, _ = _stream(lambda_client, streaming_fn)
        counts.append(int(chunks[-1].decode().split("=")[1]))
    assert counts == sorted(counts) and counts[-1] - counts[0] == 2


def test_mid_stream_exception(lambda_client, streaming_fn):
    chunks, complete, _ = _stream(
        lambda_client, streaming_fn, words=["This ", "function ", "x"], fail_at=2
    )
    assert chunks == [b"This ", b"function "]
    assert complete["ErrorCode"] == "Unhandled"
    assert complete["ErrorDetails"] == "This is a custom error mid-stream!"
    log = base64.b64decode(complete["LogResult"]).decode()
    assert "ValueError" in log and "REPORT RequestId:" in log


def test_timeout_mid_stream(lambda_client, streaming_fn):
    chunks, complete, _ = _stream(
        lambda_client, streaming_fn, words=["This ", "function ", "is ", "late"], pause=0.45
    )
    assert chunks[:2] == [b"This ", b"function "] and len(chunks) <= 3
    assert complete["ErrorCode"] == "Sandbox.Timedout"
    assert complete["ErrorDetails"] == "Task timed out after 1.00 seconds"
    log = base64.b64decode(complete["LogResult"]).decode()
    assert "Status: timeout" in log
    # The next invocation gets a fresh environment: the module counter starts again.
    chunks, complete, _ = _stream(lambda_client, streaming_fn)
    assert chunks == [b"count=1"] and "ErrorCode" not in complete


def test_crash_mid_stream(lambda_client, streaming_fn):
    chunks, complete, _ = _stream(lambda_client, streaming_fn, words=["one", "two"], exit_at=1)
    assert chunks == [b"one"]
    assert complete["ErrorCode"] == "Runtime.ExitError"
    assert complete["ErrorDetails"] == "Runtime exited with error: exit status 3"


def test_import_error(lambda_client):
    name = unique("import")
    create_function(lambda_client, name, {"app.py": "import no_such_module\n"})
    chunks, complete, _ = _stream(lambda_client, name)
    assert chunks == []
    assert complete["ErrorCode"] == "Runtime.ImportModuleError"
    assert complete["ErrorDetails"] == (
        "Unable to import module 'app': No module named 'no_such_module'"
    )
    buffered = lambda_client.invoke(FunctionName=name)
    assert buffered["FunctionError"] == "Unhandled"
    document = json.load(buffered["Payload"])
    assert document["errorType"] == "Runtime.ImportModuleError"


def test_buffered_invoke_types(lambda_client):
    name = unique("buffered")
    create_function(
        lambda_client,
        name,
        {"app.py": "def handler(event, context):\n    print('hi')\n    return {'got': event}\n"},
    )
    response = lambda_client.invoke(FunctionName=name, Payload=b'{"a": 1}', LogType="Tail")
    assert json.load(response["Payload"]) == {"got": {"a": 1}}
    assert response["ExecutedVersion"] == "$LATEST"
    log = base64.b64decode(response["LogResult"]).decode()
    assert "hi\n" in log and "REPORT RequestId:" in log
    assert lambda_client.invoke(FunctionName=name, InvocationType="Event")["StatusCode"] == 202
    assert lambda_client.invoke(FunctionName=name, InvocationType="DryRun")["StatusCode"] == 204


def test_buffered_invoke_of_streaming_error(lambda_client, streaming_fn):
    """Spec decision 6: 200, X-Amz-Function-Error: Unhandled, the error document."""
    response = lambda_client.invoke(
        FunctionName=streaming_fn, Payload=json.dumps({"words": ["a", "b"], "fail_at": 1})
    )
    assert response["StatusCode"] == 200 and response["FunctionError"] == "Unhandled"
    document = json.load(response["Payload"])
    assert document["errorType"] == "ValueError"
    assert document["errorMessage"] == "This is a custom error mid-stream!"


def test_concurrency_limit(tmp_path):
    running = start_server(tmp_path / "data", "--concurrency", "10")
    try:
        client = client_for(running.url)
        name = unique("wide")
        create_function(client, name, {"app.py": STREAMING})
        with ThreadPoolExecutor(10) as pool:
            futures = [
                pool.submit(_stream, client, name, words=["x", "y"], pause=0.8) for _ in range(10)
            ]
            time.sleep(0.6)
            with pytest.raises(ClientError) as excinfo:
                client.invoke_with_response_stream(FunctionName=name, Payload=b"{}")
            results = [future.result() for future in futures]
        assert excinfo.value.response["Error"]["Code"] == "TooManyRequestsException"
        assert excinfo.value.response["ResponseMetadata"]["HTTPStatusCode"] == 429
        first_chunk_times = [arrivals[0] for _, _, arrivals in results]
        # Ten streams ran side by side: each took ~1.6 s, all started within the first second.
        assert max(first_chunk_times) < 1.5, first_chunk_times
        assert all(complete == {"LogResult": complete["LogResult"]} for _, complete, _ in results)
    finally:
        assert running.stop() == 0


def test_restart_keeps_functions(tmp_path):
    data = tmp_path / "data"
    running = start_server(data)
    name = unique("durable")
    try:
        create_function(client_for(running.url), name, {"app.py": STREAMING}, Tags={"k": "v"})
    finally:
        assert running.stop() == 0
    running = start_server(data)
    try:
        client = client_for(running.url)
        assert client.get_function(FunctionName=name)["Tags"] == {"k": "v"}
        chunks, _, _ = _stream(client, name, words=["back"])
        assert chunks[0] == b"back"
    finally:
        assert running.stop() == 0


def test_stream_stops_at_the_size_limit(tmp_path):
    """`--max-stream-mib` raises or lowers the 200 MiB quota; the stream carries the bytes up
    to it, then ends with Function.ResponseSizeTooLarge (spec decision 2)."""
    running = start_server(tmp_path / "data", "--max-stream-mib", "1")
    try:
        client = client_for(running.url)
        name = unique("big")
        create_function(client, name, {"app.py": STREAMING})
        block = "x" * 65536
        chunks, complete, _ = _stream(client, name, words=[block] * 24)
        assert sum(len(chunk) for chunk in chunks) == 1024 * 1024
        assert complete["ErrorCode"] == "Function.ResponseSizeTooLarge"
        assert complete["ErrorDetails"] == (
            "Response payload size exceeded maximum allowed payload size (1048576 bytes)."
        )
    finally:
        assert running.stop() == 0


def test_client_context_with_non_ascii_text_and_line_breaks(lambda_client):
    """sluice passes such JSON re-serialised as one ASCII line; the handler sees the same
    object the caller encoded."""
    name = unique("context")
    handler = (
        "def handler(event, context):\n"
        "    c = context.client_context\n"
        "    return {'custom': c.custom, 'env': c.env, 'client': c.client}\n"
    )
    create_function(lambda_client, name, {"app.py": handler})
    text = '{\n  "custom": {"name": "café", "party": "🎉"},\n  "env": {"locale": "fr"}\n}'
    response = lambda_client.invoke(
        FunctionName=name, ClientContext=base64.b64encode(text.encode()).decode()
    )
    assert "FunctionError" not in response
    assert json.load(response["Payload"]) == {**json.loads(text), "client": None}
