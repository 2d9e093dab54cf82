"""Random requests against a live environment's Runtime API listener.

The listener is reachable by any local process, and the runtime in it is user code, so both
garbage and odd-but-valid runtime traffic must end in a documented answer, and neither may
cost the real runtime its next invocation. The function below is a provided.al2023 runtime
that either reports its `AWS_LAMBDA_RUNTIME_API` (for the garbage test, which talks to the
listener from here) or sends whatever raw request the event carries (for the responses test).
"""

from __future__ import annotations

import base64
import json
import re
import socket
import string
import textwrap
from dataclasses import dataclass

import h11
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import create_function, unique

BOOTSTRAP = textwrap.dedent(
    """\
    #!/usr/bin/env python3
    import base64, http.client, json, os, socket
    api = os.environ["AWS_LAMBDA_RUNTIME_API"]
    host, port = api.split(":")
    base = "/2018-06-01/runtime/invocation/"
    while True:
        conn = http.client.HTTPConnection(host, int(port))
        conn.request("GET", base + "next")
        answer = conn.getresponse()
        event = json.loads(answer.read())
        rid = answer.getheader("Lambda-Runtime-Aws-Request-Id")
        if "raw" not in event:
            me = json.dumps({"api": api, "pid": os.getpid(), "rid": rid})
            conn.request("POST", base + rid + "/response", me)
            conn.getresponse().read()
            continue
        with socket.create_connection((host, int(port)), timeout=10) as raw:
            raw.sendall(base64.b64decode(event["raw"]).replace(b"{rid}", rid.encode()))
            raw.shutdown(socket.SHUT_WR)
            while raw.recv(65536):
                pass
    """
)
API = "/2018-06-01/runtime"
REAL_ROUTES = (f"{API}/invocation/next", f"{API}/init/error")
DOCUMENTED = {(404, "InvalidURL"), (400, "InvalidRequestID"), (403, "InvalidStateTransition")}
ERROR_TYPE = "lambda-runtime-function-error-type"
ERROR_BODY = "lambda-runtime-function-error-body"
# Bounded by example counts, not timings: CI machines are shared and timings lie.
GARBAGE = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
RESPONSES = settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@dataclass(frozen=True)
class Runtime:
    """What the function told about itself on its last plain invocation."""

    host: str
    port: int
    pid: int
    request_id: str


@pytest.fixture(scope="module")
def function(lambda_client) -> str:
    name = unique("fuzzrt")
    create_function(
        lambda_client, name, {"bootstrap": BOOTSTRAP}, Runtime="provided.al2023", Timeout=5
    )
    return name


def ask_runtime(lambda_client, function: str) -> Runtime:
    response = lambda_client.invoke(FunctionName=function, Payload=b"{}")
    assert "FunctionError" not in response
    me = json.load(response["Payload"])
    host, port = me["api"].split(":")
    return Runtime(host, int(port), me["pid"], me["rid"])


# --- HTTP built and read with h11, so the requests are valid unless we break them ----------

TCHAR = "!#$%&'*+-.^_`|~" + string.ascii_letters + string.digits
VCHAR = "".join(chr(c) for c in range(0x21, 0x7F))
# field-vchar (RFC 9110 5.5): visible ASCII and obs-text; control characters are refused.
FIELD_CHARS = "".join(chr(c) for c in [*range(0x21, 0x7F), *range(0x80, 0x100)])

tokens = st.text(TCHAR, min_size=1, max_size=10)
field_values = st.lists(st.text(FIELD_CHARS, min_size=1, max_size=8), max_size=3).map(" ".join)
# Framing headers are ours to set; Host is required by HTTP/1.1.
FRAMING = {"content-length", "transfer-encoding", "host", "trailer"}
header_names = st.one_of(
    tokens,
    st.sampled_from(
        ["Expect", "Connection", "Upgrade", "Content-Type", "TE", ERROR_TYPE, ERROR_BODY]
    ),
    st.just("Lambda-Runtime-Function-Response-Mode"),
).filter(lambda name: name.lower() not in FRAMING)
header_values = field_values | st.sampled_from(
    ["100-continue", "close", "upgrade", "chunked", "streaming", "websocket", "trailers"]
)
headers = st.lists(st.tuples(header_names, header_values), max_size=4)
bodies = st.lists(st.binary(min_size=1, max_size=24), max_size=3)


def _encoded(fields: list[tuple[str, str]]) -> list[tuple[bytes, bytes]]:
    return [(name.encode(), value.encode("latin-1")) for name, value in fields]


def with_body(method: str, target: str, fields: list[tuple[str, str]], body: bytes) -> bytes:
    """A request with a Content-Length, framed by h11. `{rid}` in the target is the
    runtime's to fill in."""
    client = h11.Connection(h11.CLIENT)
    head = [("Host", "127.0.0.1"), ("Content-Length", str(len(body))), *fields]
    out = client.send(h11.Request(method=method, target=target.encode(), headers=_encoded(head)))
    out += client.send(h11.Data(data=body)) if body else b""
    return out + client.send(h11.EndOfMessage())


