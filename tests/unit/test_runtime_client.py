"""Unit tests of the Python runtime client `sluice_runtime`, without a Runtime API server.

Sockets appear only as `socket.socketpair()` ends standing in for the Runtime API
connection: the test reads exactly the bytes the runtime wrote.
"""

from __future__ import annotations

import base64
import http.client
import io
import json
import logging
import socket
import sys
import textwrap
import uuid
from decimal import Decimal

import pytest

import sluice_runtime
from sluice_runtime import (
    HttpPrelude,
    HttpResponseStream,
    InvalidStreamingOperation,
    LambdaContext,
    ResponseStream,
    streamify_response,
)
from sluice_runtime._bootstrap import RuntimeConfig
from sluice_runtime._chunked import ChunkedBodyWriter, frame_chunk, frame_last_chunk
from sluice_runtime._client import RuntimeApiClient, StreamingPost
from sluice_runtime._context import context_for
from sluice_runtime._errors import RuntimeApiError, RuntimeFault
from sluice_runtime._handler import HandlerKind, handler_kind, load_handler, split_handler
from sluice_runtime._invoke import handle_invocation
from sluice_runtime._logging import (
    LambdaLogFormatter,
    error_report_lines,
    format_error_report,
    install_log_handler,
    parse_log_level,
    set_current_invocation,
)
from sluice_runtime._wire import (
    ErrorDocument,
    Invocation,
    InvocationHeaders,
    decode_event,
    encode_result,
)

ACCEPTED = b'HTTP/1.1 202 Accepted\r\nContent-Length: 15\r\n\r\n{"status":"OK"}'
TRAILER_DECL = "Lambda-Runtime-Function-Error-Type, Lambda-Runtime-Function-Error-Body"


# --- helpers -------------------------------------------------------------------------------------


def recv_all(sock: socket.socket) -> bytes:
    """Everything the peer wrote so far (it is done writing when this is called)."""
    sock.setblocking(False)
    data = b""
    while True:
        try:
            piece = sock.recv(65536)
        except BlockingIOError:
            return data
        if not piece:
            return data
        data += piece


def split_request(raw: bytes) -> tuple[str, dict[str, str], bytes]:
    head, _, body = raw.partition(b"\r\n\r\n")
    request_line, *lines = head.decode("latin-1").split("\r\n")
    headers = dict(line.split(": ", 1) for line in lines)
    return request_line, headers, body


@pytest.fixture
def pair():
    ours, theirs = socket.socketpair()
    yield ours, theirs
    ours.close()
    theirs.close()


def connection_on(sock: socket.socket) -> http.client.HTTPConnection:
    conn = http.client.HTTPConnection("runtime.invalid:9001")
    conn.sock = sock  # http.client only connects when it has no socket
    return conn


def make_stream(sock: socket.socket, **kwargs) -> tuple[ResponseStream, StreamingPost]:
    post = StreamingPost(connection_on(sock), "/2018-06-01/runtime/invocation/r1/response")
    return ResponseStream(post, **kwargs), post


def headers(**overrides) -> InvocationHeaders:
    values = {
        "request_id": "req-1",
        "deadline_ms": 10_000,
        "invoked_function_arn": "arn:aws:lambda:us-east-1:123456789012:function:f",
    }
    values.update(overrides)
    return InvocationHeaders(**values)


class FakeClient:
    """Records buffered posts; streams go to a socketpair end."""

    def __init__(self, sock: socket.socket | None = None):
        self.sock = sock
        self.responses: list[tuple[bytes, str]] = []
        self.errors: list[ErrorDocument] = []

    def post_response(self, invocation, body, content_type):
        self.responses.append((body, content_type))

    def post_error(self, invocation, document):
        self.errors.append(document)

    def open_stream(self, invocation, *, high_water_mark=None):
        return StreamingPost(connection_on(self.sock), "/2018-06-01/runtime/invocation/x/response")


