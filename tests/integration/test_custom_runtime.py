"""A `provided.al2023` function whose bootstrap speaks the Runtime API itself (no sluice code)."""

from __future__ import annotations

import base64
import json
import textwrap
import time

from tests.conftest import create_function, unique

# A complete custom runtime in the test: stdlib only, streaming mode with chunked bodies
# written by hand, and an error reported in trailers that no `Trailer:` header announced.
BOOTSTRAP = textwrap.dedent(
    """\
    #!/usr/bin/env python3
    import http.client, json, os, socket, time, base64
    host, port = os.environ["AWS_LAMBDA_RUNTIME_API"].split(":")
    while True:
        conn = http.client.HTTPConnection(host, int(port))
        conn.request("GET", "/2018-06-01/runtime/invocation/next")
        resp = conn.getresponse()
        event = json.loads(resp.read())
        request_id = resp.getheader("Lambda-Runtime-Aws-Request-Id")
        assert resp.getheader("Content-Type")
        print("handling", request_id, flush=True)
        sock = socket.create_connection((host, int(port)))
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.sendall((
            f"POST /2018-06-01/runtime/invocation/{request_id}/response HTTP/1.1\\r\\n"
            f"Host: {host}\\r\\n"
            "Lambda-Runtime-Function-Response-Mode: streaming\\r\\n"
            "Content-Type: text/plain\\r\\n"
            "Transfer-Encoding: chunked\\r\\n\\r\\n").encode())
        for word in event["words"]:
            data = word.encode()
            if event.get("split"):  # one chunk, sent in two pieces with a pause between
                half = len(data) // 2
                sock.sendall(b"%x\\r\\n%s" % (len(data), data[:half]))
                time.sleep(0.2)
                sock.sendall(data[half:] + b"\\r\\n")
            else:
                sock.sendall(b"%x\\r\\n%s\\r\\n" % (len(data), data))
            time.sleep(event.get("pause", 0))
        if event.get("fail"):
            body = base64.b64encode(json.dumps(
                {"errorType": "Runtime.APIKeyNotFound", "errorMessage": "no key"}).encode())
            sock.sendall(b"0\\r\\nLambda-Runtime-Function-Error-Type: Runtime.APIKeyNotFound\\r\\n"
                         b"Lambda-Runtime-Function-Error-Body: " + body + b"\\r\\n\\r\\n")
        else:
            sock.sendall(b"0\\r\\n\\r\\n")
        reply = sock.recv(4096)
        assert reply.startswith(b"HTTP/1.1 202"), reply
        sock.close()
    """
)


def _events(response) -> list[dict]:
    return list(response["EventStream"])


def test_bootstrap_streams_chunks_as_sent(lambda_client):
    name = unique("custom")
    create_function(lambda_client, name, {"bootstrap": BOOTSTRAP}, Runtime="provided.al2023")
    started = time.monotonic()
    response = lambda_client.invoke_with_response_stream(
        FunctionName=name,
        Payload=json.dumps({"words": ["one ", "two ", "three"], "pause": 0.3}),
        LogType="Tail",
    )
    assert response["ResponseStreamContentType"] == "text/plain"
    arrivals, chunks, complete = [], [], None
    for event in response["EventStream"]:
        arrivals.append(time.monotonic() - started)
        if "PayloadChunk" in event:
            chunks.append(event["PayloadChunk"]["Payload"])
        else:
            complete = event["InvokeComplete"]
    assert chunks == [b"one ", b"two ", b"three"]
    assert arrivals[1] - arrivals[0] > 0.15
    assert arrivals[2] - arrivals[1] > 0.15
    assert "ErrorCode" not in complete
    log = base64.b64decode(complete["LogResult"]).decode()
    assert log.startswith("START RequestId:")
    assert "handling" in log and "\nEND RequestId:" in log and "\nREPORT RequestId:" in log


def test_bootstrap_error_in_trailers(lambda_client):
    name = unique("custom-fail")
    create_function(lambda_client, name, {"bootstrap": BOOTSTRAP}, Runtime="provided.al2023")
    response = lambda_client.invoke_with_response_stream(
        FunctionName=name, Payload=json.dumps({"words": ["partial"], "fail": True})
    )
    events = _events(response)
    assert events[0] == {"PayloadChunk": {"Payload": b"partial"}}
    assert events[-1] == {"InvokeComplete": {"ErrorCode": "Unhandled", "ErrorDetails": "no key"}}


def test_a_chunk_split_across_reads_is_one_payload_chunk(lambda_client):
    """Spec decision 9: one PayloadChunk per chunk the runtime sent, however it arrived."""
    name = unique("custom-split")
    create_function(lambda_client, name, {"bootstrap": BOOTSTRAP}, Runtime="provided.al2023")
    response = lambda_client.invoke_with_response_stream(
        FunctionName=name, Payload=json.dumps({"words": ["first-word", "second"], "split": True})
    )
    assert _events(response) == [
        {"PayloadChunk": {"Payload": b"first-word"}},
        {"PayloadChunk": {"Payload": b"second"}},
        {"InvokeComplete": {}},
    ]


OVERSIZED_ERROR = textwrap.dedent(
    """\
    #!/usr/bin/env python3
    import http.client, os
    host, port = os.environ["AWS_LAMBDA_RUNTIME_API"].split(":")
    conn = http.client.HTTPConnection(host, int(port))
    conn.request("GET", "/2018-06-01/runtime/invocation/next")
    resp = conn.getresponse()
    resp.read()
    rid = resp.getheader("Lambda-Runtime-Aws-Request-Id")
    conn.request("POST", f"/2018-06-01/runtime/invocation/{rid}/error", body=b"x" * 2_000_000,
                 headers={"Lambda-Runtime-Function-Error-Type": "Huge"})
    print("status", conn.getresponse().status, flush=True)
    conn.request("GET", "/2018-06-01/runtime/invocation/next")
    conn.getresponse().read()
    """
)


def test_oversized_error_document_still_ends_the_invocation(lambda_client):
    name = unique("custom-bigerror")
    create_function(
        lambda_client, name, {"bootstrap": OVERSIZED_ERROR}, Runtime="provided.al2023", Timeout=30
    )
    started = time.monotonic()
    response = lambda_client.invoke(FunctionName=name)
    assert time.monotonic() - started < 10
    assert response["FunctionError"] == "Unhandled"
    document = json.load(response["Payload"])
    assert document["errorType"] == "Huge"
    assert "exceeded" in document["errorMessage"]
