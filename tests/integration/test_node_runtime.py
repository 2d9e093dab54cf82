"""Node.js functions on sluice's runtime client (`src/sluice/runtimes/node`), driven by boto3.

Every test deploys real code (zips written here) as `nodejs20.x` functions on the session's
`sluice serve`, invokes them with `invoke` or `invoke_with_response_stream` and checks what a
caller sees: PayloadChunks and their pace, InvokeComplete, error documents and the log tail.

Sections: streaming (`awslambda.streamifyResponse`, HttpResponseStream, mid-stream errors,
timeouts, exits), buffered handlers (async, callback, context.done/succeed/fail, the empty
event loop, errors), handler loading (CommonJS, ES modules, init errors) and logs/context.
"""

from __future__ import annotations

import base64
import itertools
import json
import os
import re
import shutil
import subprocess
import textwrap
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

import sluice.runtimes
from tests.conftest import create_function, unique

RUNTIME = "nodejs20.x"

# --- Function code ---------------------------------------------------------------------

STREAMING_JS = textwrap.dedent(
    """\
    const { Readable } = require('node:stream');
    const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
    let count = 0;

    // Writes event.words with event.pause ms between them; fails or exits when told to.
    exports.words = awslambda.streamifyResponse(async (event, responseStream) => {
      count += 1;
      if (event.contentType) responseStream.setContentType(event.contentType);
      for (const [index, word] of (event.words ?? []).entries()) {
        if (event.failAt === index) throw new Error('This is a custom error mid-stream!');
        if (event.exitAt === index) process.exit(3);
        responseStream.write(word);
        await sleep(event.pause ?? 0);
      }
      if (event.count) responseStream.write(`count=${count}`);
      responseStream.end();
    });

    exports.values = awslambda.streamifyResponse(async (event, responseStream) => {
      responseStream.write({ a: 1 });
      responseStream.write(42);
      responseStream.write(Buffer.from('buffer'));
      responseStream.write(new Uint8Array([104, 105]));
      responseStream.end('last');
    });

    // Fifty writes in one tick: still fifty HTTP chunks, so fifty PayloadChunks.
    exports.burst = awslambda.streamifyResponse(async (event, responseStream) => {
      for (let i = 0; i < 50; i++) responseStream.write(`${i},`);
      responseStream.end();
    });

    exports.tooLate = awslambda.streamifyResponse(async (event, responseStream) => {
      responseStream.setContentType('text/csv');
      responseStream.write('first');
      try {
        responseStream.setContentType('text/html');
      } catch (err) {
        responseStream.write(`${err.name}: ${err.message}`);
      }
      responseStream.end();
    });

    exports.prelude = awslambda.streamifyResponse(async (event, responseStream) => {
      const metadata = { statusCode: 201, headers: { 'x-custom': 'yes' }, cookies: ['a=b'] };
      const stream = awslambda.HttpResponseStream.from(responseStream, metadata);
      if (event.body) stream.write(event.body);
      stream.end();
    });

    exports.highWaterMark = awslambda.streamifyResponse(
      async (event, responseStream) => {
        await new Promise((resolve) => setImmediate(resolve));
        responseStream.end(String(responseStream.writableHighWaterMark));
      },
      { highWaterMark: 512 },
    );

    exports.notAsync = awslambda.streamifyResponse((event, responseStream) => {
      responseStream.write('sync');
    });

    exports.unfinished = awslambda.streamifyResponse(async (event, responseStream) => {
      responseStream.write('partial');
    });

    // The stream is ended later by a pipe nobody awaits: the runtime waits for it.
    exports.piped = awslambda.streamifyResponse(async (event, responseStream) => {
      Readable.from(['p1', 'p2', 'p3']).pipe(responseStream);
    });

    exports.returns = awslambda.streamifyResponse(async (event, responseStream) => {
      responseStream.end('done');
      return 'ignored';
    });

    exports.context = awslambda.streamifyResponse(async (event, responseStream, context) => {
      responseStream.end(JSON.stringify({
        awsRequestId: context.awsRequestId,
        remaining: context.getRemainingTimeInMillis(),
        waits: context.callbackWaitsForEmptyEventLoop,
        hasDone: typeof context.done,
      }));
    });

    // Errors outside the handler's promise, after the stream has started.
    exports.crash = awslambda.streamifyResponse(async (event, responseStream) => {
      responseStream.write('before');
      await sleep(50); // let the response begin: /error is refused from then on
      if (event.kind === 'exception') {
        setTimeout(() => { throw new Error('thrown from a timer'); }, 10);
      } else {
        Promise.reject(new Error('nobody catches this'));
      }
      await sleep(5000);
      responseStream.end();
    });
    """
)