def chunked(
    method: str,
    target: str,
    fields: list[tuple[str, str]],
    chunks: list[bytes],
    trailers: list[tuple[str, str]],
) -> bytes:
    """A chunked request with trailers, framed by h11: one HTTP chunk per item of `chunks`."""
    client = h11.Connection(h11.CLIENT)
    head = [("Host", "127.0.0.1"), ("Transfer-Encoding", "chunked"), *fields]
    out = client.send(h11.Request(method=method, target=target.encode(), headers=_encoded(head)))
    for chunk in chunks:
        out += client.send(h11.Data(data=chunk))
    return out + client.send(h11.EndOfMessage(headers=_encoded(trailers)))


@st.composite
def requests(draw: st.DrawFn, request_id: str) -> tuple[str, str, bytes]:
    """(method, path, bytes) of a request the listener must refuse, or, for `GET .../next`,
    a second poll beside the runtime's, which waits and must take nothing once it leaves."""
    segment = st.text(VCHAR.replace("/", "").replace("?", ""), min_size=1, max_size=10)
    ids = st.one_of(segment, st.uuids().map(str), st.just(request_id))
    claims = st.builds(
        lambda rid, kind: f"{API}/invocation/{rid}/{kind}",
        ids,
        st.sampled_from(["response", "error"]) | st.sampled_from(["next", "Response", ""]),
    )
    others = st.one_of(
        # Origin form (RFC 9112 3.2.1); other targets are refused by the HTTP layer itself.
        st.text(VCHAR, max_size=40).map(lambda text: "/" + text),
        st.lists(segment, max_size=4).map(lambda parts: "/" + "/".join(parts)),
        st.builds(lambda tail: f"{API}/{tail}", st.text(VCHAR, max_size=30)),
        st.sampled_from(REAL_ROUTES),
    )
    # The real routes, rightly called, now and then: a second `next` beside the runtime's,
    # a late `init/error` (refused once init is over).
    real = st.sampled_from([("GET", REAL_ROUTES[0]), ("POST", REAL_ROUTES[1])])
    if draw(st.integers(0, 9)) == 0:
        method, target = draw(real)
    else:
        target = draw(claims if draw(st.booleans()) else others)
        # Methods HTTP registers (llhttp refuses others with 400 before any route is seen).
        methods = st.sampled_from(
            ["GET", "HEAD", "PUT", "DELETE", "OPTIONS", "PATCH", "TRACE", "PURGE"]
        )
        method = "POST" if draw(st.booleans()) else draw(methods)
    target += draw(st.sampled_from(["", "?", "?a=b&c"]))
    path = target.split("?", 1)[0]
    fields = draw(headers)
    if draw(st.booleans()):
        return method, path, with_body(method, target, fields, b"".join(draw(bodies)))
    trailers = draw(st.lists(st.tuples(header_names, field_values), max_size=2))
    return method, path, chunked(method, target, fields, draw(bodies), trailers)


def exchange(runtime: Runtime, raw: bytes) -> bytes:
    """Send one request, half-close, and return everything the listener answered."""
    with socket.create_connection((runtime.host, runtime.port), timeout=10) as sock:
        sock.sendall(raw)
        sock.shutdown(socket.SHUT_WR)
        received = b""
        while data := sock.recv(65536):
            received += data
    return received


def read_response(method: str, raw: bytes) -> tuple[int, dict[bytes, bytes], bytes]:
    """Parse the answer with h11, skipping a `100 Continue`."""
    client = h11.Connection(h11.CLIENT)
    client.send(h11.Request(method=method, target=b"/", headers=[(b"Host", b"x")]))
    client.receive_data(raw)
    client.receive_data(b"")
    event = client.next_event()
    while isinstance(event, h11.InformationalResponse):
        event = client.next_event()
    assert isinstance(event, h11.Response), f"no response, got {event!r} from {raw!r}"
    body = b""
    while isinstance(part := client.next_event(), h11.Data):
        body += part.data
    assert isinstance(part, h11.EndOfMessage), part
    return event.status_code, dict(event.headers), body


def assert_documented_refusal(status: int, fields: dict[bytes, bytes], body: bytes) -> None:
    assert fields.get(b"content-type") == b"application/json"
    document = json.loads(body)
    assert set(document) == {"errorMessage", "errorType"}
    assert isinstance(document["errorMessage"], str)
    assert (status, document["errorType"]) in DOCUMENTED


def mutate(raw: bytes, edits: list[tuple[int, int, bytes]]) -> bytes:
    """Replace `size` bytes at each position (mod the length) with the given bytes."""
    data = bytearray(raw)
    for position, size, replacement in edits:
        at = position % (len(data) + 1)
        data[at : at + size] = replacement
    return bytes(data)


STATUS_LINE = re.compile(rb"HTTP/1\.1 (\d{3}) ")