def invoke(client, handler, event=None, *, content_type="application/json"):
    body = json.dumps({} if event is None else event).encode()
    invocation = Invocation(headers(content_type=content_type), body)
    handle_invocation(client, handler, invocation, environ={})


@pytest.fixture
def user_modules(tmp_path, monkeypatch):
    """Write uniquely named modules under tmp_path and import them from there."""
    monkeypatch.syspath_prepend(str(tmp_path))
    created: list[str] = []

    def write(source: str, *, subdir: str = "") -> str:
        name = f"m_{uuid.uuid4().hex[:12]}"
        folder = tmp_path / subdir
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"{name}.py").write_text(textwrap.dedent(source))
        created.append(f"{subdir}.{name}" if subdir else name)
        return name

    yield write
    for name in created:
        sys.modules.pop(name, None)


# --- public surface ------------------------------------------------------------------------------


def test_exported_members():
    assert sorted(sluice_runtime.__all__) == [
        "HttpPrelude",
        "HttpResponseStream",
        "InvalidStreamingOperation",
        "LambdaContext",
        "ResponseStream",
        "streamify_response",
    ]
    for name in sluice_runtime.__all__:
        assert getattr(sluice_runtime, name).__module__.startswith("sluice_runtime.")


# --- handler strings and init errors -------------------------------------------------------------


def fault_of(handler: str) -> RuntimeFault:
    with pytest.raises(RuntimeFault) as info:
        load_handler(handler)
    return info.value


def test_handler_without_dot_is_malformed_like_awslambdaric():
    fault = fault_of("x")
    assert fault.error_type == "Runtime.MalformedHandlerName"
    assert fault.message == "Bad handler 'x': not enough values to unpack (expected 2, got 1)"
    assert fault.stack_trace == ()


@pytest.mark.parametrize(
    "handler",
    ["/etc/passwd.f", "../up.f", "a/../b.f", "a/./b.f", "a//b.f", ".rel.f", "a..b.f", ".f"],
)
def test_module_paths_leaving_the_task_root_are_malformed(handler):
    fault = fault_of(handler)
    assert fault.error_type == "Runtime.MalformedHandlerName"
    assert fault.message.startswith(f"Bad handler '{handler}': ")


def test_split_handler_keeps_dotted_and_slashed_module_paths():
    assert split_handler("pkg.mod.handler") == ("pkg.mod", "handler")
    assert split_handler("dir/mod.handler") == ("dir/mod", "handler")


def test_missing_module_is_an_import_error():
    fault = fault_of("no_such_module_4a1b.handler")
    assert fault.error_type == "Runtime.ImportModuleError"
    assert fault.message == (
        "Unable to import module 'no_such_module_4a1b': No module named 'no_such_module_4a1b'"
    )


def test_import_error_inside_the_module_names_the_missing_dependency(user_modules):
    name = user_modules("import missing_dependency_9c2d\n")
    fault = fault_of(f"{name}.handler")
    assert fault.error_type == "Runtime.ImportModuleError"
    assert fault.message == (
        f"Unable to import module '{name}': No module named 'missing_dependency_9c2d'"
    )


def test_syntax_error(user_modules):
    name = user_modules("def handler(:\n    pass\n")
    fault = fault_of(f"{name}.handler")
    assert fault.error_type == "Runtime.UserCodeSyntaxError"
    assert fault.message.startswith(f"Syntax error in module '{name}': ")
    (trace,) = fault.stack_trace
    assert trace.startswith('  File "')
    assert trace.endswith(f'{name}.py" Line 1\n    def handler(:\n')


def test_missing_handler_function(user_modules):
    name = user_modules("x = 1\n")
    fault = fault_of(f"{name}.handler")
    assert fault.error_type == "Runtime.HandlerNotFound"
    assert fault.message == f"Handler 'handler' missing on module '{name}'"