BUFFERED_JS = textwrap.dedent(
    """\
    let count = 0;
    console.log('loading the module');

    exports.asyncHandler = async (event) => ({ got: event, count: ++count, pid: process.pid });
    exports.callbackHandler = (event, context, callback) => {
      setTimeout(() => callback(null, { got: event, via: 'callback' }), 20);
    };
    exports.nested = { deeper: { handler: async () => 'nested export' } };
    exports.notAFunction = 42;

    // callback() at once, but a timer still runs: AWS posts the result when the loop is empty.
    exports.waits = (event, context, callback) => {
      context.callbackWaitsForEmptyEventLoop = event.wait;
      setTimeout(() => console.log('timer done'), 400);
      callback(null, 'called back');
    };
    exports.succeed = (event, context) => context.succeed({ via: 'succeed' });
    exports.fail = (event, context) => context.fail(new Error('failed via context'));
    exports.done = (event, context) => context.done(null, 'via done');
    exports.syncReturn = () => 42;
    exports.neverSettles = async () => new Promise(() => {});
    exports.throws = async () => { throw new TypeError('bad input'); };
    exports.throwsString = async () => { throw 'plain string'; };
    exports.callbackError = (event, context, callback) => callback(new RangeError('out of range'));
    exports.circular = async () => { const a = {}; a.self = a; return a; };
    exports.uncaught = async (event) => {
      if (event.pid) return process.pid;
      setTimeout(() => { throw new Error('thrown from a timer'); }, 10);
      return new Promise(() => {});
    };
    exports.rejection = async () => {
      Promise.reject(new Error('nobody catches this'));
      return new Promise(() => {});
    };

    exports.globals = async () => typeof globalThis.awslambda;

    exports.logs = async () => {
      console.log('hello', { a: 1 });
      console.info('info line');
      console.warn('warn line');
      console.error('first line\\nsecond line');
      console.debug('debug line');
      console.trace('trace line');
      return 'logged';
    };

    exports.context = async (event, context) => ({
      awsRequestId: context.awsRequestId,
      functionName: context.functionName,
      functionVersion: context.functionVersion,
      invokedFunctionArn: context.invokedFunctionArn,
      memoryLimitInMB: context.memoryLimitInMB,
      logGroupName: context.logGroupName,
      logStreamName: context.logStreamName,
      remaining: context.getRemainingTimeInMillis(),
      clientContext: context.clientContext ?? null,
      identity: context.identity ?? null,
      waits: context.callbackWaitsForEmptyEventLoop,
      traceId: process.env._X_AMZN_TRACE_ID,
      env: {
        handler: process.env._HANDLER,
        taskRoot: process.env.LAMBDA_TASK_ROOT,
        cwd: process.cwd(),
        execution: process.env.AWS_EXECUTION_ENV,
      },
    });
    """
)

ESM_MJS = textwrap.dedent(
    """\
    import { setTimeout as sleep } from 'node:timers/promises';

    export const handler = awslambda.streamifyResponse(async (event, responseStream) => {
      responseStream.write('esm ');
      await sleep(10);
      responseStream.end('mjs');
    });
    export const buffered = async () => ({ url: import.meta.url });
    """
)

TYPE_MODULE_JS = "export const handler = async () => ({ url: import.meta.url });\n"
CJS_FILE = "module.exports.handler = async () => ({ file: __filename });\n"

# --- Helpers ---------------------------------------------------------------------------


