"""Checks of CreateFunction / UpdateFunctionConfiguration input, with AWS's messages.

Constraint violations from the service model become `ValidationFailed`
(`ValidationException`, "1 validation error detected: ..."); values the model allows but
Lambda (or sluice) refuses become `InvalidParameter`. Handler strings are untrusted: a
path that is absolute or climbs out of the code folder is refused here, before any
process sees it.
"""

from __future__ import annotations

import re
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


def function_name(value: object) -> str:
    if value is None:
        raise _violation(None, "functionName", "Member must not be null")
    if not isinstance(value, str) or not _NAME.match(value):
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
    if not isinstance(value, str) or not _ROLE.match(value):
        raise _violation(
            value,
            "role",
            "Member must satisfy regular expression pattern: "
            "arn:(aws[a-zA-Z-]*)?:iam::\\d{12}:role/?[a-zA-Z_0-9+=,.@\\-_/]+",
        )
    return value


def runtime(value: object) -> str:
    if not isinstance(value, str) or value not in _MODEL_RUNTIMES:
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
    if not isinstance(value, str) or not _HANDLER.match(value):
        raise _violation(
            value, "handler", "Member must satisfy regular expression pattern: [^\\s]+"
        )
    parts = re.split(r"[/\\]", value)
    if value.startswith(("/", "\\")) or ".." in parts or any(p.startswith("..") for p in parts):
        raise InvalidParameter(
            f"Handler '{value}' is not valid: it must name a file inside the code folder"
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
    if not isinstance(value, str) or len(value) > 256:
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
            raise _violation(
                key,
                "environment.variables",
                "Member must satisfy regular expression pattern: [a-zA-Z]([a-zA-Z0-9_])+",
            )
    reserved = sorted(set(variables) & RESERVED_VARIABLES)
    if reserved:
        raise InvalidParameter(
            "Lambda was unable to configure your environment variables because the environment "
            "variables you have provided contains reserved keys that are currently not supported "
            f"for modification. Reserved keys used in this request: {', '.join(reserved)}"
        )
    size = sum(len(k.encode()) + len(v.encode()) for k, v in variables.items())
    if size > MAX_ENV_BYTES:
        raise InvalidParameter(
            "Lambda was unable to configure your environment variables because the environment "
            f"variables you have provided exceeded the 4KB limit. String measured: {size}"
        )
    return dict(variables)


def tags(value: object) -> dict[str, str]:
    if not isinstance(value, Mapping) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in value.items()
    ):
        raise InvalidRequestContent(
            "Could not parse request body into json: Tags must map strings to strings"
        )
    for key in value:
        if not 1 <= len(key) <= 128:
            raise _violation(key, "tags", "Member must have length between 1 and 128")
    return dict(value)


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
        if body.get("PackageType", "Zip") != "Zip":
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