def test_built_in_module_conflict():
    fault = fault_of("sys.handler")
    assert fault.error_type == "Runtime.BuiltInModuleConflict"
    assert fault.message == "Cannot use built-in module sys as a handler module"


def test_other_exceptions_at_import_report_their_class(user_modules):
    name = user_modules("raise ValueError('init went wrong')\n")
    with pytest.raises(ValueError) as info:
        load_handler(f"{name}.handler")
    document = ErrorDocument.from_exception(info.value)
    assert (document.error_type, document.error_message) == ("ValueError", "init went wrong")
    assert document.request_id == ""
    assert f"{name}.py" in document.stack_trace[-1]
    assert "sluice_runtime" not in document.stack_trace[0]


def test_loads_dotted_and_slashed_handlers(user_modules):
    name = user_modules("def handler(event, context):\n    return 'ok'\n", subdir="sub")
    assert load_handler(f"sub/{name}.handler")(None, None) == "ok"
    assert load_handler(f"sub.{name}.handler")(None, None) == "ok"


# --- wire values ---------------------------------------------------------------------------------


def test_error_document_shape_and_key_order():
    document = ErrorDocument("Handler fails", "Exception", "id-1", ("  File ...\n",))
    assert list(json.loads(document.to_json())) == [
        "errorMessage",
        "errorType",
        "requestId",
        "stackTrace",
    ]
    assert json.loads(document.to_json()) == {
        "errorMessage": "Handler fails",
        "errorType": "Exception",
        "requestId": "id-1",
        "stackTrace": ["  File ...\n"],
    }


def test_error_document_from_user_exception_trims_runtime_frames():
    client = FakeClient()

    def handler(event, context):
        raise Exception("Handler fails")

    invoke(client, handler)
    (document,) = client.errors
    assert (document.error_type, document.error_message) == ("Exception", "Handler fails")
    assert document.request_id == "req-1"
    assert len(document.stack_trace) == 1
    assert 'raise Exception("Handler fails")' in document.stack_trace[0]
    assert "^" not in document.stack_trace[0]  # no 3.11 position markers, as awslambdaric


def test_runtime_fault_with_explicit_empty_trace():
    document = ErrorDocument.from_exception(RuntimeFault("Runtime.X", "msg", []), "r")
    assert document.to_dict() == {
        "errorMessage": "msg",
        "errorType": "Runtime.X",
        "requestId": "r",
        "stackTrace": [],
    }


def test_invocation_headers_from_http():
    message = http.client.HTTPMessage()
    for name, value in [
        ("Lambda-Runtime-Aws-Request-Id", "abc"),
        ("Lambda-Runtime-Deadline-Ms", "1700000000000"),
        ("Lambda-Runtime-Invoked-Function-Arn", "arn:f"),
        ("Lambda-Runtime-Trace-Id", "Root=1-x"),
        ("Lambda-Runtime-Invocation-Id", "inv"),
        ("Content-Type", "application/json"),
    ]:
        message[name] = value
    parsed = InvocationHeaders.from_http(message)
    assert parsed == InvocationHeaders(
        "abc", 1_700_000_000_000, "arn:f", "Root=1-x", invocation_id="inv"
    )
    assert parsed.reply_headers() == [("Lambda-Runtime-Invocation-Id", "inv")]
    del message["Lambda-Runtime-Aws-Request-Id"]
    with pytest.raises(RuntimeApiError):
        InvocationHeaders.from_http(message)


def test_encode_result():
    assert encode_result({"a": [1, "é"]}) == ('{"a": [1, "é"]}'.encode(), "application/json")
    assert encode_result(b"\x00raw") == (b"\x00raw", "application/unknown")
    assert encode_result(Decimal("1.5")) == (b"1.5", "application/json")
    with pytest.raises(RuntimeFault) as info:
        encode_result({1, 2})
    assert info.value.error_type == "Runtime.MarshalError"
    assert info.value.message == (
        "Unable to marshal response: Object of type set is not JSON serializable"
    )


