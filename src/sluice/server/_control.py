"""The Lambda control plane: functions, their code and configuration, and tags.

Each operation takes the parsed request and returns `(status, body)`; errors are raised
as `sluice.errors.ApiError` and rendered at the HTTP boundary. Updates retire warm
environments lazily: the engine compares revisions and never reuses a stale one.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import time
import urllib.parse
import uuid
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from sluice.engine import Engine, FunctionSpec
from sluice.errors import InvalidParameter, InvalidRequestContent, ValidationFailed
from sluice.server import _validate
from sluice.server._context import FunctionRef, RequestContext, parse_function_name
from sluice.store import FunctionRecord, Store

PAGE_SIZE = 50
# Lambda accepts at most 50 MB of zipped code in a direct upload (base64 in the JSON body).
MAX_ZIP_BYTES = 50 * 1024 * 1024

Reply = tuple[int, Mapping[str, Any] | None]


def _now() -> str:
    """LastModified in Lambda's format: `2019-08-14T22:26:11.234+0000`."""
    now = time.time()
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(now)) + f".{int(now % 1 * 1000):03d}+0000"


def _decode_zip(code: object) -> bytes:
    if not isinstance(code, Mapping):
        raise InvalidRequestContent(
            "Could not parse request body into json: Code must be an object"
        )
    if any(code.get(key) for key in ("S3Bucket", "S3Key", "ImageUri")):
        raise InvalidParameter("sluice accepts function code only as ZipFile")
    raw = code.get("ZipFile")
    if not isinstance(raw, str) or not raw:
        raise InvalidParameter("Please provide a source for function code.")
    try:
        data = base64.b64decode(raw, validate=True)
    except (binascii.Error, ValueError):
        raise InvalidRequestContent(
            "Could not parse request body into json: ZipFile is not valid base64"
        ) from None
    if len(data) > MAX_ZIP_BYTES:
        raise InvalidParameter(f"Unzipped size must be smaller than {MAX_ZIP_BYTES} bytes")
    return data


class ControlPlane:
    """Function CRUD and tags over the store, telling the engine what changed."""

    def __init__(self, store: Store, engine: Engine) -> None:
        self._store = store
        self._engine = engine

    # Lookup ---------------------------------------------------------------------------

    def record(self, ctx: RequestContext, ref: FunctionRef) -> FunctionRecord:
        """The stored function a reference names; only `$LATEST` exists here."""
        record = self._store.get_function(ref.name)
        if record is None or ref.qualifier not in (None, "$LATEST"):
            raise ctx.not_found(ref.name, ref.qualifier)
        return record

    def spec(self, record: FunctionRecord) -> FunctionSpec:
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
        tags = _validate.tags(body.get("Tags", {}))
        architectures = body.get("Architectures", ["x86_64"])
        if architectures not in (["x86_64"], ["arm64"]):
            raise ValidationFailed(
                "1 validation error detected: Value at 'architectures' failed to satisfy "
                "constraint: Member must satisfy enum value set: [x86_64, arm64]"
            )
        data = _decode_zip(body.get("Code"))
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
        self._store.delete_function(record.name)
        await self._engine.forget(record.name)
        return 204, None

    async def update_code(
        self, ctx: RequestContext, ref: FunctionRef, body: dict[str, Any]
    ) -> Reply:
        record = self.record(ctx, ref)
        data = _decode_zip(body)
        blob = await asyncio.to_thread(self._store.put_code, data)
        config = dict(record.config)
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

    def _tag_target(self, ctx: RequestContext, resource: str) -> FunctionRecord:
        arn = urllib.parse.unquote(resource)
        if not arn.startswith("arn:"):
            raise ValidationFailed(
                f"1 validation error detected: Value '{arn}' at 'resource' failed to satisfy "
                "constraint: Member must satisfy regular expression pattern: arn:..."
            )
        return self.record(ctx, parse_function_name(arn, ctx))

    def tag_resource(self, ctx: RequestContext, resource: str, body: dict[str, Any]) -> Reply:
        record = self._tag_target(ctx, resource)
        self._store.set_tags(record.name, _validate.tags(body.get("Tags")))
        return 204, None

    def untag_resource(self, ctx: RequestContext, resource: str, keys: list[str]) -> Reply:
        record = self._tag_target(ctx, resource)
        self._store.remove_tags(record.name, keys)
        return 204, None

    def list_tags(self, ctx: RequestContext, resource: str) -> Reply:
        record = self._tag_target(ctx, resource)
        return 200, {"Tags": dict(record.tags)}


def _make_marker(name: str) -> str:
    return base64.urlsafe_b64encode(name.encode()).decode()


def _read_marker(marker: str | None) -> str | None:
    if not marker:
        return None
    try:
        return base64.urlsafe_b64decode(marker.encode()).decode()
    except (binascii.Error, ValueError, UnicodeDecodeError):
        raise InvalidParameter("Invalid marker") from None