def test_garbage_gets_documented_refusals_and_the_runtime_keeps_its_invocations(
    lambda_client, function
):
    runtime = ask_runtime(lambda_client, function)

    @GARBAGE
    @given(requests(runtime.request_id))
    def well_formed(request):
        method, path, raw = request
        answer = exchange(runtime, raw)
        if (method, path) == ("GET", REAL_ROUTES[0]):
            assert answer == b""  # a poll that left (half-closed) is closed, unanswered
            return
        status, fields, body = read_response(method, answer)
        if method == "HEAD":  # the head only, of a route the Runtime API does not have
            assert (status, fields.get(b"content-type"), body) == (404, b"application/json", b"")
            return
        assert_documented_refusal(status, fields, body)

    @GARBAGE
    @given(
        requests(runtime.request_id) | st.builds(lambda b: ("GET", "", b), st.binary()),
        st.lists(st.tuples(st.integers(0, 4096), st.integers(0, 4), st.binary(max_size=4))),
    )
    def broken(request, edits):
        """Not HTTP any more: an answer, if any, is a 4xx (or h11's 501 for a transfer
        coding it does not know), JSON from our routes or plain text from the parser; to
        a HEAD request, the head only."""
        _, _, raw = request
        mutated = mutate(raw, edits)
        answer = exchange(runtime, mutated)
        if not answer:
            return
        status = STATUS_LINE.match(answer)
        assert status is not None, answer
        assert 400 <= int(status[1]) < 500 or int(status[1]) == 501, answer
        head_only = (b"\r\n\r\n",) if mutated.startswith(b"HEAD ") else ()
        assert answer.endswith((b"\r\n\r\nBad request\n", b"}", *head_only)), answer

    well_formed()
    broken()
    after = ask_runtime(lambda_client, function)
    assert (after.host, after.port, after.pid) == (runtime.host, runtime.port, runtime.pid)


# --- what a runtime may post: odd but valid responses, errors and trailers -----------------


MODE = "Lambda-Runtime-Function-Response-Mode"
RESERVED = FRAMING | {"content-type", MODE.lower(), "expect", "upgrade"}
extras = st.lists(
    st.tuples(tokens.filter(lambda name: name.lower() not in RESERVED), field_values), max_size=2
)
trailer_names = st.sampled_from([ERROR_TYPE, ERROR_BODY, ERROR_TYPE.upper()]) | tokens
base64_documents = st.fixed_dictionaries(
    {}, optional={"errorType": st.text(max_size=8), "errorMessage": st.text(max_size=20)}
).map(lambda document: base64.b64encode(json.dumps(document).encode()).decode())
# Error documents nested past the parser's stack (json.loads raises RecursionError).
too_deep = st.integers(1000, 5000).map(lambda n: b"[" * n)


def base64_text(data: bytes) -> str:
    return base64.b64encode(data).decode()


@st.composite
def runtime_posts(draw: st.DrawFn, kind: str) -> tuple[bytes, dict]:
    """A raw post with `{rid}` for the runtime to fill in, and what the caller should then
    see: the InvokeComplete's ErrorCode, and for a response its payload and content type."""
    fields, chunks = draw(extras), draw(bodies)
    target = f"{API}/invocation/{{rid}}/" + ("error" if kind == "error" else "response")
    if kind == "error":
        error_type = draw(st.none() | field_values)
        fields += [(ERROR_TYPE, error_type)] if error_type is not None else []
        body = draw(st.just(b"".join(chunks)) | too_deep)
        return with_body("POST", target, fields, body), {"code": "Unhandled"}
    content_type = draw(st.none() | field_values)
    fields += [("Content-Type", content_type)] if content_type is not None else []
    if kind == "bad-mode":
        fields.append((MODE, draw(field_values.filter(lambda value: value != "streaming"))))
        shown = {"code": "Runtime.InvalidResponseModeHeader"}
        return with_body("POST", target, fields, b"".join(chunks)), shown
    shown = {
        "code": None,
        "payload": b"".join(chunks),
        "type": content_type or "application/octet-stream",
    }
    if kind == "buffered":
        return with_body("POST", target, fields, b"".join(chunks)), shown
    fields.append((MODE, "streaming"))
    trailer_values = field_values | base64_documents | too_deep.map(base64_text)
    trailers = draw(st.lists(st.tuples(trailer_names, trailer_values), max_size=2))
    if any(name.lower() in {ERROR_TYPE, ERROR_BODY} for name, _ in trailers):
        shown["code"] = "Unhandled"
    return chunked("POST", target, fields, chunks, trailers), shown


@pytest.mark.parametrize("kind", ["buffered", "streaming", "bad-mode", "error"])
def test_whatever_a_runtime_posts_ends_the_invocation_as_documented(lambda_client, function, kind):
    @RESPONSES
    @given(runtime_posts(kind))
    def post(case):
        raw, shown = case
        event = json.dumps({"raw": base64.b64encode(raw).decode()})
        response = lambda_client.invoke_with_response_stream(FunctionName=function, Payload=event)
        events = list(response["EventStream"])
        complete = events[-1]["InvokeComplete"]
        assert complete.get("ErrorCode") == shown["code"], complete
        if "payload" in shown:
            chunks = [event["PayloadChunk"]["Payload"] for event in events[:-1]]
            assert b"".join(chunks) == shown["payload"]
            assert response["ResponseStreamContentType"] == shown["type"]

    post()
    ask_runtime(lambda_client, function)