def test_decode_event():
    assert decode_event(b'{"k": 1}', "application/json") == {"k": 1}
    assert decode_event(b"[1]", None) == [1]
    assert decode_event(b"raw", "text/plain") == b"raw"
    with pytest.raises(RuntimeFault) as info:
        decode_event(b"{nope", "application/json")
    assert info.value.error_type == "Runtime.UnmarshalError"
    assert info.value.message.startswith("Unable to unmarshal input: ")


def test_runtime_config_from_environ():
    environ = {
        "AWS_LAMBDA_RUNTIME_API": "127.0.0.1:9001",
        "_HANDLER": "app.handler",
        "LAMBDA_TASK_ROOT": "/var/task",
        "AWS_LAMBDA_LOG_LEVEL": "trace",
    }
    config = RuntimeConfig.from_environ(environ)
    assert config == RuntimeConfig("127.0.0.1:9001", "app.handler", "/var/task", "DEBUG")
    assert RuntimeConfig.from_environ(environ, ["-m", "other.fn"]).handler == "other.fn"
    with pytest.raises(ValueError):
        RuntimeConfig.from_environ({"_HANDLER": "a.b"})


# --- logs ----------------------------------------------------------------------------------------


def test_log_record_format_is_lambdas_and_one_line():
    set_current_invocation("8f5c-id")
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "first\nsecond", None, None)
    record.created = 1_700_000_000.25
    record.msecs = 250.0
    record.aws_request_id = "8f5c-id"
    line = LambdaLogFormatter().format(record)
    assert line == "[INFO]\t2023-11-14T22:13:20.250Z\t8f5c-id\tfirst\rsecond"


def test_log_handler_stamps_the_current_request_id():
    out = io.StringIO()
    logger = logging.Logger("isolated")
    install_log_handler("INFO", out, root=logger)
    set_current_invocation("req-77")
    logger.info("hello")
    logger.debug("hidden")
    set_current_invocation("req-78")
    try:
        raise KeyError("k")
    except KeyError:
        logger.exception("failed")
    first, second, end = out.getvalue().split("\n")
    assert end == ""
    assert first.startswith("[INFO]\t") and first.endswith("\treq-77\thello")
    assert second.startswith("[ERROR]\t")
    assert "\treq-78\tfailed\rTraceback (most recent call last):\r" in second


@pytest.mark.parametrize(
    ("value", "level"),
    [(None, None), ("", None), ("info", "INFO"), ("TRACE", "DEBUG"), ("bogus", None)],
)
def test_parse_log_level(value, level):
    assert parse_log_level(value) == level


def test_error_report_format_matches_awslambdaric():
    document = ErrorDocument(
        "boom", "ValueError", "r", ('  File "/var/task/app.py", line 2, in h\n    raise X\n',)
    )
    assert error_report_lines(document) == [
        "[ERROR] ValueError: boom",
        "Traceback (most recent call last):",
        '\u00a0\u00a0File "/var/task/app.py", line 2, in h',
        "\u00a0\u00a0\u00a0\u00a0raise X",
    ]
    assert format_error_report(document).count("\n") == 1
    empty = ErrorDocument("Unable to import module 'm': x", "Runtime.ImportModuleError")
    assert format_error_report(empty) == (
        "[ERROR] Runtime.ImportModuleError: Unable to import module 'm': x\r"
        "Traceback (most recent call last):\n"
    )


# --- chunk framing -------------------------------------------------------------------------------


def test_chunk_framing_bytes():
    assert frame_chunk(b"hello") == b"5\r\nhello\r\n"
    assert frame_chunk(b"x" * 26) == b"1a\r\n" + b"x" * 26 + b"\r\n"
    with pytest.raises(ValueError):
        frame_chunk(b"")
    assert frame_last_chunk() == b"0\r\n\r\n"
    assert frame_last_chunk([("A", "1"), ("B", "2")]) == b"0\r\nA: 1\r\nB: 2\r\n\r\n"
    with pytest.raises(ValueError):
        frame_last_chunk([("A", "1\r\nInjected: yes")])


