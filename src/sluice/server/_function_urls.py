"""Function URLs on the wire: a plain HTTP request in, the function's HTTP answer out.

A request names its URL by Host (`<url-id>.lambda-url.<region>.localhost`) or by the path
form `/_sluice/url/<url-id>/...`; `_app` finds the URL and hands it here. Then, as AWS's
front door does (spec section 5): a CORS preflight is answered without running anything, an
`AWS_IAM` URL checks the SigV4 signature, the request becomes a payload format 2.0 event,
and the function's result becomes the HTTP response. `BUFFERED` waits for the whole result
and interprets it; `RESPONSE_STREAM` sends the head as soon as the prelude (or the first
byte) is there, then every chunk the moment the runtime sends it. The rules themselves live
in `sluice.protocol.function_url` and `sluice.protocol.sigv4`; this module moves bytes.
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from sluice import httpio
from sluice.engine import Engine, FunctionSpec, Invocation, InvokeRequest, StreamStart
from sluice.errors import TooManyRequests
from sluice.protocol import function_url as fu
from sluice.protocol import sigv4
from sluice.protocol.runtime import Outcome
from sluice.server._invoke import MAX_SYNC_PAYLOAD, too_large

logger = logging.getLogger("sluice.function_urls")

PATH_PREFIX = "/_sluice/url/"
# What AWS's front door answers a body over the invoke limit (spec section 6, decision 7).
_TOO_LARGE = fu.HttpReply(
    413,
    (("content-type", "application/json"),),
    json.dumps({"Message": too_large(MAX_SYNC_PAYLOAD).message}).encode(),
)


_THROTTLED = fu.HttpReply(
    429,
    (("content-type", "application/json"), ("x-amzn-errortype", "TooManyRequestsException")),
    json.dumps({"Message": "Rate Exceeded."}).encode(),
)


@dataclass(frozen=True, slots=True)
class UrlRequest:
    """One request to a function URL, as it arrived, and the URL it is for."""

    method: str
    wire_path: str  # the path as sent, what a signature covers
    raw_path: str  # the path the function sees (the path form's prefix removed)
    raw_query: str
    headers: Sequence[tuple[str, str]]
    source_ip: str
    port: int
    url_id: str
    region: str


@dataclass(frozen=True, slots=True)
class UrlConfig:
    """What serving needs of a URL's configuration."""

    function: FunctionSpec
    function_arn: str
    account_id: str
    auth_type: str
    invoke_mode: str
    cors: fu.CorsConfig | None


def split_path_form(path: str) -> tuple[str, str] | None:
    """(url_id, path the function sees) for `/_sluice/url/<url-id>[/rest]`, else None."""
    if not path.startswith(PATH_PREFIX):
        return None
    url_id, slash, rest = path[len(PATH_PREFIX) :].partition("/")
    return url_id, f"/{rest}" if slash else "/"


async def serve(
    conn: httpio.HttpConnection,
    request: UrlRequest,
    config: UrlConfig,
    engine: Engine,
    credentials: Iterable[sigv4.Credentials],
) -> None:
    """Answer one request to a function URL; every failure is an HTTP answer, never raised
    (except the connection itself going away)."""
    try:
        body = await conn.read_body(MAX_SYNC_PAYLOAD)
    except httpio.BodyTooLarge:
        await conn.discard_body()
        await _reply(conn, _TOO_LARGE, ())
        return
    cors = config.cors
    if cors is not None and fu.is_preflight(request.method, request.headers):
        await _reply(conn, fu.preflight_reply(cors, request.headers), ())
        return
    extra = fu.cors_headers(cors, request.headers) if cors is not None else ()
    iam = None
    if config.auth_type == "AWS_IAM":
        try:
            signed = sigv4.verify(
                request.method,
                request.wire_path,
                request.raw_query,
                request.headers,
                body,
                credentials,
                now=datetime.now(UTC),
                region=request.region,
            )
        except sigv4.SignatureError as exc:
            logger.warning("function URL %s refused a request: %s", request.url_id, exc)
            refused = sigv4.refusal(exc)
            headers = (
                ("content-type", "application/json"),
                ("x-amzn-errortype", refused.error_type),
            )
            await _reply(conn, fu.HttpReply(refused.status, headers, refused.body), extra)
            return
        iam = _caller(signed, config.account_id)
    invoke = InvokeRequest(
        function=config.function,
        payload=json.dumps(_event(request, body, config, iam)).encode(),
        invoked_arn=config.function_arn,
        region=request.region,
        streaming=config.invoke_mode == "RESPONSE_STREAM",
    )
    try:
        invocation = await engine.invoke(invoke)
    except TooManyRequests:
        # Every environment is busy: AWS's front door answers 429 before anything runs.
        await _reply(conn, _THROTTLED, extra)
        return
    if invoke.streaming:
        await _stream(conn, invocation, extra)
    else:
        await _buffered(conn, invocation, extra)


def _event(
    request: UrlRequest, body: bytes, config: UrlConfig, iam: fu.IamCaller | None
) -> dict[str, object]:
    return fu.request_event(
        method=request.method,
        raw_path=request.raw_path,
        raw_query_string=request.raw_query,
        headers=request.headers,
        body=body,
        source_ip=request.source_ip,
        url_id=request.url_id,
        region=request.region,
        request_id=str(uuid.uuid4()),
        time_epoch_ms=int(time.time() * 1000),
        account_id=config.account_id,
        iam=iam,
        server_port=request.port,
    )


