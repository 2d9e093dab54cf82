"""The `context` argument of a handler, as AWS's Python runtime builds it.

Attribute names, types (`memory_limit_in_mb` is the environment's string) and the shapes of
`identity` and `client_context` follow awslambdaric's `LambdaContext`, so code written for
AWS runs unchanged. Built per invocation from the `GET /next` headers and the environment.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable, Mapping
from typing import Any

from sluice_runtime._errors import CONTEXT_UNMARSHAL_ERROR, RuntimeFault
from sluice_runtime._wire import InvocationHeaders


class _Record:
    """A small attribute holder with awslambdaric's repr and every slot defaulting to None."""

    __slots__: tuple[str, ...] = ()

    def __init__(self, values: Mapping[str, Any] | None = None) -> None:
        values = values or {}
        for name in self.__slots__:
            setattr(self, name, values.get(name))

    def __repr__(self) -> str:
        fields = ",".join(f"{name}={getattr(self, name)}" for name in self.__slots__)
        return f"{type(self).__name__}([{fields}])"


# Field tuples, not literal `__slots__`, keep awslambdaric's order (its repr shows it).
_IDENTITY_FIELDS = ("cognito_identity_id", "cognito_identity_pool_id")
_CLIENT_FIELDS = (
    "installation_id",
    "app_title",
    "app_version_name",
    "app_version_code",
    "app_package_name",
)
_CLIENT_CONTEXT_FIELDS = ("custom", "env", "client")


class CognitoIdentity(_Record):
    """The caller's Amazon Cognito identity; both ids are None when there is none."""

    __slots__ = _IDENTITY_FIELDS


class Client(_Record):
    """The mobile client of a client context."""

    __slots__ = _CLIENT_FIELDS


class ClientContext(_Record):
    """The client context an invoker passed (`custom`, `env`, `client`)."""

    __slots__ = _CLIENT_CONTEXT_FIELDS


class LambdaContext:
    """What a handler learns about its invocation and function (AWS's `LambdaContext`)."""

    def __init__(
        self,
        invocation: InvocationHeaders,
        environ: Mapping[str, str],
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        """Build the context; see `context_for` for the variant that parses JSON headers."""
        self.aws_request_id = invocation.request_id
        self.invoked_function_arn = invocation.invoked_function_arn
        self.tenant_id = invocation.tenant_id
        self.function_name = environ.get("AWS_LAMBDA_FUNCTION_NAME")
        self.function_version = environ.get("AWS_LAMBDA_FUNCTION_VERSION")
        self.memory_limit_in_mb = environ.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE")
        self.log_group_name = environ.get("AWS_LAMBDA_LOG_GROUP_NAME")
        self.log_stream_name = environ.get("AWS_LAMBDA_LOG_STREAM_NAME")
        self.identity = CognitoIdentity()
        self.client_context: ClientContext | None = None
        self._deadline_ms = invocation.deadline_ms
        self._clock = clock

    def get_remaining_time_in_millis(self) -> int:
        """Milliseconds until the invocation's deadline; 0 once it has passed."""
        remaining = self._deadline_ms - int(self._clock() * 1000)
        return max(remaining, 0)

    def log(self, msg: object) -> None:
        """Write `msg` to the function's log as is (awslambdaric's `context.log`)."""
        sys.stdout.write(str(msg))

    def __repr__(self) -> str:
        names = (
            "aws_request_id",
            "log_group_name",
            "log_stream_name",
            "function_name",
            "memory_limit_in_mb",
            "function_version",
            "invoked_function_arn",
            "client_context",
            "identity",
            "tenant_id",
        )
        fields = ",".join(f"{name}={getattr(self, name)}" for name in names)
        return f"{type(self).__name__}([{fields}])"


def _parse_json_header(value: str, name: str) -> Any:
    try:
        return json.loads(value)
    except ValueError as exc:
        message = f"Unable to parse {name} JSON: {exc}"
        raise RuntimeFault(CONTEXT_UNMARSHAL_ERROR, message, []) from None


def _client_context(value: str | None) -> ClientContext | None:
    if not value:
        return None
    parsed = _parse_json_header(value, "Client Context")
    if not isinstance(parsed, dict):
        return None
    context = ClientContext(parsed)
    if isinstance(context.client, dict):
        context.client = Client(context.client)
    return context


def _identity(value: str | None) -> CognitoIdentity:
    parsed = _parse_json_header(value, "Cognito Identity") if value else None
    if not isinstance(parsed, dict):
        return CognitoIdentity()
    return CognitoIdentity(
        {
            "cognito_identity_id": parsed.get("cognitoIdentityId"),
            "cognito_identity_pool_id": parsed.get("cognitoIdentityPoolId"),
        }
    )


def context_for(
    invocation: InvocationHeaders,
    environ: Mapping[str, str],
    *,
    clock: Callable[[], float] = time.time,
) -> LambdaContext:
    """The context of one invocation, with client context and identity parsed.

    Raises:
        RuntimeFault: `Runtime.LambdaContextUnmarshalError` for a header that is not JSON.
    """
    context = LambdaContext(invocation, environ, clock=clock)
    context.client_context = _client_context(invocation.client_context)
    context.identity = _identity(invocation.cognito_identity)
    return context
