"""The functions every scenario runs, in Python and in Node, and how they are deployed.

Each runtime gets one package with one handler per workload. The handlers take their
arguments from the event (InvokeWithResponseStream) or from the query string (a function
URL), so one package serves both paths. They do nothing but write, so a figure measures the
path from the function's write to the client's read, not the handler.
"""

from __future__ import annotations

import sys

from benchmarks._server import BenchServer, create_function

PYTHON_CODE = """\
import time

from sluice_runtime import streamify_response

BLOCK = b"\\0" * 65536
PIECE = b"0123456789abcdef"


def _args(event):
    query = event.get("queryStringParameters")
    return {key: int(value) for key, value in query.items()} if query else event


@streamify_response
def first(event, response_stream, context):
    response_stream.write(b"x")


@streamify_response
def bulk(event, response_stream, context):
    for _ in range(_args(event)["chunks"]):
        response_stream.write(BLOCK)


@streamify_response
def small(event, response_stream, context):
    for _ in range(_args(event)["writes"]):
        response_stream.write(PIECE)


@streamify_response
def ticker(event, response_stream, context):
    args = _args(event)
    started = time.time()
    for tick in range(args["ticks"]):
        time.sleep(max(0.0, started + tick * args["interval_ms"] / 1000 - time.time()))
        response_stream.write(b"%.6f\\n" % time.time())


def buffered(event, context):
    return {"ok": True}
"""
NODE_CODE = """\
const BLOCK = Buffer.alloc(65536);
const PIECE = Buffer.from('0123456789abcdef');

function args(event) {
  const query = event.queryStringParameters;
  if (!query) return event;
  return Object.fromEntries(Object.entries(query).map(([key, value]) => [key, Number(value)]));
}

async function writeAll(responseStream, count, data) {
  for (let i = 0; i < count; i++) {
    if (!responseStream.write(data)) {
      await new Promise((resolve) => responseStream.once('drain', resolve));
    }
  }
  responseStream.end();
}

exports.first = awslambda.streamifyResponse(async (event, responseStream) => {
  responseStream.write('x');
  responseStream.end();
});

exports.bulk = awslambda.streamifyResponse(async (event, responseStream) => {
  await writeAll(responseStream, args(event).chunks, BLOCK);
});

exports.small = awslambda.streamifyResponse(async (event, responseStream) => {
  await writeAll(responseStream, args(event).writes, PIECE);
});

exports.ticker = awslambda.streamifyResponse(async (event, responseStream) => {
  const { ticks, interval_ms: interval } = args(event);
  const started = Date.now();
  for (let tick = 0; tick < ticks; tick++) {
    const wait = started + tick * interval - Date.now();
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    responseStream.write(`${(Date.now() / 1000).toFixed(6)}\\n`);
  }
  responseStream.end();
});

exports.buffered = async () => ({ ok: true });
"""
# runtime → (Lambda runtime id, file name, source)
RUNTIMES = {
    "python": (f"python3.{sys.version_info.minor}", "app.py", PYTHON_CODE),
    "node": ("nodejs20.x", "index.js", NODE_CODE),
}
HANDLERS = ("first", "bulk", "small", "ticker", "buffered")


def function_name(runtime: str, handler: str) -> str:
    return f"{runtime}-{handler}"


def deploy(server: BenchServer, runtime: str, name: str | None = None, handler: str = "") -> None:
    """Create the runtime's functions (or only `name`, running `handler`) from its package."""
    runtime_id, file_name, source = RUNTIMES[runtime]
    module = file_name.split(".")[0]
    wanted = [(name, handler)] if name else [(function_name(runtime, h), h) for h in HANDLERS]
    for function, entry in wanted:
        create_function(server, function, runtime_id, f"{module}.{entry}", {file_name: source})
