"""Checks of CreateFunction / UpdateFunctionConfiguration and function URL input, with
AWS's messages.

Constraint violations from the service model become `ValidationFailed`
(`ValidationException`, "1 validation error detected: ..."); values the model allows but
Lambda (or sluice) refuses become `InvalidParameter`; a member of the wrong JSON type
becomes `InvalidRequestContent` ("Could not parse request body into json: ..."). Handler
strings are untrusted: a path that is absolute or climbs out of the code folder is refused
here, before any process sees it, and so is a NUL in a handler or an environment value,
which no process environment can hold.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from typing import Any

from sluice.engine import RESERVED_VARIABLES, SUPPORTED_RUNTIMES
from sluice.errors import InvalidParameter, InvalidRequestContent, ValidationFailed

MAX_TIMEOUT = 900
MAX_MEMORY = 10_240
MIN_MEMORY = 128
MAX_ENV_BYTES = 4096
_NAME = re.compile(r"^[a-zA-Z0-9-_]{1,64}$")
_ROLE = re.compile(r"^arn:(aws[a-zA-Z-]*)?:iam::\d{12}:role/?[a-zA-Z_0-9+=,.@\-_/]+$")
_HANDLER = re.compile(r"^[^\s]{1,128}$")
_ENV_KEY = re.compile(r"^[a-zA-Z]([a-zA-Z0-9_])+$")
# TaggableResource in the Lambda model, verbatim: a function, code signing config, event source
# mapping, capacity provider or network connector ARN (region and account required).
TAGGABLE_PATTERN = (
    r"arn:(aws[a-zA-Z-]*):lambda:(eusc-)?[a-z]{2}((-gov)|(-iso([a-z]?)))?-[a-z]+-\d{1}:\d{12}:"
    r"(function:[a-zA-Z0-9-_]+(:(\$LATEST|[a-zA-Z0-9-_]+))?|code-signing-config:csc-[a-z0-9]{17}|"
    r"event-source-mapping:[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-"
    r"[0-9a-fA-F]{12}|(capacity-provider|network-connector):[a-zA-Z0-9-_]{1,64})"
)
_TAGGABLE = re.compile(TAGGABLE_PATTERN)
# TagKey and TagValue in the model: `([\p{L}\p{Z}\p{N}_.:/=+\-@]*)`; Python's `re` has no \p.
TAG_PATTERN = "([\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]*)"
_TAG_PUNCTUATION = frozenset("_.:/=+-@")
# FunctionUrlQualifier in the Lambda model: an alias name; neither $LATEST nor a version.
_URL_QUALIFIER = re.compile(r"(?!\d+\Z)[0-9a-zA-Z-_]{1,128}")
AUTH_TYPES = ("NONE", "AWS_IAM")  # the model's order; AWS's own wording is unrecorded
# The order AWS's message lists them in (recorded, LocalStack test_lambda.snapshot.json,
# TestLambdaURL::test_lambda_url_invalid_invoke_mode, 2025-11-24).
INVOKE_MODES = ("RESPONSE_STREAM", "BUFFERED")
URL_PAGE_LIMIT = 50  # ListFunctionUrlConfigs' MaxItems: 1..50 in the model
_MODEL_RUNTIMES = frozenset(
    {f"nodejs{v}" for v in ("", "4.3", "6.10", "8.10", "10.x", "12.x", "14.x", "16.x", "18.x")}
    | {f"nodejs{v}.x" for v in (20, 22, 24, 26)}
    | {f"python3.{minor}" for minor in range(6, 16)}
    | {"python2.7", "java8", "java8.al2", "java11", "java17", "java21", "java25", "go1.x"}
    | {"dotnet6", "dotnet8", "dotnet10", "ruby3.2", "ruby3.3", "ruby3.4", "ruby4.0"}
    | {"provided", "provided.al2", "provided.al2023"}
)


def _violation(value: object, member: str, constraint: str) -> ValidationFailed:
    return ValidationFailed(
        f"1 validation error detected: Value {_show(value)} at '{member}' failed to satisfy "
        f"constraint: {constraint}"
    )


def _show(value: object) -> str:
    return "null" if value is None else f"'{value}'"


def _string(value: object, member: str) -> str:
    """A JSON string member; any other JSON type is a body the operation cannot read."""
    if not isinstance(value, str):
        raise InvalidRequestContent(
            f"Could not parse request body into json: {member} must be a string"
        )
    return value


def function_name(value: object) -> str:
    if value is None:
        raise _violation(None, "functionName", "Member must not be null")
    if not _NAME.match(_string(value, "functionName")):
        raise _violation(
            value,
            "functionName",
            "Member must satisfy regular expression pattern: [a-zA-Z0-9-_]+ "
            "and have length less than or equal to 64",
        )
    return value


def role(value: object) -> str:
    if value is None:
        raise _violation(None, "role", "Member must not be null")
    if not _ROLE.match(_string(value, "role")):
        raise _violation(
            value,
            "role",
            "Member must satisfy regular expression pattern: "
            "arn:(aws[a-zA-Z-]*)?:iam::\\d{12}:role/?[a-zA-Z_0-9+=,.@\\-_/]+",
        )
    return value


def runtime(value: object) -> str:
    if _string(value, "runtime") not in _MODEL_RUNTIMES:
        raise _violation(
            value,
            "runtime",
            f"Member must satisfy enum value set: [{', '.join(sorted(_MODEL_RUNTIMES))}]",
        )
    if value not in SUPPORTED_RUNTIMES:
        raise InvalidParameter(
            f"The runtime parameter of {value} is not supported by sluice. "
            f"Supported runtimes: {', '.join(sorted(SUPPORTED_RUNTIMES))}"
        )
    return value


def handler(value: object) -> str:
    if len(_string(value, "handler")) > 128:
        raise _violation(value, "handler", "Member must have length less than or equal to 128")
    if not _HANDLER.match(value):
        raise _violation(
            value, "handler", "Member must satisfy regular expression pattern: [^\\s]+"
        )
    parts = re.split(r"[/\\]", value)
    if value.startswith(("/", "\\")) or ".." in parts or any(p.startswith("..") for p in parts):
        raise InvalidParameter(
            f"Handler '{value}' is not valid: it must name a file inside the code folder"
        )
    # The model's [^\s]+ allows NUL, but the handler reaches the runtime as an environment
    # variable, which cannot hold one: stored, it would fail every invocation.
    if "\x00" in value:
        raise InvalidParameter(
            f"Handler {value!r} is not valid: it must not contain a NUL character"
        )
    return value


def _int_in(value: object, member: str, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidRequestContent(
            f"Could not parse request body into json: {member} must be an integer"
        )
    if value > high:
        raise _violation(value, member, f"Member must have value less than or equal to {high}")
    if value < low:
        raise _violation(value, member, f"Member must have value greater than or equal to {low}")
    return value


def timeout(value: object) -> int:
    return _int_in(value, "timeout", 1, MAX_TIMEOUT)


def memory_size(value: object) -> int:
    return _int_in(value, "memorySize", MIN_MEMORY, MAX_MEMORY)


def description(value: object) -> str:
    if len(_string(value, "description")) > 256:
        raise _violation(value, "description", "Member must have length less than or equal to 256")
    return value


def environment(value: object) -> dict[str, str]:
    """`Environment.Variables`: string keys and values, no reserved keys, 4 KB in total."""
    variables = value.get("Variables", {}) if isinstance(value, Mapping) else None
    if not isinstance(variables, Mapping) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in variables.items()
    ):
        raise InvalidRequestContent(
            "Could not parse request body into json: "
            "Environment.Variables must map strings to strings"
        )
    for key in variables:
        if not _ENV_KEY.match(key):
            # AWS's words, without the value (Environment is sensitive in the model): recorded
            # in trek10inc/serverless-secrets issue 39 (2018).
            raise ValidationFailed(
                "1 validation error detected: Value at 'environment.variables' failed to "
                "satisfy constraint: Map keys must satisfy constraint: [Member must satisfy "
                "regular expression pattern: [a-zA-Z]([a-zA-Z0-9_])+]"
            )
    reserved = sorted(set(variables) & RESERVED_VARIABLES)
    if reserved:
        raise InvalidParameter(
            "Lambda was unable to configure your environment variables because the environment "
            "variables you have provided contains reserved keys that are currently not supported "
            f"for modification. Reserved keys used in this request: {', '.join(reserved)}"
        )
    # A process environment cannot hold NUL: stored, such a value would fail every invocation.
    with_nul = sorted(key for key, value in variables.items() if "\x00" in value)
    if with_nul:
        raise InvalidParameter(
            "Lambda was unable to configure your environment variables because the environment "
            "variables you have provided contain a NUL character, which sluice cannot pass to "
            f"a process. Variables with one: {', '.join(with_nul)}"
        )
    size = sum(len(k.encode()) + len(v.encode()) for k, v in variables.items())
    if size > MAX_ENV_BYTES:
        raise InvalidParameter(
            "Lambda was unable to configure your environment variables because the environment "
            f"variables you have provided exceeded the 4KB limit. String measured: {size}"
        )
    return dict(variables)


def _tag_text(text: str) -> bool:
    """True if `text` matches the model's TagKey/TagValue pattern."""
    return all(char in _TAG_PUNCTUATION or unicodedata.category(char)[0] in "LZN" for char in text)