def test_chunked_writer_sends_each_write_at_once(pair):
    ours, theirs = pair
    writer = ChunkedBodyWriter(ours)
    writer.write(b"abc")
    assert recv_all(theirs) == b"3\r\nabc\r\n"
    writer.write(b"")
    assert recv_all(theirs) == b""
    writer.close([("T", "v")])
    assert recv_all(theirs) == b"0\r\nT: v\r\n\r\n"


def test_streaming_post_head_is_sent_lazily_with_the_final_content_type(pair):
    ours, theirs = pair
    stream, _ = make_stream(ours)
    stream.set_content_type("text/plain")
    assert recv_all(theirs) == b""
    stream.write("héllo")
    request_line, head, body = split_request(recv_all(theirs))
    assert request_line == "POST /2018-06-01/runtime/invocation/r1/response HTTP/1.1"
    assert head == {
        "Host": "runtime.invalid:9001",
        "Lambda-Runtime-Function-Response-Mode": "streaming",
        "Content-Type": "text/plain",
        "Transfer-Encoding": "chunked",
        "Trailer": TRAILER_DECL,
    }
    assert body == b"6\r\nh\xc3\xa9llo\r\n"


def test_stream_writes_are_one_chunk_each_and_end_terminates(pair):
    ours, theirs = pair
    stream, post = make_stream(ours)
    stream.write(b"ab")
    stream.write(bytearray(b"cd"))
    stream.write(memoryview(b"ef"))
    stream.end("g")
    _, head, body = split_request(recv_all(theirs))
    assert head["Content-Type"] == "application/octet-stream"
    assert body == b"2\r\nab\r\n2\r\ncd\r\n2\r\nef\r\n1\r\ng\r\n0\r\n\r\n"
    stream.end()  # ending twice is harmless
    with pytest.raises(InvalidStreamingOperation, match=r"^Cannot write after end\.$"):
        stream.write(b"late")
    theirs.sendall(ACCEPTED)
    post.read_response()


def test_stream_rejects_other_types(pair):
    stream, _ = make_stream(pair[0])
    with pytest.raises(TypeError):
        stream.write(42)  # type: ignore[arg-type]
    assert not stream.started


def test_content_type_is_too_late_after_the_first_write(pair):
    stream, _ = make_stream(pair[0])
    stream.write(b"x")
    with pytest.raises(InvalidStreamingOperation) as info:
        stream.set_content_type("text/plain")
    assert info.value.error_type == "Runtime.InvalidStreamingOperation"
    assert str(info.value) == "Cannot set content-type, too late."


def test_context_manager_ends_only_on_clean_exit(pair):
    ours, theirs = pair
    with make_stream(ours)[0] as stream:
        stream.write(b"x")
    assert recv_all(theirs).endswith(b"1\r\nx\r\n0\r\n\r\n")
    other, _ = make_stream(ours)
    with pytest.raises(RuntimeError), other:
        other.write(b"y")
        raise RuntimeError("left to the runtime")
    assert not other.ended


# --- HTTP prelude --------------------------------------------------------------------------------


def test_http_response_stream_sends_prelude_before_first_write(pair):
    ours, theirs = pair
    stream, _ = make_stream(ours)
    assert HttpResponseStream.from_(stream, {"statusCode": 201, "cookies": ["a=b"]}) is stream
    stream.write(b"body")
    _, head, body = split_request(recv_all(theirs))
    assert head["Content-Type"] == "application/vnd.awslambda.http-integration-response"
    prelude = b'{"statusCode":201,"cookies":["a=b"]}'
    assert body == b"%x\r\n%s\r\n8\r\n%s\r\n4\r\nbody\r\n" % (len(prelude), prelude, b"\0" * 8)