@dataclass
class Streamed:
    """What `invoke_with_response_stream` delivered."""

    content_type: str
    chunks: list[bytes]
    arrivals: list[float]
    complete: dict

    @property
    def body(self) -> bytes:
        return b"".join(self.chunks)

    @property
    def log(self) -> str:
        return base64.b64decode(self.complete["LogResult"]).decode()


@dataclass
class Invoked:
    """What a buffered `invoke` delivered."""

    function_error: str | None
    payload: bytes
    content_type: str
    log: str

    def json(self) -> object:
        return json.loads(self.payload)


def deploy(client, files: dict[str, str], handler: str, **config) -> str:
    """Create a Node.js function from `files`; returns its name."""
    name = unique("node")
    create_function(client, name, files, Runtime=RUNTIME, Handler=handler, **config)
    return name


def stream(client, name: str, **event) -> Streamed:
    started = time.monotonic()
    response = client.invoke_with_response_stream(
        FunctionName=name, Payload=json.dumps(event), LogType="Tail"
    )
    chunks, arrivals, complete = [], [], {}
    for item in response["EventStream"]:
        if "PayloadChunk" in item:
            chunks.append(item["PayloadChunk"]["Payload"])
            arrivals.append(time.monotonic() - started)
        else:
            complete = item["InvokeComplete"]
    return Streamed(response["ResponseStreamContentType"], chunks, arrivals, complete)


def invoke(client, name: str, **kwargs) -> Invoked:
    payload = json.dumps(kwargs.pop("event", {}))
    response = client.invoke(FunctionName=name, Payload=payload, LogType="Tail", **kwargs)
    return Invoked(
        response.get("FunctionError"),
        response["Payload"].read(),
        response["ResponseMetadata"]["HTTPHeaders"]["content-type"],
        base64.b64decode(response["LogResult"]).decode(),
    )


# `<ISO time>\t<request id>\t<LEVEL>\t<message>`, AWS's Node.js text format.
LOG_LINE = re.compile(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z)\t(\S+)\t([A-Z]+)\t(.*)$")


def request_id(log: str) -> str:
    match = re.search(r"^START RequestId: (\S+) Version: \$LATEST$", log, re.MULTILINE)
    assert match, log
    return match.group(1)


def log_records(log: str) -> list[tuple[str, str, str]]:
    """(request id, level, message) of every console line in the log."""
    records = []
    for line in log.split("\n"):
        match = LOG_LINE.match(line)
        if match:
            records.append((match.group(2), match.group(3), match.group(4)))
    return records


def gaps(arrivals: list[float]) -> list[float]:
    return [later - earlier for earlier, later in itertools.pairwise(arrivals)]


@pytest.fixture(scope="module")
def words_fn(lambda_client) -> Iterator[str]:
    """STREAMING_JS `words`, shared by the tests that only need to vary its event."""
    name = deploy(lambda_client, {"index.js": STREAMING_JS}, "index.words", Timeout=10)
    yield name
    lambda_client.delete_function(FunctionName=name)


@pytest.fixture
def deployed(lambda_client) -> Iterator[Callable[..., str]]:
    """`deploy` for one test; the functions (and their processes) go away after it."""
    names: list[str] = []

    def make(files: dict[str, str], handler: str, **config) -> str:
        names.append(deploy(lambda_client, files, handler, **config))
        return names[-1]

    yield make
    for name in names:
        lambda_client.delete_function(FunctionName=name)


@pytest.fixture
def streaming(deployed) -> Callable[..., str]:
    """Deploy one export of STREAMING_JS; returns the function's name."""
    return lambda handler, **config: deployed(
        {"index.js": STREAMING_JS}, f"index.{handler}", **config
    )


@pytest.fixture
def buffered(deployed) -> Callable[..., str]:
    """Deploy one export of BUFFERED_JS; returns the function's name."""
    return lambda handler, **config: deployed({"app.js": BUFFERED_JS}, f"app.{handler}", **config)


# --- Streaming ---------------------------------------------------------------------------


def test_writes_arrive_as_separate_chunks_at_their_pace(lambda_client, words_fn):
    words = ["This ", "function ", "streams"]
    result = stream(lambda_client, words_fn, words=words, pause=300)
    assert result.chunks == [w.encode() for w in words]
    assert all(0.15 < gap < 0.9 for gap in gaps(result.arrivals)), result.arrivals
    assert result.content_type == "application/octet-stream"
    assert "ErrorCode" not in result.complete
    log = result.log
    assert log.startswith("START RequestId:")
    assert "\nEND RequestId:" in log and "\nREPORT RequestId:" in log


