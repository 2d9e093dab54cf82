"""Function URLs served over plain HTTP, driven by real HTTP clients (http.client, botocore's
signer) against a real server: what curl or a browser would see."""

from __future__ import annotations

import base64
import http.client
import itertools
import json
import textwrap
import time
import urllib.parse
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from tests.conftest import REGION, client_for, create_function, start_server, unique

STREAMER = """
import json
import time
from sluice_runtime import HttpResponseStream, streamify_response

@streamify_response
def handler(event, stream, context):
    HttpResponseStream.from_(stream, {
        "statusCode": 201,
        "headers": {"Content-Type": "text/event-stream", "X-Seen-Path": event["rawPath"]},
        "cookies": ["a=1; Path=/", "b=2"],
    })
    for n in range(4):
        stream.write(f"data: {n}\\n\\n")
        time.sleep(0.3)
    if event.get("queryStringParameters", {}).get("fail"):
        raise RuntimeError("broken mid-stream")
    stream.end()
"""

PLAIN_STREAM = """
from sluice_runtime import streamify_response

@streamify_response
def handler(event, stream, context):
    stream.set_content_type("text/plain")
    stream.write("no prelude")
    stream.end()
"""

ECHO = """
import json

def handler(event, context):
    query = event.get("queryStringParameters") or {}
    if "shape" in query:
        return json.loads(query["shape"])
    if query.get("fail"):
        raise ValueError("handler failed")
    return {"statusCode": 200, "headers": {"content-type": "application/json"},
            "body": json.dumps(event)}
"""


@dataclass
class Reply:
    status: int
    headers: http.client.HTTPMessage
    body: bytes
    arrivals: list[tuple[float, bytes]]


def request(
    url: str,
    method: str = "GET",
    body: bytes | None = None,
    headers: dict[str, str] | None = None,
    path: str = "/",
) -> Reply:
    """One HTTP request, reading the body piece by piece as it arrives.

    Browsers and curl send `*.localhost` to the loopback address themselves; Python's resolver
    does not, so connect to 127.0.0.1 and name the URL's host in the Host header."""
    parts = urllib.parse.urlsplit(url)
    conn = http.client.HTTPConnection("127.0.0.1", parts.port, timeout=30)
    try:
        conn.request(method, path, body=body, headers={"Host": parts.netloc, **(headers or {})})
        response = conn.getresponse()
        arrivals, pieces = [], []
        while piece := response.read1(65536):
            arrivals.append((time.monotonic(), piece))
            pieces.append(piece)
        return Reply(response.status, response.headers, b"".join(pieces), arrivals)
    finally:
        conn.close()


def make_url(lambda_client, code: str, **config) -> str:
    name = unique("url")
    create_function(lambda_client, name, {"app.py": textwrap.dedent(code)})
    created = lambda_client.create_function_url_config(
        FunctionName=name, AuthType=config.pop("AuthType", "NONE"), **config
    )
    return created["FunctionUrl"]


def test_function_url_shape(lambda_client, server):
    url = make_url(lambda_client, ECHO)
    port = server.port
    host = urllib.parse.urlsplit(url).hostname
    assert url.startswith("http://") and url.endswith(f".localhost:{port}/")
    url_id, lambda_url, region, suffix = host.split(".", 3)
    assert len(url_id) == 32 and lambda_url == "lambda-url"
    assert (region, suffix) == (REGION, "localhost")


def test_streamed_chunks_arrive_as_they_are_written(lambda_client):
    url = make_url(lambda_client, STREAMER, InvokeMode="RESPONSE_STREAM")
    started = time.monotonic()
    reply = request(url, path="/events?x=1")
    assert reply.status == 201
    assert reply.headers["content-type"] == "text/event-stream"
    assert reply.headers["x-seen-path"] == "/events"
    assert reply.headers.get_all("set-cookie") == ["a=1; Path=/", "b=2"]
    assert reply.headers["transfer-encoding"] == "chunked"
    assert reply.body == b"".join(f"data: {n}\n\n".encode() for n in range(4))
    times = [at - started for at, _ in reply.arrivals]
    assert len(reply.arrivals) == 4, reply.arrivals
    gaps = [b - a for a, b in itertools.pairwise(times)]
    assert all(0.15 < gap < 0.9 for gap in gaps), gaps