def tags(value: object, *, required: bool = False) -> dict[str, str]:
    """A `Tags` map: required by TagResource, optional (null is none) for CreateFunction."""
    if value is None:
        if required:
            raise _violation(None, "tags", "Member must not be null")
        return {}
    if not isinstance(value, Mapping) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in value.items()
    ):
        raise InvalidRequestContent(
            "Could not parse request body into json: Tags must map strings to strings"
        )
    pattern = f"Member must satisfy regular expression pattern: {TAG_PATTERN}"
    for key, text in value.items():
        if not 1 <= len(key) <= 128:
            raise _violation(key, "tags", "Member must have length between 1 and 128")
        if not _tag_text(key):
            raise _violation(key, "tags", pattern)
        if len(text) > 256:
            raise _violation(text, "tags", "Member must have length less than or equal to 256")
        if not _tag_text(text):
            raise _violation(text, "tags", pattern)
    return dict(value)


def tag_keys(keys: list[str]) -> list[str]:
    """UntagResource's `tagKeys` query values: required, each a TagKey."""
    if not keys:
        raise _violation(None, "tagKeys", "Member must not be null")
    for key in keys:
        if not 1 <= len(key) <= 128:
            raise _violation(key, "tagKeys.member", "Member must have length between 1 and 128")
        if not _tag_text(key):
            raise _violation(
                key,
                "tagKeys.member",
                f"Member must satisfy regular expression pattern: {TAG_PATTERN}",
            )
    return keys