def test_warm_process_serves_the_next_invocations(lambda_client, words_fn):
    counts = [int(stream(lambda_client, words_fn, count=True).body.split(b"=")[1]) for _ in "abc"]
    assert counts[1] == counts[0] + 1 and counts[2] == counts[1] + 1


def test_writes_in_one_tick_stay_separate_chunks(lambda_client, streaming):
    result = stream(lambda_client, streaming("burst"))
    assert result.chunks == [f"{i},".encode() for i in range(50)]


def test_set_content_type_before_the_first_write(lambda_client, words_fn):
    result = stream(lambda_client, words_fn, words=["a,b"], contentType="text/csv")
    assert result.content_type == "text/csv"
    assert result.chunks == [b"a,b"]


def test_set_content_type_after_the_first_write_throws(lambda_client, streaming):
    result = stream(lambda_client, streaming("tooLate"))
    assert result.content_type == "text/csv"
    assert result.chunks == [
        b"first",
        b"Runtime.InvalidStreamingOperation: Cannot set content-type, too late.",
    ]


def test_write_sends_json_for_values_that_are_not_bytes(lambda_client, streaming):
    result = stream(lambda_client, streaming("values"))
    assert result.chunks == [b'{"a":1}', b"42", b"buffer", b"hi", b"last"]


def test_mid_stream_throw_ends_with_unhandled(lambda_client, words_fn):
    words = ["This ", "function ", "is ", "streaming "]
    result = stream(lambda_client, words_fn, words=[*words, "never"], failAt=4)
    assert result.chunks == [w.encode() for w in words]
    assert result.complete["ErrorCode"] == "Unhandled"
    assert result.complete["ErrorDetails"] == "This is a custom error mid-stream!"
    [(rid, level, message)] = [r for r in log_records(result.log) if "Invoke Error" in r[2]]
    assert (rid, level) == (request_id(result.log), "ERROR")
    assert message.startswith("Invoke Error \t{")
    logged = json.loads(message.split("\t", 1)[1])
    assert logged["errorType"] == "Error"
    assert logged["errorMessage"] == "This is a custom error mid-stream!"
    assert logged["stack"][0] == "Error: This is a custom error mid-stream!"


def test_buffered_invoke_of_a_streaming_function(lambda_client, words_fn):
    ok = invoke(lambda_client, words_fn, event={"words": ["one ", "two"]})
    assert ok.function_error is None and ok.payload == b"one two"
    failed = invoke(lambda_client, words_fn, event={"words": ["one ", "two"], "failAt": 1})
    assert failed.function_error == "Unhandled"
    document = failed.json()
    assert document["errorType"] == "Error"
    assert document["errorMessage"] == "This is a custom error mid-stream!"
    assert document["trace"][0] == "Error: This is a custom error mid-stream!"


def test_http_response_stream_prelude(lambda_client, streaming):
    name = streaming("prelude")
    result = stream(lambda_client, name, body="hello")
    assert result.content_type == "application/vnd.awslambda.http-integration-response"
    prelude = {"statusCode": 201, "headers": {"x-custom": "yes"}, "cookies": ["a=b"]}
    assert result.chunks == [
        json.dumps(prelude, separators=(",", ":")).encode(),
        b"\0" * 8,
        b"hello",
    ]
    # An empty body still gets its prelude (sluice sends it at end(); see response-stream.js).
    empty = stream(lambda_client, name)
    assert empty.body == result.chunks[0] + b"\0" * 8


def test_high_water_mark_option(lambda_client, streaming):
    result = stream(lambda_client, streaming("highWaterMark"))
    assert result.chunks == [b"512"] and "ErrorCode" not in result.complete


def test_handler_that_is_not_async(lambda_client, streaming):
    result = stream(lambda_client, streaming("notAsync"))
    assert result.chunks == [b"sync"]
    assert result.complete["ErrorCode"] == "Unhandled"
    assert result.complete["ErrorDetails"] == "Streaming does not support non-async handlers."