def test_a_stream_without_prelude_is_200_with_the_function_content_type(lambda_client):
    url = make_url(lambda_client, PLAIN_STREAM, InvokeMode="RESPONSE_STREAM")
    reply = request(url)
    assert (reply.status, reply.body) == (200, b"no prelude")
    assert reply.headers["content-type"] == "text/plain"


def test_a_mid_stream_error_ends_the_body_cleanly_after_what_was_sent(lambda_client):
    url = make_url(lambda_client, STREAMER, InvokeMode="RESPONSE_STREAM")
    reply = request(url, path="/?fail=1")
    assert reply.status == 201
    assert reply.body == b"".join(f"data: {n}\n\n".encode() for n in range(4))


def test_buffered_event_and_result_interpretation(lambda_client):
    url = make_url(lambda_client, ECHO)
    payload = bytes(range(256))
    reply = request(
        url,
        "POST",
        payload,
        {"Content-Type": "application/octet-stream", "Cookie": "c=1; d=2", "X-Multi": "v"},
        "/some/path?a=1&a=2&b=x%20y",
    )
    assert reply.status == 200
    event = json.loads(reply.body)
    assert event["version"] == "2.0"
    assert event["rawPath"] == "/some/path"
    assert event["rawQueryString"] == "a=1&a=2&b=x%20y"
    assert event["queryStringParameters"] == {"a": "1,2", "b": "x y"}
    assert event["cookies"] == ["c=1", "d=2"]
    assert event["headers"]["x-multi"] == "v"
    assert event["requestContext"]["http"]["method"] == "POST"
    assert event["isBase64Encoded"] is True
    assert base64.b64decode(event["body"]) == payload


@pytest.mark.parametrize(
    ("shape", "status", "content_type", "body"),
    [
        ({"statusCode": 418, "body": "teapot"}, 418, "application/json", b"teapot"),
        (
            {
                "statusCode": 200,
                "body": base64.b64encode(b"\x00\x01").decode(),
                "isBase64Encoded": True,
                "headers": {"content-type": "image/png"},
            },
            200,
            "image/png",
            b"\x00\x01",
        ),
        ({"answer": 42}, 200, "application/json", b'{"answer":42}'),
        ("hello", 200, "application/json", b"hello"),
    ],
)
def test_buffered_results_follow_aws_rules(lambda_client, shape, status, content_type, body):
    url = make_url(lambda_client, ECHO)
    query = urllib.parse.urlencode({"shape": json.dumps(shape)})
    reply = request(url, path=f"/?{query}")
    assert (reply.status, reply.body) == (status, body)
    assert reply.headers["content-type"] == content_type


def test_a_buffered_function_error_is_502(lambda_client):
    url = make_url(lambda_client, ECHO)
    reply = request(url, path="/?fail=1")
    assert reply.status == 502
    assert reply.body == b"Internal Server Error"


def test_the_path_form_needs_no_host_header(lambda_client, server):
    url = make_url(lambda_client, ECHO)
    url_id = urllib.parse.urlsplit(url).hostname.split(".")[0]
    reply = request(server.url, path=f"/_sluice/url/{url_id}/deep/path?q=1")
    assert reply.status == 200
    event = json.loads(reply.body)
    assert event["rawPath"] == "/deep/path"
    # The path form names no region: the server's own (`us-east-1` by default) stands in.
    assert event["requestContext"]["domainName"] == f"{url_id}.lambda-url.us-east-1.on.aws"


def test_an_unknown_url_is_404(server):
    reply = request(server.url, path=f"/_sluice/url/{'a' * 32}/")
    assert reply.status == 404


def _signed(url: str, method: str, body: bytes, secret: str = "test") -> dict[str, str]:
    aws = AWSRequest(method=method, url=url, data=body, headers={"Content-Type": "text/plain"})
    SigV4Auth(Credentials("test", secret), "lambda", REGION).add_auth(aws)
    return dict(aws.headers.items())