def test_http_prelude_is_sent_at_end_without_writes(pair):
    ours, theirs = pair
    stream, _ = make_stream(ours)
    HttpResponseStream.from_(stream, {"statusCode": 204})
    stream.end()
    _, _, body = split_request(recv_all(theirs))
    assert body == b'12\r\n{"statusCode":204}\r\n8\r\n' + b"\0" * 8 + b"\r\n0\r\n\r\n"


def test_http_prelude_is_too_late_after_a_write(pair):
    stream, _ = make_stream(pair[0])
    stream.write(b"x")
    with pytest.raises(InvalidStreamingOperation):
        HttpResponseStream.from_(stream, {"statusCode": 200})


def test_prelude_value_for_generators():
    prelude = HttpResponseStream.prelude({"statusCode": 200, "headers": {"é": "1"}})
    assert isinstance(prelude, HttpPrelude)
    assert prelude.chunks() == ('{"statusCode":200,"headers":{"é":"1"}}'.encode(), b"\0" * 8)
    with pytest.raises(TypeError):
        HttpResponseStream.prelude(["not", "a", "mapping"])  # type: ignore[arg-type]


# --- streamify_response and the streaming invocation ---------------------------------------------


def test_streamify_response_marks_the_same_function():
    def plain(event, response_stream, context):
        pass

    assert streamify_response(plain) is plain
    assert plain.__sluice_streaming__ is True

    @streamify_response(high_water_mark=1024, content_type="text/csv")
    def gen(event, context):
        yield b""

    assert gen.__sluice_high_water_mark__ == 1024
    assert gen.__sluice_content_type__ == "text/csv"
    with pytest.raises(ValueError):
        streamify_response(high_water_mark=0)


def test_handler_kinds():
    def buffered(event, context):
        return 1

    @streamify_response
    def stream(event, response_stream, context):
        pass

    @streamify_response
    def gen(event, context):
        yield b""

    @streamify_response
    async def agen(event, context):
        yield b""

    assert handler_kind(buffered) is HandlerKind.BUFFERED
    assert handler_kind(stream) is HandlerKind.STREAM
    assert handler_kind(gen) is HandlerKind.GENERATOR
    assert handler_kind(agen) is HandlerKind.ASYNC_GENERATOR


def test_bound_methods_get_a_thin_wrapper():
    class App:
        def handle(self, event, context):
            yield b"x"

    app = App()
    marked = streamify_response(app.handle)
    assert marked.__wrapped__ == app.handle
    assert handler_kind(marked) is HandlerKind.GENERATOR


def test_buffered_and_async_handlers():
    client = FakeClient()

    async def handler(event, context):
        return {"echo": event, "fn": context.function_name}

    invoke(client, handler, {"k": 1})
    assert client.responses == [(b'{"echo": {"k": 1}, "fn": null}', "application/json")]


def test_handler_error_is_logged_then_posted(capsys):
    client = FakeClient()

    def handler(event, context):
        raise ValueError("bad input")

    invoke(client, handler)
    out = capsys.readouterr().out
    assert out.startswith("[ERROR] ValueError: bad input\rTraceback (most recent call last):\r")
    assert client.errors[0].error_type == "ValueError"


def test_generator_handler_streams_each_item(pair, capsys):
    ours, theirs = pair
    theirs.sendall(ACCEPTED)
    client = FakeClient(ours)

    @streamify_response(content_type="text/plain")
    def handler(event, context):
        yield "a"
        yield b"bc"

    invoke(client, handler)
    _, head, body = split_request(recv_all(theirs))
    assert head["Content-Type"] == "text/plain"
    assert body == b"1\r\na\r\n2\r\nbc\r\n0\r\n\r\n"
    assert client.errors == []


def test_async_generator_with_prelude(pair):
    ours, theirs = pair
    theirs.sendall(ACCEPTED)

    @streamify_response
    async def handler(event, context):
        yield HttpResponseStream.prelude({"statusCode": 202})
        yield "ok"

    invoke(FakeClient(ours), handler)
    _, head, body = split_request(recv_all(theirs))
    assert head["Content-Type"] == "application/vnd.awslambda.http-integration-response"
    assert body.endswith(b"8\r\n" + b"\0" * 8 + b"\r\n2\r\nok\r\n0\r\n\r\n")