def test_promise_resolved_without_end(lambda_client, streaming):
    result = stream(lambda_client, streaming("unfinished"))
    assert result.chunks == [b"partial"]
    assert result.complete["ErrorCode"] == "Unhandled"
    assert result.complete["ErrorDetails"] == "Response stream is not finished."


def test_stream_ended_by_a_pipe_after_the_handler_returned(lambda_client, streaming):
    result = stream(lambda_client, streaming("piped"))
    assert result.body == b"p1p2p3" and "ErrorCode" not in result.complete


def test_returned_value_is_ignored_with_a_warning(lambda_client, streaming):
    result = stream(lambda_client, streaming("returns"))
    assert result.chunks == [b"done"] and "ErrorCode" not in result.complete
    assert ("WARN", "Streaming handlers ignore return values.") in [
        (level, message) for _, level, message in log_records(result.log)
    ]


def test_streaming_context(lambda_client, streaming):
    result = stream(lambda_client, streaming("context", Timeout=5))
    context = json.loads(result.body)
    assert context["awsRequestId"] == request_id(result.log)
    assert 0 < context["remaining"] <= 5000
    assert context["waits"] is True and context["hasDone"] == "undefined"


def test_timeout_mid_stream(lambda_client, streaming):
    name = streaming("words", Timeout=1)
    words = [b"This ", b"function ", b"is ", b"late"]
    result = stream(lambda_client, name, words=[w.decode() for w in words], pause=450)
    assert 1 <= len(result.chunks) < len(words)  # about two, when the machine is not busy
    assert result.chunks == words[: len(result.chunks)]
    assert result.complete["ErrorCode"] == "Sandbox.Timedout"
    assert result.complete["ErrorDetails"] == "Task timed out after 1.00 seconds"
    assert "Status: timeout" in result.log


def test_process_exit_mid_stream(lambda_client, words_fn):
    # Node sends a write at the next tick: the pause lets "one" leave before exit(), as
    # it would have to on AWS.
    result = stream(lambda_client, words_fn, words=["one", "two"], exitAt=1, pause=100)
    assert result.chunks == [b"one"]
    assert result.complete["ErrorCode"] == "Runtime.ExitError"
    assert result.complete["ErrorDetails"] == "Runtime exited with error: exit status 3"


@pytest.mark.parametrize(
    ("kind", "status", "logged"),
    [
        ("exception", 129, "Uncaught Exception"),
        ("rejection", 128, "Unhandled Promise Rejection"),
    ],
)
def test_uncaught_error_after_the_stream_started(lambda_client, streaming, kind, status, logged):
    """AWS's 3.x client posts /error (refused: the response began), then exits 129/128."""
    result = stream(lambda_client, streaming("crash"), kind=kind)
    assert result.chunks == [b"before"]
    assert result.complete["ErrorCode"] == "Runtime.ExitError"
    assert result.complete["ErrorDetails"] == f"Runtime exited with error: exit status {status}"
    assert f"\tERROR\t{logged} \t" in result.log


# --- Buffered handlers -------------------------------------------------------------------


def test_async_handler_result(lambda_client, buffered):
    name = buffered("asyncHandler")
    first = invoke(lambda_client, name, event={"a": 1})
    assert first.function_error is None
    assert first.content_type == "application/json"
    second = invoke(lambda_client, name, event={"b": 2}).json()
    assert first.json()["got"] == {"a": 1} and second["got"] == {"b": 2}
    assert (second["count"], second["pid"]) == (first.json()["count"] + 1, first.json()["pid"])


def test_buffered_handler_through_a_stream(lambda_client, buffered):
    result = stream(lambda_client, buffered("asyncHandler"), x=1)
    assert json.loads(result.body)["got"] == {"x": 1} and "ErrorCode" not in result.complete


