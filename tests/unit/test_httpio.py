"""The shared HTTP layer over a real loopback socket."""

from __future__ import annotations

import asyncio
import socket

import h11
import pytest

from sluice import httpio


async def _echo(conn: httpio.HttpConnection, request: httpio.Request) -> None:
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


async def _answer(conn: httpio.HttpConnection, request: httpio.Request) -> None:
    """A full response on /full, a chunked one elsewhere."""
    if request.target == b"/full":
        await conn.respond(200, [("Content-Type", "text/plain")], b"body")
        return
    await conn.start_stream(200, [("Content-Type", "text/plain")])
    await conn.send_chunk(b"chunk")
    await conn.end_stream()


def test_head_gets_the_head_only_and_the_connection_stays_usable() -> None:
    """RFC 9110 9.3.2: no body on a HEAD response; Content-Length still says what a GET
    would get."""

    payload = (
        b"HEAD /full HTTP/1.1\r\nHost: x\r\n\r\n"
        b"HEAD /stream HTTP/1.1\r\nHost: x\r\n\r\n"
        b"GET /full HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    )
    client = h11.Connection(h11.CLIENT)
    client.receive_data(_serve(_answer, payload))
    answers = []
    for method, target in ((b"HEAD", b"/full"), (b"HEAD", b"/stream"), (b"GET", b"/full")):
        client.send(h11.Request(method=method, target=target, headers=[("Host", "x")]))
        client.send(h11.EndOfMessage())
        response = client.next_event()
        body = b""
        while isinstance(event := client.next_event(), h11.Data):
            body += event.data
        assert isinstance(event, h11.EndOfMessage)
        answers.append((response.status_code, dict(response.headers), body))
        if client.our_state is h11.DONE and client.their_state is h11.DONE:
            client.start_next_cycle()
    assert answers[0] == (200, {b"content-type": b"text/plain", b"content-length": b"4"}, b"")
    assert answers[1][0] == 200 and answers[1][2] == b""
    assert answers[2][0] == 200 and answers[2][2] == b"body"


async def _wait_for_peer(conn: httpio.HttpConnection, request: httpio.Request) -> None:
    if request.target == b"/wait":
        await asyncio.wait_for(conn.peer_gone, 5)
    await conn.respond(200, [], request.target)


def test_peer_gone_sees_the_close_and_keeps_a_pipelined_request() -> None:
    """What the Runtime API's `next` relies on to hand nothing to a runtime that left."""

    payload = b"GET /wait HTTP/1.1\r\nHost: x\r\n\r\nGET /next HTTP/1.1\r\nHost: x\r\n\r\n"
    data = _serve(_wait_for_peer, payload)
    assert data.count(b"HTTP/1.1 200 OK") == 2
    assert data.endswith(b"/next") and b"/wait" in data


async def _body_echo(conn: httpio.HttpConnection, request: httpio.Request) -> None:
    """Answers with what the body looked like: pieces (`|` at chunk ends) and trailers."""
    pieces = []
    while True:
        event = await conn.next_body_event()
        if isinstance(event, httpio.EndOfMessage):
            break
        pieces.append(event.data + (b"|" if event.chunk_end else b""))
    trailers = b";".join(b"%s=%s" % pair for pair in event.headers)
    await conn.respond(200, [("Content-Type", "text/plain")], b"".join(pieces) + b" " + trailers)


def _serve(handler, payload: bytes) -> bytes:
    """Send `payload` on one connection, half-close, and return everything answered."""

    def exchange(port: int) -> bytes:
        with socket.create_connection(("127.0.0.1", port)) as sock:
            sock.sendall(payload)
            sock.shutdown(socket.SHUT_WR)
            data = b""
            while chunk := sock.recv(65536):
                data += chunk
            return data

    async def scenario() -> bytes:
        server = httpio.HttpServer(handler)
        port = await server.start("127.0.0.1", 0)
        try:
            return await asyncio.to_thread(exchange, port)
        finally:
            await server.close()

    return asyncio.run(scenario())


def test_chunks_end_where_the_sender_ended_them_and_trailers_arrive() -> None:
    answer = _serve(
        _body_echo,
        b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
        b"3\r\nabc\r\n2\r\nde\r\n0\r\nX-Error: boom\r\n\r\n",
    )
    assert answer.startswith(b"HTTP/1.1 200 OK\r\n")
    assert b"Connection: close\r\n" in answer
    assert answer.endswith(b"\r\n\r\nabc|de| x-error=boom")


def test_broken_chunk_framing_is_answered_400() -> None:
    answer = _serve(
        _body_echo, b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n"
    )
    assert answer.startswith(b"HTTP/1.1 400 Bad Request\r\n")
    assert answer.endswith(b"\r\n\r\nBad request\n")


def test_an_upgrade_without_a_body_is_served_as_plain_http_then_closed() -> None:
    # RFC 9110 7.8: a server may ignore Upgrade. What follows is not read (llhttp hands it
    # on as the new protocol's bytes), so the one answer says Connection: close.
    answer = _serve(
        _body_echo,
        b"GET / HTTP/1.1\r\nHost: x\r\nConnection: upgrade\r\nUpgrade: h2c\r\n\r\n"
        b"GET /second HTTP/1.1\r\nHost: x\r\n\r\n",
    )
    assert answer.count(b"HTTP/1.1 ") == 1
    assert answer.startswith(b"HTTP/1.1 200 OK\r\n")
    assert b"Connection: close\r\n" in answer


@pytest.mark.parametrize(
    "head",
    [
        b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nConnection: upgrade\r\n"
        b"Upgrade: h2c\r\n\r\nabc",
        # llhttp reports CONNECT as an upgrade, Upgrade header or not.
        b"CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n",
    ],
    ids=["upgrade-with-body", "connect"],
)
def test_an_upgrade_with_a_body_and_a_tunnel_are_refused(head: bytes) -> None:
    assert _serve(_body_echo, head).startswith(b"HTTP/1.1 400 Bad Request\r\n")


def test_an_upgrade_with_content_length_zero_is_served() -> None:
    answer = _serve(
        _body_echo,
        b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 00\r\nConnection: upgrade\r\n"
        b"Upgrade: h2c\r\n\r\n",
    )
    assert answer.startswith(b"HTTP/1.1 200 OK\r\n")


def test_expect_continue_is_answered_when_the_body_is_read() -> None:
    answer = _serve(
        _body_echo,
        b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nExpect: 100-continue\r\n"
        b"Connection: close\r\n\r\nhi",
    )
    assert answer.startswith(b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\n")
    assert answer.endswith(b"hi ")


async def _stream_two(conn: httpio.HttpConnection, request: httpio.Request) -> None:
    await conn.start_stream(200, [("Content-Type", "text/plain")])
    await conn.send_parts(conn.chunk_parts([b"one", memoryview(b"two")]))
    await conn.end_stream()


def test_streams_are_chunked_for_http11_and_unframed_for_http10() -> None:
    chunked = _serve(_stream_two, b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    assert b"Transfer-Encoding: chunked\r\n" in chunked
    assert chunked.endswith(b"\r\n\r\n6\r\nonetwo\r\n0\r\n\r\n")
    plain = _serve(_stream_two, b"GET / HTTP/1.0\r\n\r\n")
    assert b"Transfer-Encoding" not in plain and b"Connection: close\r\n" in plain
    assert plain.endswith(b"\r\n\r\nonetwo")


def test_a_header_value_that_would_break_the_head_is_refused() -> None:
    """A function's header value must not be able to end the field and add its own."""
    with pytest.raises(ValueError, match="invalid header field"):
        httpio._field("X-Injected", "a\r\nSet-Cookie: b")
