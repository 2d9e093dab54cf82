"""The one exception hierarchy of sluice.

Exceptions here say *what* went wrong, never how AWS spells it: the mapping to AWS error
codes, HTTP statuses and message members lives in one table at the HTTP boundary
(`sluice.protocol.awserrors`). Programmer mistakes stay ordinary `RuntimeError`s.

    SluiceError
    ├── CodecError                 bytes that break the event-stream format
    ├── ConfigError                bad server or CLI configuration
    ├── ApiError                   a request the Lambda API refuses
    │   ├── FunctionNotFound       no such function (or qualifier)
    │   ├── ResourceNotFound       no such route, tag target or other resource
    │   ├── FunctionExists         CreateFunction of a name already taken
    │   ├── FunctionUrlExists      CreateFunctionUrlConfig for a function that has a URL
    │   ├── InvalidParameter       a value AWS would call invalid
    │   ├── ValidationFailed       a value outside the service model's constraints
    │   ├── InvalidRequestContent  a body that is not the JSON the operation needs
    │   ├── InvalidZipFile         code that is not a safe, readable zip
    │   ├── RequestTooLarge        an invoke payload over the limit
    │   ├── TooManyRequests        the function's concurrency is exhausted
    │   └── ServiceFailure         sluice itself failed
    ├── RuntimeApiMisuse           a function's runtime broke the Runtime API protocol
    ├── DeployError                a stack that cannot be deployed or deleted
    │   └── TemplateError          a template sluice cannot read (names resource, property)
    ├── ServerUnreachable          no sluice (or Lambda) endpoint answers at the address
    └── FunctionLookupFailed       a client command cannot tell which function was meant
"""

from __future__ import annotations


class SluiceError(Exception):
    """Root of every error sluice raises on purpose."""


class CodecError(SluiceError):
    """Bytes that are not a valid event-stream message (bad length, CRC, header)."""


class ConfigError(SluiceError):
    """A server or CLI setting that cannot work (bad port, unreadable data dir, ...)."""


class ApiError(SluiceError):
    """A Lambda API request that is refused before any function runs.

    The message is the text the caller sees in the AWS error body.
    """

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class FunctionNotFound(ApiError):
    """The named function (or its qualifier) does not exist."""


class ResourceNotFound(ApiError):
    """A route or resource other than a function does not exist."""


class FunctionExists(ApiError):
    """CreateFunction for a name that is already taken."""


class FunctionUrlExists(ApiError):
    """CreateFunctionUrlConfig for a function that already has a URL."""


class InvalidParameter(ApiError):
    """A parameter AWS rejects as invalid (unknown runtime, bad handler, ...)."""


class ValidationFailed(ApiError):
    """A parameter outside the service model's constraints (pattern, length, range)."""


class InvalidRequestContent(ApiError):
    """A request body that is not the JSON the operation expects."""


class InvalidZipFile(ApiError):
    """Code that is not a readable zip, or whose entries are unsafe."""


class RequestTooLarge(ApiError):
    """An invocation payload larger than Lambda accepts."""


class TooManyRequests(ApiError):
    """Every execution environment the function may have is busy."""

    def __init__(self, message: str, retry_after_seconds: int = 1) -> None:
        super().__init__(message)
        self.retry_after_seconds = retry_after_seconds


class ServiceFailure(ApiError):
    """sluice failed on its own side while serving a valid request."""


class RuntimeApiMisuse(SluiceError):
    """A function's runtime called the Runtime API in a way AWS refuses.

    `error_type` and `status` are the Runtime API's own answer (spec section 4.1); they are
    not Lambda API error codes, which is why this branch carries them.
    """

    def __init__(self, status: int, error_type: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.error_type = error_type
        self.message = message


class DeployError(SluiceError):
    """A stack that cannot be deployed or deleted as asked."""


class TemplateError(DeployError):
    """A SAM or CloudFormation template that cannot be read or turned into functions.

    The message names the resource and property at fault, so the user can find the line.
    """


class ServerUnreachable(SluiceError):
    """Nothing answers at the endpoint a client command was pointed at."""


class FunctionLookupFailed(SluiceError):
    """A function argument of a client command matches no function, or several."""
