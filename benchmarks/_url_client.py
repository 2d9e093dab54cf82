"""The function-URL client: plain GETs on one keep-alive connection, timed at the body.

A function URL answers with the function's own bytes (no event-stream framing), so this is
http.client and nothing else; it is the same code against sluice and against the peer, which
keeps the client's own cost out of the comparison. It returns the `Stream` the Lambda API
clients return, with `first_chunk` meaning the first body byte and `wire_bytes` counting
the head and the chunked framing too (`chunks` stays 0: http.client hides chunk borders).
"""

from __future__ import annotations

import http.client
import socket
import time
from collections.abc import Callable

from benchmarks._clients import BenchError, CountingSocket, Stream

_READ_SIZE = 1 << 20


class UrlClient:
    """One keep-alive connection to a server's function URLs.

    `host_header` replaces the Host header, for servers that pick the URL by host name
    (sluice's `<url-id>.lambda-url.<region>.localhost:<port>`).
    """

    def __init__(
        self, host: str, port: int, host_header: str | None = None, timeout: float = 600
    ) -> None:
        self._conn = http.client.HTTPConnection(host, port, timeout=timeout)
        self._headers = {"Host": host_header} if host_header else {}
        self._socket: CountingSocket | None = None

    def close(self) -> None:
        self._conn.close()

    def _connected(self) -> CountingSocket:
        if self._conn.sock is None:
            self._conn.connect()
            self._conn.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            self._socket = self._conn.sock = CountingSocket(self._conn.sock)
        assert self._socket is not None
        return self._socket

    def get(self, path_and_query: str, on_data: Callable[[bytes], None] | None = None) -> Stream:
        """GET `path_and_query` and read the body as it arrives, until the server ends it.
        `on_data` sees each piece of the body the moment it is read.

        Raises:
            BenchError: an answer other than 200.
        """
        counter = self._connected()
        wire_before = counter.count
        started = time.perf_counter()
        self._conn.request("GET", path_and_query, headers=self._headers)
        response = self._conn.getresponse()
        if response.status != 200:
            detail = response.read()[:300]
            raise BenchError(f"GET {path_and_query}: HTTP {response.status}: {detail!r}")
        first, received = 0.0, 0
        while data := response.read1(_READ_SIZE):
            if not first:
                first = time.perf_counter() - started
            received += len(data)
            if on_data is not None:
                on_data(data)
        total = time.perf_counter() - started
        return Stream(first, total, received, 0, counter.count - wire_before)


def url_get(
    host: str, port: int, path_and_query: str, host_header: str | None = None, timeout: float = 600
) -> Stream:
    """One GET on a connection of its own: a fresh connection per call, and no keep-alive
    state (delayed ACKs, Nagle) carried from one call to the next."""
    client = UrlClient(host, port, host_header, timeout)
    try:
        return client.get(path_and_query)
    finally:
        client.close()