@pytest.mark.parametrize(
    ("handler", "expected"),
    [
        ("callbackHandler", {"got": {"k": "v"}, "via": "callback"}),
        ("succeed", {"via": "succeed"}),
        ("done", "via done"),
        ("nested.deeper.handler", "nested export"),
        ("syncReturn", None),
    ],
)
def test_buffered_results(lambda_client, buffered, handler, expected):
    result = invoke(lambda_client, buffered(handler), event={"k": "v"})
    assert result.function_error is None and result.json() == expected


def test_callback_waits_for_the_empty_event_loop(lambda_client, buffered):
    name = buffered("waits")
    started = time.monotonic()
    waited = invoke(lambda_client, name, event={"wait": True})
    assert time.monotonic() - started > 0.35
    assert waited.json() == "called back"
    assert waited.log.index("\tINFO\ttimer done") < waited.log.index("END RequestId:")
    started = time.monotonic()
    assert invoke(lambda_client, name, event={"wait": False}).json() == "called back"
    assert time.monotonic() - started < 0.3


@pytest.mark.parametrize(
    ("handler", "error_type", "message"),
    [
        ("throws", "TypeError", "bad input"),
        ("throwsString", "string", "plain string"),
        ("callbackError", "RangeError", "out of range"),
        ("fail", "Error", "failed via context"),
        ("circular", "Error", "Unable to stringify response body"),
    ],
)
def test_handler_errors(lambda_client, buffered, handler, error_type, message):
    result = invoke(lambda_client, buffered(handler))
    assert result.function_error == "Unhandled"
    document = result.json()
    assert (document["errorType"], document["errorMessage"]) == (error_type, message)
    assert isinstance(document["trace"], list)
    assert "\tERROR\tInvoke Error \t{" in result.log


def test_handler_error_through_a_stream(lambda_client, buffered):
    result = stream(lambda_client, buffered("throws"))
    assert result.chunks == []
    assert result.complete["ErrorCode"] == "Unhandled"
    assert result.complete["ErrorDetails"] == "bad input"


def test_async_handler_that_never_settles(lambda_client, buffered):
    document = invoke(lambda_client, buffered("neverSettles")).json()
    assert document["errorType"] == "Runtime.NodeJsExit"
    assert "Promise that was never settled" in document["errorMessage"]


def test_uncaught_exception_during_an_invocation(lambda_client, buffered):
    name = buffered("uncaught")
    pid = invoke(lambda_client, name, event={"pid": True}).json()
    result = invoke(lambda_client, name)
    assert result.function_error == "Unhandled"
    assert result.json()["errorType"] == "Error"
    assert result.json()["errorMessage"] == "thrown from a timer"
    assert "\tERROR\tUncaught Exception \t{" in result.log
    # Then the process exits (status 129, checked through a stream above).
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            break
        time.sleep(0.05)
    else:
        pytest.fail(f"process {pid} still runs")


def test_unhandled_rejection_during_an_invocation(lambda_client, buffered):
    result = invoke(lambda_client, buffered("rejection"))
    assert result.function_error == "Unhandled"
    document = result.json()
    assert document["errorType"] == "Runtime.UnhandledPromiseRejection"
    assert document["errorMessage"] == "Error: nobody catches this"
    assert "\tERROR\tUnhandled Promise Rejection \t{" in result.log


@pytest.mark.parametrize(("value", "expected"), [(None, "object"), ("true", "undefined")])
def test_awslambda_global_can_be_turned_off(lambda_client, buffered, value, expected):
    variables = {} if value is None else {"AWS_LAMBDA_NODEJS_NO_GLOBAL_AWSLAMBDA": value}
    name = buffered("globals", Environment={"Variables": variables})
    assert invoke(lambda_client, name).json() == expected


# --- Handler loading ---------------------------------------------------------------------


def test_es_module_mjs_streaming(lambda_client, deployed):
    name = deployed({"esm/app.mjs": ESM_MJS}, "esm/app.handler")
    result = stream(lambda_client, name)
    assert result.chunks == [b"esm ", b"mjs"] and "ErrorCode" not in result.complete
    other = deployed({"esm/app.mjs": ESM_MJS}, "esm/app.buffered")
    assert invoke(lambda_client, other).json()["url"].endswith("/esm/app.mjs")


