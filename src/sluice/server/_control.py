"""The Lambda control plane: functions, their code and configuration, tags, and URLs.

Each operation takes the parsed request and returns `(status, body)`; errors are raised
as `sluice.errors.ApiError` and rendered at the HTTP boundary. Updates retire warm
environments lazily: the engine compares revisions and never reuses a stale one.

A function has at most one URL, its unqualified (`$LATEST`) one; sluice has no aliases, so
a URL `Qualifier` never names anything. The store keeps the URL's id; `FunctionUrl` is
built per response from it, the caller's region (as ARNs are) and the port the server
bound, which `LambdaServer.start` sets as `ControlPlane.port`.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import os
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from sluice.engine import Engine, FunctionSpec, InvokeRequest
from sluice.errors import (
    ApiError,
    FunctionNotFound,
    FunctionUrlExists,
    InvalidParameter,
    InvalidRequestContent,
    RequestTooLarge,
    ResourceNotFound,
    ValidationFailed,
)
from sluice.protocol import function_url as fu
from sluice.server import _validate
from sluice.server._context import FunctionRef, RequestContext, parse_function_name
from sluice.store import AsyncEventRecord, FunctionRecord, FunctionUrlRecord, Store, UrlCreation

PAGE_SIZE = 50
# Lambda accepts at most 50 MB of zipped code in a direct upload (base64 in the JSON body),
# which it enforces as a request size: base64 of 50 MiB, rounded up. AWS's answer above it
# is `RequestEntityTooLargeException`, "Request must be smaller than 69905067 bytes for the
# CreateFunction operation" (recorded: motdotla/node-lambda issue 123, localstack pull request
# 2999; "... for the UpdateFunctionCode operation": prisma/ecosystem-tests pull request 1507).
MAX_ZIP_REQUEST = 69_905_067


def request_too_large(operation: str) -> RequestTooLarge:
    """A control-plane request over AWS's limit, worded as AWS words it."""
    return RequestTooLarge(
        f"Request must be smaller than {MAX_ZIP_REQUEST} bytes for the {operation} operation"
    )


# ListFunctions' MaxItems in the model: 1..10000 (sluice then pages by 50, spec decision 8).
MAX_LIST_ITEMS = 10_000

Reply = tuple[int, Mapping[str, Any] | None]

# AWS's words for a URL operation's missing function (Create, Update, List) and missing URL
# or function (Get, Delete), recorded in LocalStack's test_lambda_api.snapshot.json,
# TestLambdaUrl::test_url_config_exceptions and ::test_url_config_list_paging (2023-11-20).
NO_FUNCTION = "Function does not exist"
NO_RESOURCE = "The resource you requested does not exist."
URL_QUALIFIER_MISMATCH = (
    "The derived qualifier from the function name does not match the specified qualifier."
)


def _now() -> str:
    """LastModified in Lambda's format: `2019-08-14T22:26:11.234+0000`."""
    now = time.time()
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(now)) + f".{int(now % 1 * 1000):03d}+0000"