def tag_resource(arn: str) -> str:
    """A tagging operation's `Resource`: an ARN matching the model's TaggableResource."""
    if not 1 <= len(arn) <= 10_000 or not _TAGGABLE.fullmatch(arn):
        raise _violation(
            arn, "resource", f"Member must satisfy regular expression pattern: {TAGGABLE_PATTERN}"
        )
    return arn


def architectures(value: object) -> list[str]:
    """`Architectures`: exactly one of the model's two; null means the default, x86_64."""
    if value is None:
        return ["x86_64"]
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise InvalidRequestContent(
            "Could not parse request body into json: architectures must be a list of strings"
        )
    if value not in (["x86_64"], ["arm64"]):
        raise ValidationFailed(
            "1 validation error detected: Value at 'architectures' failed to satisfy "
            "constraint: Member must satisfy enum value set: [x86_64, arm64]"
        )
    return value


CONFIG_FIELDS = {
    "Runtime": runtime,
    "Handler": handler,
    "Role": role,
    "Timeout": timeout,
    "MemorySize": memory_size,
    "Description": description,
    "Environment": environment,
}


def configuration(body: Mapping[str, Any], *, creating: bool) -> dict[str, Any]:
    """The configuration members present in `body`, each checked; defaults when creating."""
    config: dict[str, Any] = {}
    if creating:
        config["Role"] = role(body.get("Role"))
        package_type = body.get("PackageType")
        if package_type is not None:
            _enum(package_type, "packageType", ("Zip", "Image"))
        if package_type == "Image":
            raise InvalidParameter(
                "sluice runs Zip functions only; PackageType Image is not supported"
            )
        for member in ("Runtime", "Handler"):
            if body.get(member) is None:
                raise InvalidParameter(
                    f"{member} must be set for a function whose PackageType is Zip"
                )
    for member, check in CONFIG_FIELDS.items():
        if member in body and body[member] is not None:
            config[member] = check(body[member])
    if creating:
        config.setdefault("Timeout", 3)
        config.setdefault("MemorySize", 128)
        config.setdefault("Description", "")
        config.setdefault("Environment", {})
    return config


# -- function URLs ------------------------------------------------------------------------