def test_stream_left_open_is_ended_and_return_value_warned(pair, caplog):
    ours, theirs = pair
    theirs.sendall(ACCEPTED)

    @streamify_response
    def handler(event, response_stream, context):
        response_stream.write(b"x")
        return "ignored"

    with caplog.at_level(logging.WARNING, logger="sluice_runtime"):
        invoke(FakeClient(ours), handler)
    assert split_request(recv_all(theirs))[2] == b"1\r\nx\r\n0\r\n\r\n"
    assert caplog.messages == ["Streaming handlers ignore return values."]


def test_error_after_first_write_goes_into_trailers(pair, capsys):
    ours, theirs = pair
    theirs.sendall(ACCEPTED)
    client = FakeClient(ours)

    @streamify_response
    async def handler(event, response_stream, context):
        response_stream.write(b"part")
        raise RuntimeError("mid-stream")

    invoke(client, handler)
    _, _, body = split_request(recv_all(theirs))
    prefix = b"4\r\npart\r\n0\r\nLambda-Runtime-Function-Error-Type: RuntimeError\r\n"
    assert body.startswith(prefix)
    encoded = body[len(prefix) :].removeprefix(b"Lambda-Runtime-Function-Error-Body: ")
    assert encoded.endswith(b"\r\n\r\n")
    document = json.loads(base64.b64decode(encoded[:-4]))
    assert document["errorType"] == "RuntimeError"
    assert document["errorMessage"] == "mid-stream"
    assert document["requestId"] == "req-1"
    assert client.errors == []
    assert capsys.readouterr().out.startswith("[ERROR] RuntimeError: mid-stream\r")


def test_error_before_first_write_is_posted_to_error(pair):
    ours, theirs = pair
    client = FakeClient(ours)

    @streamify_response
    def handler(event, response_stream, context):
        response_stream.set_content_type("text/plain")
        raise KeyError("early")

    invoke(client, handler)
    assert recv_all(theirs) == b""
    assert [(d.error_type, d.error_message) for d in client.errors] == [("KeyError", "'early'")]


def test_bad_event_json_is_an_unmarshal_error():
    client = FakeClient()
    invocation = Invocation(headers(), b"{not json")
    handle_invocation(client, lambda event, context: None, invocation, environ={})
    assert client.errors[0].error_type == "Runtime.UnmarshalError"


# --- Runtime API client on a socketpair ----------------------------------------------------------


def test_client_next_and_posts(pair):
    ours, theirs = pair
    client = RuntimeApiClient(
        "runtime.invalid:9001", connection_factory=lambda _: connection_on(ours)
    )
    event = b'{"x": 1}'
    theirs.sendall(
        b"HTTP/1.1 200 OK\r\nLambda-Runtime-Aws-Request-Id: r9\r\n"
        b"Lambda-Runtime-Deadline-Ms: 123\r\nLambda-Runtime-Invocation-Id: i9\r\n"
        b"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n%s" % (len(event), event)
    )
    invocation = client.next_invocation()
    assert (invocation.headers.request_id, invocation.headers.deadline_ms) == ("r9", 123)
    assert invocation.body == event
    assert recv_all(theirs).startswith(b"GET /2018-06-01/runtime/invocation/next HTTP/1.1\r\n")
    theirs.setblocking(True)

    theirs.sendall(ACCEPTED)
    client.post_error(invocation.headers, ErrorDocument("m", "Runtime.X", "r9"))
    request_line, head, body = split_request(recv_all(theirs))
    assert request_line == "POST /2018-06-01/runtime/invocation/r9/error HTTP/1.1"
    assert head["Lambda-Runtime-Function-Error-Type"] == "Runtime.X"
    assert head["Content-Type"] == "application/vnd.aws.lambda.error+json"
    assert head["Lambda-Runtime-Invocation-Id"] == "i9"
    assert json.loads(body)["errorType"] == "Runtime.X"
    theirs.setblocking(True)

    theirs.sendall(b"HTTP/1.1 410 Gone\r\nContent-Length: 2\r\n\r\n{}")
    with pytest.raises(RuntimeApiError, match="410"):
        client.post_response(invocation.headers, b"{}", "application/json")