def _url_now() -> str:
    """A URL's CreationTime/LastModifiedTime as AWS writes them: `2022-07-07T15:19:41.225854Z`
    (microseconds, `Z`; real output in turbot/steampipe-plugin-aws pull request 1146)."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _decode_zip(code: object, operation: str) -> bytes:
    if not isinstance(code, Mapping):
        raise InvalidRequestContent(
            "Could not parse request body into json: Code must be an object"
        )
    if any(code.get(key) for key in ("S3Bucket", "S3Key", "ImageUri")):
        raise InvalidParameter("sluice accepts function code only as ZipFile")
    raw = code.get("ZipFile")
    if raw is not None and not isinstance(raw, str):
        raise InvalidRequestContent(
            "Could not parse request body into json: ZipFile must be a base64 string"
        )
    if not raw:
        raise InvalidParameter("Please provide a source for function code.")
    if len(raw) > MAX_ZIP_REQUEST:
        raise request_too_large(operation)
    try:
        data = base64.b64decode(raw, validate=True)
    except (binascii.Error, ValueError):
        raise InvalidRequestContent(
            "Could not parse request body into json: ZipFile is not valid base64"
        ) from None
    return data


class ControlPlane:
    """Function CRUD and tags over the store, telling the engine what changed."""

    def __init__(self, store: Store, engine: Engine) -> None:
        self._store = store
        self._engine = engine
        # Where function URLs are served: the port `LambdaServer.start` bound (0 until then)
        # under `*.lambda-url.<region>.<url_host_suffix>`.
        self.port = 0
        self.url_host_suffix = fu.DEFAULT_HOST_SUFFIX
        # The spec built from each function's current record: the store hands out the same
        # record object until the function changes, so `is` tells a spec still valid.
        self._specs: dict[str, tuple[FunctionRecord, FunctionSpec]] = {}

    # Lookup ---------------------------------------------------------------------------

    def record(self, ctx: RequestContext, ref: FunctionRef) -> FunctionRecord:
        """The stored function a reference names; only `$LATEST` exists here."""
        record = self._store.get_function(ref.name)
        if record is None or ref.qualifier not in (None, "$LATEST"):
            raise ctx.not_found(ref.name, ref.qualifier)
        return record

    def spec(self, record: FunctionRecord) -> FunctionSpec:
        """What the engine runs for `record`; built once per version of the function.

        A cached spec is used only while its code folder exists: building one re-extracts a
        folder removed from under the server (by hand, or by a tmp cleaner when the data dir
        is under /tmp). A record the store no longer holds (deleted while its request body
        was read) is not cached again.
        """
        cached = self._specs.get(record.name)
        if cached is not None and cached[0] is record and os.path.isdir(cached[1].code_dir):
            return cached[1]
        spec = self._build_spec(record)
        if self._store.get_function(record.name) is record:
            self._specs[record.name] = (record, spec)
        return spec

    def _build_spec(self, record: FunctionRecord) -> FunctionSpec:
        config = record.config
        return FunctionSpec(
            name=record.name,
            runtime=config["Runtime"],
            handler=config["Handler"],
            code_dir=str(self._store.code_path(record.code_sha256)),
            timeout=float(config["Timeout"]),
            memory_size=int(config["MemorySize"]),
            environment=tuple(sorted(config.get("Environment", {}).items())),
            revision=config["RevisionId"],
        )

    # Event invocations ----------------------------------------------------------------

    def accept_event(self, ctx: RequestContext, request: InvokeRequest) -> None:
        """Store an Event invocation, then queue it: once this returns, a 202 may be sent,
        because the event survives a crash or a stop until it has run."""
        record = AsyncEventRecord(
            id=str(uuid.uuid4()),
            function_name=request.function.name,
            payload=request.payload,
            invoked_arn=request.invoked_arn,
            region=request.region,
            client_context=request.client_context,
            tenant_id=request.tenant_id,
            accepted_at=time.time(),
        )
        if not self._store.add_event(record):  # deleted while its payload was read
            raise ctx.not_found(record.function_name)
        self._queue_event(request, record.id)

    def requeue_events(self) -> list[AsyncEventRecord]:
        """Queue every stored event again (a server starting); return, and forget, those
        whose function no longer exists."""
        dropped = []
        for event in self._store.pending_events():
            record = self._store.get_function(event.function_name)
            if record is None:
                dropped.append(event)
                self._store.delete_event(event.id)
                continue
            request = InvokeRequest(
                function=self.spec(record),
                payload=event.payload,
                invoked_arn=event.invoked_arn,
                region=event.region,
                streaming=False,
                client_context=event.client_context,
                tenant_id=event.tenant_id,
            )
            self._queue_event(request, event.id)
        return dropped

    def _queue_event(self, request: InvokeRequest, event_id: str) -> None:
        """Run the event; its row goes once it has run (see `Engine.invoke_async`)."""
        self._engine.invoke_async(request, settled=lambda: self._store.delete_event(event_id))

    def configuration(
        self, ctx: RequestContext, record: FunctionRecord, *, full: bool
    ) -> dict[str, Any]:
        """FunctionConfiguration as AWS returns it; `full` adds GetFunction-only members."""
        config = record.config
        out: dict[str, Any] = {
            "FunctionName": record.name,
            "FunctionArn": ctx.function_arn(record.name),
            "Runtime": config["Runtime"],
            "Role": config["Role"],
            "Handler": config["Handler"],
            "CodeSize": config["CodeSize"],
            "Description": config["Description"],
            "Timeout": config["Timeout"],
            "MemorySize": config["MemorySize"],
            "LastModified": config["LastModified"],
            "CodeSha256": config["CodeSha256"],
            "Version": "$LATEST",
            "TracingConfig": {"Mode": "PassThrough"},
            "RevisionId": config["RevisionId"],
            "PackageType": "Zip",
            "Architectures": config.get("Architectures", ["x86_64"]),
            "EphemeralStorage": {"Size": 512},
            "SnapStart": {"ApplyOn": "None", "OptimizationStatus": "Off"},
            "LoggingConfig": {"LogFormat": "Text", "LogGroup": f"/aws/lambda/{record.name}"},
        }
        if config.get("Environment"):
            out["Environment"] = {"Variables": dict(config["Environment"])}
        if full:
            out.update(State="Active", LastUpdateStatus="Successful")
        return out

    # Operations -----------------------------------------------------------------------

    async def create_function(self, ctx: RequestContext, body: dict[str, Any]) -> Reply:
        name = _validate.function_name(body.get("FunctionName"))
        config = _validate.configuration(body, creating=True)
        tags = _validate.tags(body.get("Tags"))
        architectures = _validate.architectures(body.get("Architectures"))
        data = _decode_zip(body.get("Code"), "CreateFunction")
        blob = await asyncio.to_thread(self._store.put_code, data)
        config.update(
            Architectures=architectures,
            CodeSize=blob.size,
            CodeSha256=blob.sha256_b64,
            LastModified=_now(),
            RevisionId=str(uuid.uuid4()),
        )
        record = FunctionRecord(name, config, blob.sha256_hex, tags, time.time())
        try:
            self._store.create_function(record)
        finally:
            self._store.gc_code()
        return 201, self.configuration(ctx, record, full=True)

    def get_function(self, ctx: RequestContext, ref: FunctionRef, host: str) -> Reply:
        record = self.record(ctx, ref)
        body: dict[str, Any] = {
            "Configuration": self.configuration(ctx, record, full=True),
            "Code": {
                "RepositoryType": "S3",
                "Location": f"http://{host}/_sluice/code/{record.code_sha256}.zip",
            },
        }
        if record.tags:
            body["Tags"] = dict(record.tags)
        return 200, body

    def get_configuration(self, ctx: RequestContext, ref: FunctionRef) -> Reply:
        return 200, self.configuration(ctx, self.record(ctx, ref), full=True)

    def list_functions(self, ctx: RequestContext, query: Mapping[str, str]) -> Reply:
        """Pages of at most 50 (spec decision 8); the marker is opaque to callers."""
        limit = PAGE_SIZE
        if "MaxItems" in query:
            try:
                limit = min(PAGE_SIZE, int(query["MaxItems"]))
            except ValueError:
                raise ValidationFailed("MaxItems must be an integer") from None
            if limit < 1:
                raise ValidationFailed(
                    f"1 validation error detected: Value '{query['MaxItems']}' at 'maxItems' "
                    "failed to satisfy constraint: "
                    "Member must have value greater than or equal to 1"
                )
            if int(query["MaxItems"]) > MAX_LIST_ITEMS:
                raise ValidationFailed(
                    f"1 validation error detected: Value '{query['MaxItems']}' at 'maxItems' "
                    "failed to satisfy constraint: "
                    f"Member must have value less than or equal to {MAX_LIST_ITEMS}"
                )
        if query.get("FunctionVersion", "ALL") != "ALL":
            raise ValidationFailed(
                f"1 validation error detected: Value '{query['FunctionVersion']}' at "
                "'functionVersion' failed to satisfy constraint: "
                "Member must satisfy enum value set: [ALL]"
            )
        after = _read_marker(query.get("Marker"))
        records = self._store.list_functions(after, limit + 1)
        body: dict[str, Any] = {
            "Functions": [self.configuration(ctx, r, full=False) for r in records[:limit]]
        }
        if len(records) > limit:
            body["NextMarker"] = _make_marker(records[limit - 1].name)
        return 200, body

    async def delete_function(self, ctx: RequestContext, ref: FunctionRef) -> Reply:
        record = self.record(ctx, ref)
        self._store.delete_function(record.name)  # its pending events too (cascade)
        self._specs.pop(record.name, None)
        # Before `forget` yields: a queued event must not start on the code just deleted.
        self._engine.drop_events(record.name)
        await self._engine.forget(record.name)
        return 204, None

    async def update_code(
        self, ctx: RequestContext, ref: FunctionRef, body: dict[str, Any]
    ) -> Reply:
        record = self.record(ctx, ref)
        architectures = body.get("Architectures")
        if architectures is not None:
            architectures = _validate.architectures(architectures)
        data = _decode_zip(body, "UpdateFunctionCode")
        blob = await asyncio.to_thread(self._store.put_code, data)
        config = dict(record.config)
        if architectures is not None:
            config["Architectures"] = architectures
        config.update(
            CodeSize=blob.size,
            CodeSha256=blob.sha256_b64,
            LastModified=_now(),
            RevisionId=str(uuid.uuid4()),
        )
        updated = replace(record, config=config, code_sha256=blob.sha256_hex)
        self._store.replace_function(updated)
        return 200, self.configuration(ctx, updated, full=True)

    def update_configuration(
        self, ctx: RequestContext, ref: FunctionRef, body: dict[str, Any]
    ) -> Reply:
        record = self.record(ctx, ref)
        config = dict(record.config)
        config.update(_validate.configuration(body, creating=False))
        config.update(LastModified=_now(), RevisionId=str(uuid.uuid4()))
        updated = replace(record, config=config)
        self._store.replace_function(updated)
        return 200, self.configuration(ctx, updated, full=True)

    # Tags -----------------------------------------------------------------------------

    def _tag_target(self, ctx: RequestContext, arn: str) -> FunctionRecord:
        """The function a tagging operation's `Resource` (already percent-decoded) names.

        Other taggable Lambda resources (event source mappings, ...) never exist here."""
        _validate.tag_resource(arn)
        if ":function:" not in arn:
            raise _no_resource()
        return self.record(ctx, parse_function_name(arn, ctx))

    # The model's constraints (resource pattern, tags) are checked before the lookup, as AWS
    # checks every constraint before it looks anything up.

    def tag_resource(self, ctx: RequestContext, resource: str, body: dict[str, Any]) -> Reply:
        _validate.tag_resource(resource)
        tags = _validate.tags(body.get("Tags"), required=True)
        record = self._tag_target(ctx, resource)
        self._store.set_tags(record.name, tags)
        return 204, None

    def untag_resource(self, ctx: RequestContext, resource: str, keys: list[str]) -> Reply:
        _validate.tag_resource(resource)
        keys = _validate.tag_keys(keys)
        record = self._tag_target(ctx, resource)
        self._store.remove_tags(record.name, keys)
        return 204, None

    def list_tags(self, ctx: RequestContext, resource: str) -> Reply:
        record = self._tag_target(ctx, resource)
        return 200, {"Tags": dict(record.tags)}

    # Function URLs --------------------------------------------------------------------

    def url_config(self, ctx: RequestContext, url: FunctionUrlRecord) -> dict[str, Any]:
        """FunctionUrlConfig as Get, Update and List answer it (Cors only when set)."""
        body: dict[str, Any] = {
            "FunctionUrl": fu.function_url(url.url_id, ctx.region, self.url_host_suffix, self.port),
            "FunctionArn": ctx.function_arn(url.function_name),
            "AuthType": url.auth_type,
            "CreationTime": url.creation_time,
            "LastModifiedTime": url.last_modified_time,
            "InvokeMode": url.invoke_mode,
        }
        if url.cors is not None:
            body["Cors"] = dict(url.cors)
        return body

    def function_url_by_id(self, url_id: str) -> tuple[FunctionUrlRecord, FunctionRecord] | None:
        """The URL a request's host (or path form) names, with its function; None if no URL
        has that id. For the data plane: `spec(record)` runs it, `url.cors` feeds
        `fu.CorsConfig.from_api`."""
        url = self._store.function_url_by_id(url_id)
        record = None if url is None else self._store.get_function(url.function_name)
        return None if url is None or record is None else (url, record)

    def _url_target(
        self, ctx: RequestContext, raw: str, qualifier: str | None, missing: ApiErrorFactory
    ) -> str:
        """The function a URL operation names; `missing()` is that operation's not-found.

        An alias (the only qualifier the API allows) never exists here, so it is missing too.
        """
        _validate.url_qualifier(qualifier)
        try:
            ref = parse_function_name(raw, ctx)
        except FunctionNotFound:  # an ARN of another account or region
            raise missing() from None
        _validate.url_qualifier(ref.qualifier)
        if qualifier is not None and ref.qualifier is not None and qualifier != ref.qualifier:
            raise InvalidParameter(URL_QUALIFIER_MISMATCH)
        if (qualifier or ref.qualifier) is not None:
            raise missing()
        return ref.name

    def create_function_url(
        self, ctx: RequestContext, raw: str, qualifier: str | None, body: dict[str, Any]
    ) -> Reply:
        settings = _validate.url_settings(body, creating=True)
        name = self._url_target(ctx, raw, qualifier, _no_function)
        now = _url_now()
        url = FunctionUrlRecord(
            function_name=name,
            url_id=fu.new_url_id(),
            auth_type=settings["AuthType"],
            invoke_mode=settings.get("InvokeMode", "BUFFERED"),
            cors=settings.get("Cors"),
            creation_time=now,
            last_modified_time=now,
        )
        created = self._store.create_function_url(url)
        if created is UrlCreation.NO_FUNCTION:
            raise _no_function()
        if created is UrlCreation.ALREADY_EXISTS:
            raise FunctionUrlExists(
                f"Failed to create function url config for [functionArn = "
                f"{ctx.function_arn(name)}]. Error message:  "
                "FunctionUrlConfig exists for this Lambda function"
            )
        reply = self.url_config(ctx, url)
        # AWS's create answer has no LastModifiedTime, and InvokeMode only when it was
        # given (recorded: LocalStack test_lambda.snapshot.json, TestLambdaURL, 2025-11-24).
        del reply["LastModifiedTime"]
        if "InvokeMode" not in settings:
            del reply["InvokeMode"]
        return 201, reply

    def get_function_url(self, ctx: RequestContext, raw: str, qualifier: str | None) -> Reply:
        name = self._url_target(ctx, raw, qualifier, _no_resource)
        url = self._store.get_function_url(name)
        if url is None:
            raise _no_resource()
        return 200, self.url_config(ctx, url)

    def update_function_url(
        self, ctx: RequestContext, raw: str, qualifier: str | None, body: dict[str, Any]
    ) -> Reply:
        """Members left out keep their values; `Cors` replaces the settings as a whole."""
        settings = _validate.url_settings(body, creating=False)
        name = self._url_target(ctx, raw, qualifier, _no_function)
        if self._store.get_function(name) is None:
            raise _no_function()
        url = self._store.get_function_url(name)
        if url is None:
            raise _no_resource()
        updated = replace(
            url,
            auth_type=settings.get("AuthType", url.auth_type),
            invoke_mode=settings.get("InvokeMode", url.invoke_mode),
            cors=settings.get("Cors", url.cors),
            last_modified_time=_url_now(),
        )
        self._store.replace_function_url(updated)
        return 200, self.url_config(ctx, updated)

    def delete_function_url(self, ctx: RequestContext, raw: str, qualifier: str | None) -> Reply:
        name = self._url_target(ctx, raw, qualifier, _no_resource)
        if not self._store.delete_function_url(name):
            raise _no_resource()
        return 204, None

    def list_function_urls(self, ctx: RequestContext, raw: str, query: Mapping[str, str]) -> Reply:
        """The function's URLs (at most its one), paged by an opaque marker."""
        limit = _validate.url_max_items(query.get("MaxItems"))
        name = self._url_target(ctx, raw, None, _no_function)
        if self._store.get_function(name) is None:
            raise _no_function()
        after = _read_marker(query.get("Marker"))
        url = self._store.get_function_url(name)
        # Keyed by qualifier, as AWS pages a function's URLs; here only "$LATEST" exists.
        keyed = [("$LATEST", url)] if url is not None else []
        remaining = [(key, item) for key, item in keyed if after is None or key > after]
        body: dict[str, Any] = {
            "FunctionUrlConfigs": [self.url_config(ctx, item) for _, item in remaining[:limit]]
        }
        if len(remaining) > limit:
            body["NextMarker"] = _make_marker(remaining[limit - 1][0])
        return 200, body


ApiErrorFactory = Callable[[], ApiError]


def _no_function() -> ApiError:
    return FunctionNotFound(NO_FUNCTION)


def _no_resource() -> ApiError:
    return ResourceNotFound(NO_RESOURCE)


def _make_marker(name: str) -> str:
    return base64.urlsafe_b64encode(name.encode()).decode()


def _read_marker(marker: str | None) -> str | None:
    """The key a marker of `_make_marker` carries; anything else is refused, not read as a
    different key (a lenient decode turned "!!!" into "" and listed from the start)."""
    if not marker:
        return None
    try:
        key = base64.b64decode(marker.encode(), altchars=b"-_", validate=True).decode()
    except (binascii.Error, ValueError, UnicodeDecodeError):
        raise InvalidParameter("Invalid marker") from None
    if not key:
        raise InvalidParameter("Invalid marker")
    return key