def url_qualifier(value: str | None) -> None:
    """A URL's `Qualifier` must be an alias name; `$LATEST` and versions are refused as AWS
    refuses them (recorded: LocalStack test_lambda_api.snapshot.json,
    TestLambdaUrl::test_url_config_exceptions, `*_qualifier_latest`, `*_qualifier_version`)."""
    if value is not None and not _URL_QUALIFIER.fullmatch(value):
        raise _violation(
            value,
            "qualifier",
            "Member must satisfy regular expression pattern: ((?!^\\d+$)^[0-9a-zA-Z-_]+$)",
        )


def _enum(value: object, member: str, allowed: tuple[str, ...]) -> str:
    if _string(value, member) not in allowed:
        raise _violation(
            value, member, f"Member must satisfy enum value set: [{', '.join(allowed)}]"
        )
    return value


def _strings(value: object, member: str, max_items: int, min_len: int, max_len: int) -> list[str]:
    """A list of strings within the model's `max` items and string lengths."""
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise InvalidRequestContent(
            f"Could not parse request body into json: {member} must be a list of strings"
        )
    if len(value) > max_items:
        shown = "[" + ", ".join(value) + "]"
        raise _violation(
            shown, member, f"Member must have length less than or equal to {max_items}"
        )
    for item in value:
        if len(item) > max_len:
            raise _violation(
                item, f"{member}.member", f"Member must have length less than or equal to {max_len}"
            )
        if len(item) < min_len:
            raise _violation(
                item,
                f"{member}.member",
                f"Member must have length greater than or equal to {min_len}",
            )
    return value


# Cors member → (JSON member path, max items, min and max string length), from the model's
# AllowMethodsList/Method, AllowOriginsList/Origin and HeadersList/Header shapes.
_CORS_LISTS = {
    "AllowHeaders": ("cors.allowHeaders", 100, 0, 1024),
    "AllowMethods": ("cors.allowMethods", 6, 0, 6),
    "AllowOrigins": ("cors.allowOrigins", 100, 1, 253),
    "ExposeHeaders": ("cors.exposeHeaders", 100, 0, 1024),
}


def url_cors(value: object) -> dict[str, Any] | None:
    """The `Cors` structure, each member checked; only the members given are kept (AWS
    echoes them so). An empty structure means no CORS settings, None."""
    if not isinstance(value, Mapping):
        raise InvalidRequestContent(
            "Could not parse request body into json: Cors must be an object"
        )
    cors: dict[str, Any] = {}
    credentials = value.get("AllowCredentials")
    if credentials is not None:
        if not isinstance(credentials, bool):
            raise InvalidRequestContent(
                "Could not parse request body into json: AllowCredentials must be a boolean"
            )
        cors["AllowCredentials"] = credentials
    for key, (member, max_items, min_len, max_len) in _CORS_LISTS.items():
        if value.get(key) is not None:
            cors[key] = _strings(value[key], member, max_items, min_len, max_len)
    if value.get("MaxAge") is not None:
        cors["MaxAge"] = _int_in(value["MaxAge"], "cors.maxAge", 0, 86400)
    return cors or None


def url_settings(body: Mapping[str, Any], *, creating: bool) -> dict[str, Any]:
    """`AuthType`, `InvokeMode` and `Cors` as present in `body`, each checked.

    `AuthType` is required when creating. `Cors` maps to None when it is given empty.
    """
    settings: dict[str, Any] = {}
    if body.get("AuthType") is not None:
        settings["AuthType"] = _enum(body["AuthType"], "authType", AUTH_TYPES)
    elif creating:
        raise _violation(None, "authType", "Member must not be null")
    if body.get("InvokeMode") is not None:
        settings["InvokeMode"] = _enum(body["InvokeMode"], "invokeMode", INVOKE_MODES)
    if body.get("Cors") is not None:
        settings["Cors"] = url_cors(body["Cors"])
    return settings


def url_max_items(raw: str | None) -> int:
    """ListFunctionUrlConfigs' `MaxItems` query value: 1..50, default 50."""
    if raw is None:
        return URL_PAGE_LIMIT
    try:
        value = int(raw)
    except ValueError:
        raise ValidationFailed("MaxItems must be an integer") from None
    if value > URL_PAGE_LIMIT:
        raise _violation(
            raw, "maxItems", f"Member must have value less than or equal to {URL_PAGE_LIMIT}"
        )
    if value < 1:
        raise _violation(raw, "maxItems", "Member must have value greater than or equal to 1")
    return value