def test_es_module_js_in_a_type_module_package(lambda_client, deployed):
    files = {
        "package.json": json.dumps({"type": "module"}),
        "src/handlers/app.js": TYPE_MODULE_JS,
    }
    name = deployed(files, "src/handlers/app.handler")
    assert invoke(lambda_client, name).json()["url"].endswith("/src/handlers/app.js")


def test_cjs_extension(lambda_client, deployed):
    name = deployed({"lib/app.cjs": CJS_FILE}, "lib/app.handler")
    assert invoke(lambda_client, name).json()["file"].endswith("/lib/app.cjs")


INIT_ERRORS = [
    pytest.param(
        {"index.js": "exports.handler = async () => 1;\n"},
        "missing.handler",
        "Runtime.ImportModuleError",
        "Error: Cannot find module 'missing'",
        id="module-not-found",
    ),
    pytest.param(
        {"index.mjs": "import x from 'no-such-package';\nexport const handler = () => x;\n"},
        "index.handler",
        "Error",
        "Cannot find package 'no-such-package' imported from ",
        id="esm-package-not-found",
    ),
    pytest.param(
        {"index.js": "exports.handler = async () => 1;\n"},
        "index.nope",
        "Runtime.HandlerNotFound",
        "index.nope is undefined or not exported",
        id="handler-not-found",
    ),
    pytest.param(
        {"app.js": BUFFERED_JS},
        "app.notAFunction",
        "Runtime.HandlerNotFound",
        "app.notAFunction is not a function",
        id="not-a-function",
    ),
    pytest.param(
        {"index.js": "exports.handler = async () => 1;\n"},
        "index",
        "Runtime.MalformedHandlerName",
        "Bad handler",
        id="no-export-name",
    ),
    pytest.param(
        {"index.js": "exports.handler = async () => 1;\n"},
        "index..handler",
        "Runtime.MalformedHandlerName",
        "'index..handler' is not a valid handler name. Use absolute paths when specifying "
        "root directories in handler names.",
        id="dot-dot",
    ),
    pytest.param(
        {"index.js": "exports.handler = async () => {\n"},
        "index.handler",
        "Runtime.UserCodeSyntaxError",
        "SyntaxError: Unexpected end of input",
        id="syntax-error",
    ),
    pytest.param(
        {"index.js": "throw new Error('init failed');\n"},
        "index.handler",
        "Error",
        "init failed",
        id="module-throws",
    ),
]


@pytest.mark.parametrize(("files", "handler", "error_type", "message"), INIT_ERRORS)
def test_init_errors(lambda_client, deployed, files, handler, error_type, message):
    name = deployed(files, handler)
    result = invoke(lambda_client, name)
    assert result.function_error == "Unhandled"
    document = result.json()
    assert document["errorType"] == error_type
    assert document["errorMessage"].startswith(message), document["errorMessage"]
    assert "\tundefined\tERROR\tUncaught Exception \t{" in result.log
    assert f"Status: error\tError Type: {error_type}" in result.log
    streamed = stream(lambda_client, name)
    assert streamed.chunks == []
    assert streamed.complete["ErrorCode"] == error_type
    assert streamed.complete["ErrorDetails"] == document["errorMessage"]


# --- Logs and context --------------------------------------------------------------------


def test_console_lines_in_aws_text_format(lambda_client, buffered):
    result = invoke(lambda_client, buffered("logs"))
    rid = request_id(result.log)
    records = log_records(result.log)
    assert ("undefined", "INFO", "loading the module") in records
    assert [record for record in records if record[0] == rid] == [
        (rid, "INFO", "hello { a: 1 }"),
        (rid, "INFO", "info line"),
        (rid, "WARN", "warn line"),
        (rid, "ERROR", "first line\rsecond line"),
        (rid, "DEBUG", "debug line"),
        (rid, "TRACE", "trace line"),
    ]
    lines = result.log.rstrip("\n").split("\n")
    assert lines[-2] == f"END RequestId: {rid}"
    assert lines[-1].startswith(f"REPORT RequestId: {rid}\tDuration: ")


