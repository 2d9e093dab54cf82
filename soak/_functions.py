"""The functions the soak deploys: one per way an invocation can end, in Python and in Node.

Each runtime gets one package holding every handler plus a module that cannot load, so the
init error comes from the same code as the rest. Handlers take their arguments from the
event (Lambda API) or the query string (function URL) and write bytes the client can check:
chunk `i` is the digit `i % 10` repeated `size` times, so a lost, merged or reordered chunk
shows up as a wrong body, not just a wrong length.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass

PYTHON_CODE = """\
import os
import time

from sluice_runtime import HttpResponseStream, streamify_response


def _args(event):
    query = event.get("queryStringParameters")
    return {key: int(value) for key, value in query.items()} if query else event


def _write_all(stream, args):
    for index in range(args.get("chunks", 1)):
        if args.get("delay_ms"):
            time.sleep(args["delay_ms"] / 1000)
        stream.write(str(index % 10).encode() * args.get("size", 16))


@streamify_response
def stream(event, response_stream, context):
    _write_all(response_stream, _args(event))


def buffered(event, context):
    return {"echo": event}


@streamify_response
def error(event, response_stream, context):
    response_stream.write(b"partial")
    raise ValueError("soak mid-stream failure")


@streamify_response
def timeout(event, response_stream, context):
    response_stream.write(b"tick")
    time.sleep(30)


@streamify_response
def crash(event, response_stream, context):
    response_stream.write(b"partial")
    os._exit(3)


@streamify_response
def url(event, response_stream, context):
    head = {"statusCode": 200, "headers": {"content-type": "text/plain"}}
    _write_all(HttpResponseStream.from_(response_stream, head), _args(event))


def background(event, context):
    time.sleep(0.01)
    return {"done": True}
"""

PYTHON_BROKEN = "import soak_no_such_module  # noqa: F401  (the init error)\n"

NODE_CODE = """\
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

function args(event) {
  const query = event.queryStringParameters;
  if (!query) return event;
  return Object.fromEntries(Object.entries(query).map(([key, value]) => [key, Number(value)]));
}

async function writeAll(stream, { chunks = 1, size = 16, delay_ms: delay = 0 }) {
  for (let index = 0; index < chunks; index++) {
    if (delay) await sleep(delay);
    if (!stream.write(String(index % 10).repeat(size))) {
      await new Promise((resolve) => stream.once('drain', resolve));
    }
  }
  stream.end();
}

exports.stream = awslambda.streamifyResponse(async (event, responseStream) => {
  await writeAll(responseStream, args(event));
});

exports.buffered = async (event) => ({ echo: event });

exports.error = awslambda.streamifyResponse(async (event, responseStream) => {
  responseStream.write('partial');
  throw new Error('soak mid-stream failure');
});

exports.timeout = awslambda.streamifyResponse(async (event, responseStream) => {
  responseStream.write('tick');
  await sleep(30000);
});

exports.crash = awslambda.streamifyResponse(async (event, responseStream) => {
  responseStream.write('partial', () => process.exit(3));
  await sleep(30000);
});

exports.url = awslambda.streamifyResponse(async (event, responseStream) => {
  const head = { statusCode: 200, headers: { 'content-type': 'text/plain' } };
  await writeAll(awslambda.HttpResponseStream.from(responseStream, head), args(event));
});
"""

NODE_BROKEN = "require('soak-no-such-module');\n"

# runtime → (Lambda runtime id, module, package files)
PACKAGES = {
    "py": (
        f"python3.{sys.version_info.minor}",
        "app",
        {"app.py": PYTHON_CODE, "broken.py": PYTHON_BROKEN},
    ),
    "node": ("nodejs20.x", "index", {"index.js": NODE_CODE, "broken.js": NODE_BROKEN}),
}


@dataclass(frozen=True)
class FunctionDef:
    """One deployed function: `<runtime>-<handler>`, its timeout, and whether it has a
    RESPONSE_STREAM function URL."""

    runtime: str
    handler: str
    timeout: int = 10
    url: bool = False

    @property
    def key(self) -> str:
        return f"{self.runtime}-{self.handler}"


FUNCTIONS = (
    FunctionDef("py", "stream"),
    FunctionDef("py", "buffered"),
    FunctionDef("py", "error"),
    FunctionDef("py", "timeout", timeout=1),
    FunctionDef("py", "crash", url=True),
    FunctionDef("py", "init"),
    FunctionDef("py", "url", url=True),
    FunctionDef("py", "background"),
    FunctionDef("node", "stream"),
    FunctionDef("node", "buffered"),
    FunctionDef("node", "error"),
    FunctionDef("node", "timeout", timeout=1),
    FunctionDef("node", "crash"),
    FunctionDef("node", "init", url=True),
    FunctionDef("node", "url", url=True),
)


def handler_of(function: FunctionDef) -> str:
    """The Lambda `Handler`: the init-error function points at the module that cannot load."""
    _, module, _ = PACKAGES[function.runtime]
    return "broken.handler" if function.handler == "init" else f"{module}.{function.handler}"


def chunk(index: int, size: int) -> bytes:
    """What the handlers write as chunk `index`."""
    return str(index % 10).encode() * size


def body(chunks: int, size: int) -> bytes:
    """The whole body a happy-path stream of `chunks` chunks of `size` bytes delivers."""
    return b"".join(chunk(index, size) for index in range(chunks))