def test_aws_iam_accepts_a_botocore_signed_request_and_refuses_others(lambda_client):
    url = make_url(lambda_client, ECHO, AuthType="AWS_IAM")
    target = url + "signed?k=v"
    good = request(url, "POST", b"hi", _signed(target, "POST", b"hi"), "/signed?k=v")
    assert good.status == 200, good.body
    event = json.loads(good.body)
    assert event["requestContext"]["authorizer"]["iam"]["accessKey"] == "test"

    unsigned = request(url, "POST", b"hi", {"Content-Type": "text/plain"}, "/signed?k=v")
    assert unsigned.status == 403
    assert unsigned.headers["x-amzn-errortype"] == "AccessDeniedException"
    assert json.loads(unsigned.body)["Message"].startswith("Forbidden.")

    tampered = request(url, "POST", b"ho", _signed(target, "POST", b"hi"), "/signed?k=v")
    assert tampered.status == 403
    wrong_key = request(url, "POST", b"hi", _signed(target, "POST", b"hi", "nope"), "/signed?k=v")
    assert wrong_key.status == 403
    assert wrong_key.headers["x-amzn-errortype"] == "InvalidSignatureException"


CORS = {
    "AllowOrigins": ["https://app.example"],
    "AllowMethods": ["GET", "POST"],
    "AllowHeaders": ["x-custom"],
    "ExposeHeaders": ["x-seen-path"],
    "MaxAge": 600,
}


def test_cors_preflight_and_response_headers(lambda_client):
    url = make_url(lambda_client, ECHO, Cors=CORS)
    preflight = request(
        url,
        "OPTIONS",
        headers={
            "Origin": "https://app.example",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "x-custom",
        },
    )
    assert preflight.status == 200
    assert preflight.headers["access-control-allow-origin"] == "https://app.example"
    assert "POST" in preflight.headers["access-control-allow-methods"]
    assert preflight.headers["access-control-max-age"] == "600"
    actual = request(url, headers={"Origin": "https://app.example"})
    assert actual.status == 200
    assert actual.headers["access-control-allow-origin"] == "https://app.example"
    assert "x-seen-path" in actual.headers["access-control-expose-headers"]
    other = request(url, headers={"Origin": "https://evil.example"})
    assert other.headers["access-control-allow-origin"] is None


SLOW = """
import time
from sluice_runtime import streamify_response

@streamify_response
def handler(event, stream, context):
    stream.set_content_type("text/plain")
    for n in range(10):
        stream.write(f"{n} ")
        time.sleep(0.4)
    stream.end()
"""


def test_a_timeout_mid_stream_ends_the_body_after_what_was_sent(lambda_client):
    name = unique("urlslow")
    create_function(lambda_client, name, {"app.py": SLOW}, Timeout=1)
    url = lambda_client.create_function_url_config(
        FunctionName=name, AuthType="NONE", InvokeMode="RESPONSE_STREAM"
    )["FunctionUrl"]
    reply = request(url)
    assert reply.status == 200
    assert reply.body in (b"0 1 ", b"0 1 2 ")


def test_a_body_over_the_invoke_limit_is_413(lambda_client):
    url = make_url(lambda_client, ECHO)
    reply = request(url, "POST", b"x" * (6_291_456 + 1), {"Content-Type": "text/plain"})
    assert reply.status == 413
    assert b"Request must be smaller than 6291456 bytes" in reply.body


def test_a_url_whose_function_is_at_its_concurrency_limit_answers_429(tmp_path):
    busy = start_server(tmp_path / "data", "--concurrency", "1")
    try:
        client = client_for(busy.url)
        url = make_url(client, SLOW, InvokeMode="RESPONSE_STREAM")
        with ThreadPoolExecutor(2) as pool:
            first = pool.submit(request, url)
            time.sleep(0.5)
            second = request(url)
        assert first.result().status == 200
        assert second.status == 429
        assert second.headers["x-amzn-errortype"] == "TooManyRequestsException"
    finally:
        assert busy.stop() == 0