def test_json_log_format_and_log_level(lambda_client, buffered):
    variables = {"AWS_LAMBDA_LOG_FORMAT": "JSON", "AWS_LAMBDA_LOG_LEVEL": "WARN"}
    result = invoke(lambda_client, buffered("logs", Environment={"Variables": variables}))
    rid = request_id(result.log)
    records = [json.loads(line) for line in result.log.split("\n") if line.startswith("{")]
    assert [(r["level"], r["requestId"], r["message"]) for r in records] == [
        ("WARN", rid, "warn line"),
        ("ERROR", rid, "first line\nsecond line"),
    ]
    assert all(LOG_LINE.match(r["timestamp"] + "\tx\tX\t") for r in records)


def test_context_and_environment(lambda_client, buffered):
    name = buffered("context", MemorySize=256, Timeout=5)
    arn = lambda_client.get_function(FunctionName=name)["Configuration"]["FunctionArn"]
    client_context = {"custom": {"k": "v"}, "env": {"platform": "test"}}
    result = invoke(
        lambda_client,
        name,
        ClientContext=base64.b64encode(json.dumps(client_context).encode()).decode(),
    )
    context = result.json()
    assert context["awsRequestId"] == request_id(result.log)
    assert context["functionName"] == name and context["functionVersion"] == "$LATEST"
    assert context["invokedFunctionArn"] == arn
    assert context["memoryLimitInMB"] == "256"
    assert context["logGroupName"] == f"/aws/lambda/{name}"
    assert re.fullmatch(r"\d{4}/\d\d/\d\d/\[\$LATEST\][0-9a-f]{32}", context["logStreamName"])
    assert 0 < context["remaining"] <= 5000
    assert context["clientContext"] == client_context and context["identity"] is None
    assert context["waits"] is True
    assert context["traceId"].startswith("Root=1-")
    env = context["env"]
    assert env["handler"] == "app.context" and env["taskRoot"] == env["cwd"]
    assert env["execution"] == "AWS_Lambda_nodejs20.x"
    # JSON a header cannot carry as is (line breaks, non-ASCII) arrives as the same object.
    text = '{\n  "custom": {"name": "café", "party": "🎉"}\n}'
    encoded = base64.b64encode(text.encode()).decode()
    assert invoke(lambda_client, name, ClientContext=encoded).json()["clientContext"] == (
        json.loads(text)
    )


# --- Where and how the runtime itself runs -----------------------------------------------


def test_v8_heap_is_sized_from_memory_size_as_on_aws(lambda_client):
    """AWS's flags: old space = MemorySize - MemorySize/25, semi-space = MemorySize/50 (MB).

    V8's limit is the old space plus its young generation. (Allocating past MemorySize is
    a row of test_faults.py, where sluice's memory watcher ends it as Runtime.OutOfMemory.)
    """
    name = unique("node-heap")
    source = "exports.handler = async () => require('v8').getHeapStatistics().heap_size_limit;"
    create_function(
        lambda_client,
        name,
        {"index.js": source},
        Runtime="nodejs20.x",
        Handler="index.handler",
        MemorySize=128,
    )
    small = json.loads(lambda_client.invoke(FunctionName=name)["Payload"].read()) >> 20
    lambda_client.update_function_configuration(FunctionName=name, MemorySize=512)
    large = json.loads(lambda_client.invoke(FunctionName=name)["Payload"].read()) >> 20
    assert 123 <= small < 123 + 16
    assert 492 <= large < 492 + 64


def test_bootstrap_stays_commonjs_under_an_es_module_project(tmp_path):
    """sluice installed in a `.venv` inside a `"type": "module"` Node project."""
    project = tmp_path / "project"
    shutil.copytree(Path(sluice.runtimes.__file__).parent / "node", project / "venv" / "node")
    (project / "package.json").write_text('{"type": "module"}')
    result = subprocess.run(
        ["node", str(project / "venv" / "node" / "bootstrap.js")],
        capture_output=True,
        text=True,
        timeout=30,
        env={**os.environ, "AWS_LAMBDA_RUNTIME_API": "127.0.0.1:9", "_HANDLER": "index.handler"},
        cwd=tmp_path,
        check=False,
    )
    assert "ES module scope" not in result.stderr
    assert "Runtime.ImportModuleError" in result.stdout + result.stderr