def _caller(signed: sigv4.SignedBy, account_id: str) -> fu.IamCaller:
    """The `authorizer.iam` block for a verified key. sluice has no IAM users, so the key
    stands for a user of that name in the function owner's account."""
    return fu.IamCaller(
        access_key=signed.access_key_id,
        account_id=account_id,
        caller_id=signed.access_key_id,
        user_arn=f"arn:aws:iam::{account_id}:user/{signed.access_key_id}",
        user_id=signed.access_key_id,
    )


async def _buffered(conn: httpio.HttpConnection, invocation: Invocation, extra: fu.Headers) -> None:
    parts = [event async for event in invocation.events() if isinstance(event, bytes)]
    outcome = invocation.outcome
    assert outcome is not None
    if outcome.failed:
        logger.warning("function URL invocation failed: %s", outcome.error_message)
        reply = fu.function_error_reply(outcome.error_message)
    else:
        reply = fu.buffered_response(b"".join(parts), function_error=False)
    if reply.problem:
        logger.warning("function URL answer refused: %s", reply.problem)
    await _reply(conn, reply, extra)


async def _stream(conn: httpio.HttpConnection, invocation: Invocation, extra: fu.Headers) -> None:
    """Relay a streamed answer, one write per batch of waiting events; a client that
    leaves does not stop the function."""
    relay = _StreamRelay(conn, extra)
    try:
        async for batch in invocation.batches():
            for event in batch:
                if isinstance(event, StreamStart):
                    relay.start(event.content_type)
                elif isinstance(event, bytes):
                    relay.feed(event)
                else:
                    relay.finish(event)
            await conn.send_parts(relay.take())
    except (ConnectionError, OSError):
        invocation.detach()
        conn.abort()


class _StreamRelay:
    """The parser for one streamed answer, and the bytes it has ready to send: the body
    pieces of one batch leave as one HTTP chunk, written without being joined."""

    def __init__(self, conn: httpio.HttpConnection, extra: fu.Headers) -> None:
        self._conn = conn
        self._extra = extra
        self._parser: fu.ResponseStreamParser | None = None
        self._failed = False
        self._out: list[httpio.Buffer] = []
        self._body: list[httpio.Buffer] = []

    @property
    def head_sent(self) -> bool:
        return self._parser is not None and self._parser.head_done

    def take(self) -> list[httpio.Buffer]:
        """Everything ready to send, in order, as pieces for one vectored write (the body
        bytes are not copied); the relay is empty afterwards."""
        self._flush_body()
        out = self._out
        self._out = []
        return out

    def start(self, content_type: str | None) -> None:
        self._parser = fu.ResponseStreamParser(content_type)
        if not self._parser.has_prelude:
            self.feed(b"")

    def feed(self, data: bytes) -> None:
        if self._failed:
            return
        if self._parser is None:  # a buffered answer from a handler that does not stream
            self.start(None)
        assert self._parser is not None
        try:
            events = self._parser.feed(data)
        except fu.MalformedResponse as exc:
            self._refuse(str(exc))
            return
        self._add(events)

    def finish(self, outcome: Outcome) -> None:
        if self._failed:
            return
        if outcome.failed and not self.head_sent:
            logger.warning("function URL invocation failed: %s", outcome.error_message)
            reply = fu.function_error_reply(outcome.error_message)
            self._out.append(_reply_bytes(self._conn, reply, self._extra))
            return
        if outcome.failed:
            # Spec decision 5: the status and headers are gone; end the body cleanly.
            logger.warning("function URL stream ended early: %s", outcome.error_message)
        if self._parser is None:
            self.start(None)
        assert self._parser is not None
        try:
            self._add(self._parser.close())
        except fu.MalformedResponse as exc:
            self._refuse(str(exc))
            return
        self._flush_body()
        self._out.append(self._conn.stream_end())

    def _add(self, events: Sequence[fu.StreamEvent]) -> None:
        for event in events:
            if isinstance(event, fu.StreamHead):
                self._out.append(
                    self._conn.stream_head(event.status, [*event.headers, *self._extra])
                )
            elif event.data:
                self._body.append(event.data)

    def _flush_body(self) -> None:
        if self._body:
            self._out += self._conn.chunk_parts(self._body)
            self._body = []

    def _refuse(self, problem: str) -> None:
        """A prelude AWS could not read either: 502 before the head (after it, nothing
        can be said; the prelude is over by then, so this cannot happen)."""
        self._failed = True
        logger.warning("function URL answer refused: %s", problem)
        self._out.append(_reply_bytes(self._conn, fu.function_error_reply(problem), self._extra))


async def _reply(conn: httpio.HttpConnection, reply: fu.HttpReply, extra: fu.Headers) -> None:
    await conn.send(_reply_bytes(conn, reply, extra))


def _reply_bytes(conn: httpio.HttpConnection, reply: fu.HttpReply, extra: fu.Headers) -> bytes:
    return conn.response(reply.status, [*reply.headers, *extra], reply.body)