def test_streaming_response_borrows_the_keep_alive_connection(pair):
    """One connection carries next, the streamed response and the next next: no connect,
    accept and close per invocation. A stream with its own send buffer gets its own."""
    ours, theirs = pair
    made = []

    def factory(_):
        made.append(connection_on(ours))
        return made[-1]

    client = RuntimeApiClient("runtime.invalid:9001", connection_factory=factory)
    theirs.sendall(
        b"HTTP/1.1 200 OK\r\nLambda-Runtime-Aws-Request-Id: r1\r\n"
        b"Lambda-Runtime-Deadline-Ms: 123\r\nContent-Length: 2\r\n\r\n{}"
    )
    invocation = client.next_invocation()
    post = client.open_stream(invocation.headers)
    post.begin("text/plain")
    post.send(b"hello")
    post.finish()
    theirs.sendall(ACCEPTED)
    post.read_response()
    post.close()
    assert b"\r\n5\r\nhello\r\n0\r\n" in recv_all(theirs)
    theirs.setblocking(True)
    theirs.sendall(
        b"HTTP/1.1 200 OK\r\nLambda-Runtime-Aws-Request-Id: r2\r\n"
        b"Lambda-Runtime-Deadline-Ms: 123\r\nContent-Length: 2\r\n\r\n{}"
    )
    assert client.next_invocation().headers.request_id == "r2"
    assert len(made) == 1
    client.open_stream(invocation.headers, high_water_mark=1024).close()
    assert len(made) == 2


# --- context -------------------------------------------------------------------------------------


def test_context_attributes_and_remaining_time():
    environ = {
        "AWS_LAMBDA_FUNCTION_NAME": "fn",
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "128",
        "AWS_LAMBDA_LOG_GROUP_NAME": "/aws/lambda/fn",
        "AWS_LAMBDA_LOG_STREAM_NAME": "stream",
    }
    now = [9.0]
    invocation = headers(
        deadline_ms=10_000,
        client_context='{"custom": {"k": "v"}, "env": {}, "client": {"app_title": "t"}}',
        cognito_identity='{"cognitoIdentityId": "id", "cognitoIdentityPoolId": "pool"}',
        tenant_id="tenant",
    )
    context = context_for(invocation, environ, clock=lambda: now[0])
    assert isinstance(context, LambdaContext)
    assert context.get_remaining_time_in_millis() == 1000
    now[0] = 11.0
    assert context.get_remaining_time_in_millis() == 0
    assert (context.aws_request_id, context.function_name) == ("req-1", "fn")
    assert (context.memory_limit_in_mb, context.function_version) == ("128", "$LATEST")
    assert context.log_group_name == "/aws/lambda/fn"
    assert context.invoked_function_arn.endswith(":function:f")
    assert context.identity.cognito_identity_pool_id == "pool"
    assert context.client_context.custom == {"k": "v"}
    assert context.client_context.client.app_title == "t"
    assert context.tenant_id == "tenant"


def test_context_without_optional_headers_and_with_bad_json():
    context = context_for(headers(), {})
    assert context.client_context is None
    assert context.identity.cognito_identity_id is None
    with pytest.raises(RuntimeFault) as info:
        context_for(headers(client_context="{oops"), {})
    assert info.value.error_type == "Runtime.LambdaContextUnmarshalError"
    assert info.value.message.startswith("Unable to parse Client Context JSON: ")
