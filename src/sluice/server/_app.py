"""The Lambda API on the wire: routes, request bodies, and the single error boundary.

Every request gets an `x-amzn-RequestId`. `ApiError`s raised anywhere below become AWS
error responses here and nowhere else; anything unexpected becomes a `ServiceException`
(500) and is logged, and the server keeps serving.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import urllib.parse
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sluice import httpio
from sluice.engine import Engine
from sluice.errors import (
    ApiError,
    InvalidRequestContent,
    ResourceNotFound,
    ServiceFailure,
)
from sluice.protocol import function_url as fu
from sluice.protocol.awserrors import render_error
from sluice.protocol.sigv4 import Credentials
from sluice.server import _control, _function_urls, _invoke
from sluice.server._context import RequestContext, parse_function_name, region_of
from sluice.server._control import ControlPlane
from sluice.store import Store

logger = logging.getLogger("sluice.server")

# The whole control-plane request: AWS's limit, which a 50 MB zip in base64 just fits.
MAX_CONTROL_BODY = _control.MAX_ZIP_REQUEST


@dataclass(slots=True)
class Call:
    """One parsed request, handed to an operation."""

    ctx: RequestContext
    conn: httpio.HttpConnection
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    groups: dict[str, str]

    def param(self, name: str) -> str | None:
        values = self.query.get(name)
        return values[-1] if values else None


Operation = Callable[["LambdaApi", Call], Awaitable[None]]
_ROUTES: list[tuple[str, re.Pattern[str], str]] = []


def route(method: str, pattern: str) -> Callable[[Operation], Operation]:
    def register(op: Operation) -> Operation:
        _ROUTES.append((method, re.compile(f"^{pattern}$"), op.__name__))
        return op

    return register


_LOG_BLOCK = 1024 * 1024
_FN = r"/2015-03-31/functions/(?P<name>[^/]+)"
_TAGS = r"/2017-03-31/tags/(?P<resource>.+)"
_URL = r"/2021-10-31/functions/(?P<name>[^/]+)/url"


class LambdaApi:
    """Routes Lambda API requests to the control plane and the invoke paths."""

    def __init__(
        self,
        store: Store,
        engine: Engine,
        account_id: str,
        credentials: Iterable[Credentials] = (),
        default_region: str = "us-east-1",
    ) -> None:
        self.store = store
        self.engine = engine
        self.control = ControlPlane(store, engine)
        self.account_id = account_id
        self.credentials = tuple(credentials)
        # The region of a path-form URL request, which names no region.
        self.default_region = default_region

    async def handle(self, conn: httpio.HttpConnection, request: httpio.Request) -> None:
        """Serve one request; the only place ApiErrors become AWS error responses.

        A request to a function URL (by Host, or by the path form) is not a Lambda API call:
        it goes to `_function_urls`, which answers the way a function URL does."""
        target = request.target.decode("latin-1")
        path, _, raw_query = target.partition("?")
        lines = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in request.headers]
        url_request = self._url_request(conn, request, lines, path, raw_query)
        if url_request is not None:
            await self._serve_url(conn, url_request)
            return
        headers = {name.lower(): value for name, value in lines}
        ctx = RequestContext(region_of(headers.get("authorization")), self.account_id)
        call = Call(
            ctx, conn, request.method.decode(), path, urllib.parse.parse_qs(raw_query), headers, {}
        )
        try:
            await self._dispatch(call)
        except ApiError as exc:
            await self._fail(call, exc)
        except (httpio.ConnectionLost, ConnectionError):
            raise
        except Exception:
            logger.exception("internal error serving %s %s", call.method, path)
            await self._fail(
                call, ServiceFailure("sluice failed to serve the request; see its log")
            )

    def _url_request(
        self,
        conn: httpio.HttpConnection,
        request: httpio.Request,
        lines: list[tuple[str, str]],
        path: str,
        raw_query: str,
    ) -> _function_urls.UrlRequest | None:
        """The function URL a request is for, by its Host or the path form; else None."""
        host = next((value for name, value in lines if name.lower() == "host"), "")
        named = fu.parse_host(host, fu.DEFAULT_HOST_SUFFIX)
        raw_path = path
        if named is None:
            split = _function_urls.split_path_form(path)
            if split is None:
                return None
            url_id, raw_path = split
            named = (url_id, self.default_region)
        url_id, region = named
        return _function_urls.UrlRequest(
            method=request.method.decode("latin-1"),
            wire_path=path,
            raw_path=raw_path,
            raw_query=raw_query,
            headers=lines,
            source_ip=conn.peer_host,
            port=self.control.port,
            url_id=url_id,
            region=region,
        )

    async def _serve_url(
        self, conn: httpio.HttpConnection, request: _function_urls.UrlRequest
    ) -> None:
        found = self.control.function_url_by_id(request.url_id)
        if found is None:
            await conn.discard_body()
            body = json.dumps({"Message": "No function URL with this address."}).encode()
            await conn.respond(404, [("Content-Type", "application/json")], body)
            return
        url, record = found
        ctx = RequestContext(request.region, self.account_id)
        config = _function_urls.UrlConfig(
            function=self.control.spec(record),
            function_arn=ctx.function_arn(record.name),
            account_id=self.account_id,
            auth_type=url.auth_type,
            invoke_mode=url.invoke_mode,
            cors=fu.CorsConfig.from_api(url.cors) if url.cors else None,
        )
        await _function_urls.serve(conn, request, config, self.engine, self.credentials)

    async def _fail(self, call: Call, exc: ApiError) -> None:
        await call.conn.discard_body()
        status, headers, body = render_error(exc, call.ctx.request_id)
        await call.conn.respond(status, headers, body)

    async def _dispatch(self, call: Call) -> None:
        path = call.path.rstrip("/") if call.path != "/" else call.path
        for method, pattern, name in _ROUTES:
            match = pattern.match(path)
            if match and method == call.method:
                call.groups = {k: urllib.parse.unquote(v) for k, v in match.groupdict().items()}
                await getattr(self, name)(call)
                return
        raise ResourceNotFound(f"No Lambda API operation at {call.method} {call.path}")

    # Helpers --------------------------------------------------------------------------

    async def _json_body(self, call: Call, operation: str) -> dict[str, Any]:
        try:
            raw = await call.conn.read_body(MAX_CONTROL_BODY)
        except httpio.BodyTooLarge:
            raise _control.request_too_large(operation) from None
        try:
            body = json.loads(raw or b"{}")
        except (ValueError, UnicodeDecodeError, RecursionError) as exc:
            # RecursionError: nesting deeper than the parser's stack is as unreadable as bad
            # syntax, and must not become a 500.
            raise InvalidRequestContent(f"Could not parse request body into json: {exc}") from None
        if not isinstance(body, dict):
            raise InvalidRequestContent(
                "Could not parse request body into json: expected an object"
            )
        return body

    async def _reply(self, call: Call, status: int, body: object | None) -> None:
        headers = [("x-amzn-RequestId", call.ctx.request_id)]
        if body is None:
            await call.conn.respond(status, headers)
            return
        headers.append(("Content-Type", "application/json"))
        await call.conn.respond(status, headers, json.dumps(body).encode())

    def _ref(self, call: Call):
        return parse_function_name(call.groups["name"], call.ctx, call.param("Qualifier"))

    # Control plane --------------------------------------------------------------------

    @route("POST", "/2015-03-31/functions")
    async def create_function(self, call: Call) -> None:
        body = await self._json_body(call, "CreateFunction")
        await self._reply(call, *await self.control.create_function(call.ctx, body))

    @route("GET", "/2015-03-31/functions")
    async def list_functions(self, call: Call) -> None:
        query = {k: v[-1] for k, v in call.query.items()}
        await self._reply(call, *self.control.list_functions(call.ctx, query))

    @route("GET", _FN)
    async def get_function(self, call: Call) -> None:
        host = call.headers.get("host", "127.0.0.1")
        await self._reply(call, *self.control.get_function(call.ctx, self._ref(call), host))

    @route("DELETE", _FN)
    async def delete_function(self, call: Call) -> None:
        await self._reply(call, *await self.control.delete_function(call.ctx, self._ref(call)))

    @route("GET", _FN + "/configuration")
    async def get_function_configuration(self, call: Call) -> None:
        await self._reply(call, *self.control.get_configuration(call.ctx, self._ref(call)))

    @route("PUT", _FN + "/configuration")
    async def update_function_configuration(self, call: Call) -> None:
        body = await self._json_body(call, "UpdateFunctionConfiguration")
        await self._reply(call, *self.control.update_configuration(call.ctx, self._ref(call), body))

    @route("PUT", _FN + "/code")
    async def update_function_code(self, call: Call) -> None:
        body = await self._json_body(call, "UpdateFunctionCode")
        await self._reply(call, *await self.control.update_code(call.ctx, self._ref(call), body))

    @route("POST", _TAGS)
    async def tag_resource(self, call: Call) -> None:
        body = await self._json_body(call, "TagResource")
        await self._reply(call, *self.control.tag_resource(call.ctx, call.groups["resource"], body))

    @route("DELETE", _TAGS)
    async def untag_resource(self, call: Call) -> None:
        keys = call.query.get("tagKeys", [])
        await self._reply(
            call, *self.control.untag_resource(call.ctx, call.groups["resource"], keys)
        )

    @route("GET", _TAGS)
    async def list_tags(self, call: Call) -> None:
        await self._reply(call, *self.control.list_tags(call.ctx, call.groups["resource"]))

    @route("POST", _URL)
    async def create_function_url_config(self, call: Call) -> None:
        body = await self._json_body(call, "CreateFunctionUrlConfig")
        reply = self.control.create_function_url(
            call.ctx, call.groups["name"], call.param("Qualifier"), body
        )
        await self._reply(call, *reply)

    @route("GET", _URL)
    async def get_function_url_config(self, call: Call) -> None:
        reply = self.control.get_function_url(
            call.ctx, call.groups["name"], call.param("Qualifier")
        )
        await self._reply(call, *reply)

    @route("PUT", _URL)
    async def update_function_url_config(self, call: Call) -> None:
        body = await self._json_body(call, "UpdateFunctionUrlConfig")
        reply = self.control.update_function_url(
            call.ctx, call.groups["name"], call.param("Qualifier"), body
        )
        await self._reply(call, *reply)

    @route("DELETE", _URL)
    async def delete_function_url_config(self, call: Call) -> None:
        reply = self.control.delete_function_url(
            call.ctx, call.groups["name"], call.param("Qualifier")
        )
        await self._reply(call, *reply)

    @route("GET", _URL + "s")
    async def list_function_url_configs(self, call: Call) -> None:
        query = {k: v[-1] for k, v in call.query.items()}
        reply = self.control.list_function_urls(call.ctx, call.groups["name"], query)
        await self._reply(call, *reply)

    @route("GET", r"/_sluice/code/(?P<sha>[0-9a-f]{64})\.zip")
    async def download_code(self, call: Call) -> None:
        """GetFunction's Code.Location points here, as AWS's points to a presigned URL."""
        path = self.store.zip_path(call.groups["sha"])
        if not path.is_file():
            raise ResourceNotFound("The resource you requested does not exist.")
        data = path.read_bytes()
        await call.conn.respond(200, [("Content-Type", "application/zip")], data)

    @route("GET", r"/_sluice/logs/(?P<name>[^/]+)")
    async def function_logs(self, call: Call) -> None:
        """A function's log, then (with `follow=true`) each invocation's lines as they are
        written, until the client hangs up. sluice's own route: on AWS these lines go to
        CloudWatch Logs, which sluice does not serve."""
        name = self._ref(call).name
        path = self.engine.log_file(name)
        if not path.is_file() and self.store.get_function(name) is None:
            raise call.ctx.not_found(name)
        follow = call.param("follow") == "true"
        headers = [("Content-Type", "text/plain; charset=utf-8")]
        await call.conn.start_stream(
            200, [*headers, ("Connection", "close")] if follow else headers
        )
        offset = await self._send_log_from(call, path, 0)
        if follow:
            await self._follow_log(call, path, offset)
        else:
            await call.conn.end_stream()

    async def _follow_log(self, call: Call, path: Path, offset: int) -> None:
        """Send what each invocation appends until the client goes away."""
        gone = asyncio.ensure_future(call.conn.wait_peer_closed())
        try:
            while True:
                written = asyncio.ensure_future(self.engine.log_written())
                await asyncio.wait({gone, written}, return_when=asyncio.FIRST_COMPLETED)
                written.cancel()
                if gone.done():
                    return
                offset = await self._send_log_from(call, path, offset)
        finally:
            gone.cancel()

    @staticmethod
    async def _send_log_from(call: Call, path: Path, offset: int) -> int:
        try:
            handle = path.open("rb")
        except FileNotFoundError:
            return offset
        with handle:
            handle.seek(offset)
            while data := handle.read(_LOG_BLOCK):
                await call.conn.send_chunk(data)
                offset += len(data)
        return offset

    # Data plane -----------------------------------------------------------------------

    async def _invoke_request(self, call: Call, *, streaming: bool, limit: int):
        ref = self._ref(call)
        record = self.control.record(call.ctx, ref)
        try:
            payload = await call.conn.read_body(limit)
        except httpio.BodyTooLarge:
            raise _invoke.too_large(limit) from None
        spec = self.control.spec(record)
        return _invoke.build_request(
            call.ctx, spec, call.headers, payload, streaming=streaming, qualifier=ref.qualifier
        )

    @route("POST", _FN + "/invocations")
    async def invoke(self, call: Call) -> None:
        event = call.headers.get("x-amz-invocation-type") == "Event"
        limit = _invoke.MAX_ASYNC_PAYLOAD if event else _invoke.MAX_SYNC_PAYLOAD
        request, invocation_type = await self._invoke_request(call, streaming=False, limit=limit)
        if invocation_type == "DryRun":
            await self._reply(call, 204, None)
        elif invocation_type == "Event":
            self.control.accept_event(call.ctx, request)  # committed before the 202
            await self._reply(call, 202, None)
        else:
            await _invoke.invoke_buffered(call.ctx, call.conn, self.engine, request)

    @route("POST", r"/2021-11-15/functions/(?P<name>[^/]+)/response-streaming-invocations")
    async def invoke_with_response_stream(self, call: Call) -> None:
        # Spec decision 4: DryRun on the streaming API runs and streams like RequestResponse.
        request, _ = await self._invoke_request(
            call, streaming=True, limit=_invoke.MAX_SYNC_PAYLOAD
        )
        await _invoke.invoke_stream(call.ctx, call.conn, self.engine, request)
