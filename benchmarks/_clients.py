"""The two clients every figure is measured with.

The lean client is http.client plus sluice's own sans-IO event-stream `Decoder`: no signing,
no retries, no botocore parsing, so its timings are close to what the server itself costs.
boto3 is what users run, so its timings are what users see. Both return the same `Stream`.
"""

from __future__ import annotations

import http.client
import io
import json
import socket
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from sluice.protocol.eventstream import NEED_DATA, Decoder, Message

_READ_SIZE = 1 << 20


@dataclass(frozen=True)
class Stream:
    """One InvokeWithResponseStream call as the client saw it; times in seconds from the send."""

    first_chunk: float
    total: float
    payload_bytes: int
    chunks: int = 0  # PayloadChunk events (0 where the client does not count them)
    wire_bytes: int = 0  # every byte of the answer, head and framing included (lean client)


class BenchError(RuntimeError):
    """A call did not succeed; a benchmark of a failing call would measure the wrong thing."""


def stream_path(function: str) -> str:
    return f"/2021-11-15/functions/{function}/response-streaming-invocations"


class _CountingReader(io.RawIOBase):
    """The socket's read side, counting bytes, so overhead per chunk is measured on the wire.
    http.client closes it with each response, so each response gets its own."""

    def __init__(self, owner: CountingSocket) -> None:
        self._owner = owner

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:  # any writable buffer
        received = self._owner.sock.recv_into(buffer)
        self._owner.count += received
        return received


class CountingSocket:
    """What http.client needs of a socket, with `makefile` handing out counting readers."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.count = 0

    def makefile(self, mode: str) -> io.BufferedReader:
        return io.BufferedReader(_CountingReader(self), _READ_SIZE)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.sock, name)


class LeanClient:
    """One keep-alive connection; unsigned POSTs (sluice accepts unsigned Lambda API calls)."""

    def __init__(self, host: str, port: int) -> None:
        self._conn = http.client.HTTPConnection(host, port, timeout=600)
        self._counter: CountingSocket | None = None

    def close(self) -> None:
        self._conn.close()

    def invoke_stream(
        self,
        function: str,
        payload: bytes = b"{}",
        on_chunk: Callable[[bytes], None] | None = None,
    ) -> Stream:
        """POST the invocation and decode frames as they arrive, until the server ends the body.
        `on_chunk` sees each PayloadChunk's payload the moment it is decoded.

        Raises:
            BenchError: a non-200 answer, or an InvokeComplete carrying an ErrorCode.
        """
        if self._conn.sock is None:
            self._conn.connect()
            self._conn.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            self._counter = self._conn.sock = CountingSocket(self._conn.sock)
        assert self._counter is not None
        wire_before = self._counter.count
        started = time.perf_counter()
        # A bytes body goes out in the same send() as the head (no Nagle/delayed-ACK stall).
        self._conn.request("POST", stream_path(function), body=payload)
        response = self._conn.getresponse()
        if response.status != 200:
            raise BenchError(f"{function}: HTTP {response.status}: {response.read()[:300]!r}")
        first, received, chunks = 0.0, 0, 0
        for message in _messages(response):
            if message.header(":event-type") == "PayloadChunk":
                if not first:
                    first = time.perf_counter() - started
                received += len(message.payload)
                chunks += 1
                if on_chunk is not None:
                    on_chunk(message.payload)
            else:
                _check_complete(function, message.payload)
        total = time.perf_counter() - started
        return Stream(first, total, received, chunks, self._counter.count - wire_before)


def _messages(response: http.client.HTTPResponse) -> Iterator[Message]:
    """Event-stream messages from a (chunked) body, decoded incrementally."""
    decoder = Decoder()
    while data := response.read1(_READ_SIZE):
        decoder.feed(data)
        while (message := decoder.next_message()) is not NEED_DATA:
            yield message
    decoder.end_of_stream()


def _check_complete(function: str, body: bytes) -> None:
    complete = json.loads(body or b"{}")
    if complete.get("ErrorCode"):
        raise BenchError(f"{function}: {complete['ErrorCode']}: {complete.get('ErrorDetails')}")


def boto3_stream(client: object, function: str, payload: bytes = b"{}") -> Stream:
    """The same call through boto3's `invoke_with_response_stream` and its event parser."""
    started = time.perf_counter()
    answer = client.invoke_with_response_stream(  # type: ignore[attr-defined]
        FunctionName=function, Payload=payload
    )
    first, received = 0.0, 0
    for event in answer["EventStream"]:
        if "PayloadChunk" in event:
            if not first:
                first = time.perf_counter() - started
            received += len(event["PayloadChunk"]["Payload"])
        elif error := event.get("InvokeComplete", {}).get("ErrorCode"):
            raise BenchError(f"{function}: {error}")
    return Stream(first, time.perf_counter() - started, received)
