"""The function both servers run in the function-URL comparison: a stdlib custom runtime.

sluice runs it as a `provided.al2023` function (its `bootstrap` execs this file) and the
peer, cargo-lambda, gets it started by the benchmark, so the function code is byte for byte
the same on both sides and a difference in the figures is a difference between the servers.
It is deliberately plain: one keep-alive connection to the Runtime API, no threads, no
imports beyond the standard library (it must run from a bare deployment package).

Each invocation is a function URL event (payload 2.0); its `rawQueryString` chooses the work:

- `first`: one write of b"x" (time to first byte),
- `chunks=N`: N writes of 64 KiB of zero bytes (throughput),
- `writes=N&size=S`: N writes of S bytes.

The answer is a RESPONSE_STREAM response: the HTTP integration prelude, 8 NUL bytes, then
every write as its own HTTP chunk, sent at once (no buffering, TCP_NODELAY), which is what
the Node.js runtime's `awslambda.HttpResponseStream` does on AWS. The prelude and the NULs
are two chunks of their own because cargo-lambda reads them as two body frames (one chunk
each) and fails the call with a 500 when they share one; sluice parses the bytes either way.

AWS_LAMBDA_RUNTIME_API is `host:port` on AWS and sluice, but cargo-lambda hands out a URL
with a scheme and a path (`http://127.0.0.1:9000/.rt`); both are accepted.
"""

from __future__ import annotations

import http.client
import json
import os
import socket
import sys
from urllib.parse import parse_qs, urlsplit

API_VERSION = "/2018-06-01/runtime"
BLOCK = 64 * 1024
# `cookies` is optional on AWS, but cargo-lambda answers 500 to a prelude without it.
PRELUDE = b'{"statusCode":200,"headers":{"content-type":"application/octet-stream"},"cookies":[]}'
SEPARATOR = bytes(8)
STREAM_HEADERS = {
    "Lambda-Runtime-Function-Response-Mode": "streaming",
    "Transfer-Encoding": "chunked",
    "Content-Type": "application/vnd.awslambda.http-integration-response",
}


def runtime_address(value: str) -> tuple[str, int, str]:
    """(host, port, path prefix) from `host:port` or `http://host:port/prefix`."""
    parts = urlsplit(value if "://" in value else f"http://{value}")
    return parts.hostname or "127.0.0.1", parts.port or 80, parts.path.rstrip("/")


def plan(raw_query: str) -> tuple[int, bytes]:
    """(number of writes, what each write sends) for the event's query string."""
    if raw_query == "first":
        return 1, b"x"
    query = {key: int(values[-1]) for key, values in parse_qs(raw_query).items()}
    if "chunks" in query:
        return query["chunks"], bytes(BLOCK)
    return query.get("writes", 1), bytes(query.get("size", 1))


def _chunk(data: bytes) -> bytes:
    return b"%x\r\n%b\r\n" % (len(data), data)


class Runtime:
    """One keep-alive Runtime API connection; `next` and an answer alternate on it."""

    def __init__(self, api: str) -> None:
        host, port, prefix = runtime_address(api)
        self._base = f"{prefix}{API_VERSION}/invocation"
        self._conn = http.client.HTTPConnection(host, port)

    def close(self) -> None:
        self._conn.close()

    def _connection(self) -> http.client.HTTPConnection:
        if self._conn.sock is None:
            self._conn.connect()
            self._conn.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return self._conn

    def next(self) -> tuple[str, dict[str, object]]:
        """Long-poll for the next invocation: (request id, event).

        An idle keep-alive connection the server has dropped is reopened once: no
        invocation can have been handed out on a request that never arrived.
        """
        try:
            response = self._get_next()
        except ConnectionError:  # RemoteDisconnected is one
            self._conn.close()
            response = self._get_next()
        body = response.read()
        if response.status != 200:
            raise RuntimeError(f"next: HTTP {response.status}: {body[:200]!r}")
        return response.headers["Lambda-Runtime-Aws-Request-Id"], json.loads(body or b"{}")

    def _get_next(self) -> http.client.HTTPResponse:
        conn = self._connection()
        conn.request("GET", f"{self._base}/next")
        return conn.getresponse()

    def stream(self, request_id: str, count: int, data: bytes) -> None:
        """Send the prelude and `count` writes of `data`, each as its own chunk, unbuffered."""
        conn = self._connection()
        conn.putrequest("POST", f"{self._base}/{request_id}/response", skip_accept_encoding=True)
        for name, value in STREAM_HEADERS.items():
            conn.putheader(name, value)
        conn.endheaders()
        sock = conn.sock
        sock.sendall(_chunk(PRELUDE) + _chunk(SEPARATOR))
        frame = _chunk(data)
        for _ in range(count):
            sock.sendall(frame)
        sock.sendall(b"0\r\n\r\n")
        self._finish("response")

    def fail(self, request_id: str, error: Exception) -> None:
        """Report an invocation error, so a bad query fails one call instead of the runtime."""
        document = {"errorMessage": str(error), "errorType": type(error).__name__}
        conn = self._connection()
        conn.request(
            "POST",
            f"{self._base}/{request_id}/error",
            body=json.dumps(document).encode(),
            headers={"Lambda-Runtime-Function-Error-Type": "Unhandled"},
        )
        self._finish("error")

    def _finish(self, what: str) -> None:
        """Read the Runtime API's answer; a refusal (the caller gave up, say) ends only this
        invocation, as it would for a managed runtime."""
        response = self._conn.getresponse()
        response.read()
        if response.status >= 300:
            print(f"{what}: HTTP {response.status}", file=sys.stderr)


def main() -> None:
    runtime = Runtime(os.environ["AWS_LAMBDA_RUNTIME_API"])
    while True:
        request_id, event = runtime.next()
        try:
            count, data = plan(str(event.get("rawQueryString") or "first"))
        except (ValueError, TypeError) as error:
            runtime.fail(request_id, error)
            continue
        try:
            runtime.stream(request_id, count, data)
        except (OSError, http.client.HTTPException):
            runtime.close()  # the server gave up on this invocation; serve the next one


if __name__ == "__main__":
    main()
