"""The shared HTTP layer over a real loopback socket."""

from __future__ import annotations

import asyncio
import socket

import h11

from sluice import httpio


async def _echo(conn: httpio.HttpConnection, request: h11.Request) -> None:
    await conn.respond(200, [("Content-Type", "text/plain")], request.method + b" ok")


def _exchange(port: int, payload: bytes, expected_responses: int) -> bytes:
    with socket.create_connection(("127.0.0.1", port)) as sock:
        sock.sendall(payload)
        data = b""
        while data.count(b"HTTP/1.1 200") < expected_responses or not data.endswith(b"ok"):
            chunk = sock.recv(65536)
            if not chunk:
                break
            data += chunk
        return data


def test_get_then_post_reuse_one_connection() -> None:
    """A GET answered without reading its end must not cost the connection (libcurl reuses it)."""

    async def scenario() -> bytes:
        server = httpio.HttpServer(_echo)
        port = await server.start("127.0.0.1", 0)
        try:
            payload = (
                b"GET /a HTTP/1.1\r\nHost: x\r\n\r\n"
                b"POST /b HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\nhi"
            )
            return await asyncio.to_thread(_exchange, port, payload, 2)
        finally:
            await server.close()

    data = asyncio.run(scenario())
    assert data.count(b"HTTP/1.1 200") == 2
    assert b"GET ok" in data and data.endswith(b"POST ok")
