"""Finding the handler named by `_HANDLER`, and telling streaming handlers apart.

Loading copies awslambdaric's `_get_handler`: the same error types and messages, so init
failures read as they do on AWS. `_HANDLER` is untrusted input here: a module path that is
absolute or steps out with `..` is refused as a malformed name before anything is imported.

`streamify_response` is the Python counterpart of Node's `awslambda.streamifyResponse`: it
marks a function (it does not wrap it when it can help it), and `handler_kind` reads the mark.
"""

from __future__ import annotations

import enum
import functools
import importlib
import inspect
import os
import sys
from collections.abc import Callable
from types import ModuleType
from typing import Any, TypeVar, overload

from sluice_runtime._chunked import check_field_value
from sluice_runtime._errors import (
    BUILT_IN_MODULE_CONFLICT,
    HANDLER_NOT_FOUND,
    IMPORT_MODULE_ERROR,
    MALFORMED_HANDLER_NAME,
    USER_CODE_SYNTAX_ERROR,
    RuntimeFault,
)

STREAMING_ATTR = "__sluice_streaming__"
HIGH_WATER_MARK_ATTR = "__sluice_high_water_mark__"
CONTENT_TYPE_ATTR = "__sluice_content_type__"

F = TypeVar("F", bound=Callable[..., Any])


class HandlerKind(enum.Enum):
    """How the runtime calls a handler and what it does with the outcome."""

    BUFFERED = "buffered"  # handler(event, context) -> JSON-serialisable value
    STREAM = "stream"  # handler(event, response_stream, context), sync or async
    GENERATOR = "generator"  # handler(event, context) yields chunks
    ASYNC_GENERATOR = "async-generator"  # async handler(event, context) yields chunks


def _mark(handler: F, marks: dict[str, Any]) -> F:
    """Set the marks on the function itself, or on a thin wrapper if it takes no attributes."""
    try:
        for name, value in marks.items():
            setattr(handler, name, value)
    except (AttributeError, TypeError):

        @functools.wraps(handler)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            return handler(*args, **kwargs)

        for name, value in marks.items():
            setattr(wrapper, name, value)
        return wrapper  # type: ignore[return-value]
    return handler


def _check_options(high_water_mark: int | None, content_type: str | None) -> None:
    if high_water_mark is not None and (
        isinstance(high_water_mark, bool)
        or not isinstance(high_water_mark, int)
        or high_water_mark <= 0
    ):
        raise ValueError(f"high_water_mark must be a positive int, not {high_water_mark!r}")
    if content_type is not None:
        check_field_value(content_type)


@overload
def streamify_response(
    handler: F, *, high_water_mark: int | None = None, content_type: str | None = None
) -> F: ...


@overload
def streamify_response(
    handler: None = None, *, high_water_mark: int | None = None, content_type: str | None = None
) -> Callable[[F], F]: ...


def streamify_response(
    handler: F | None = None,
    *,
    high_water_mark: int | None = None,
    content_type: str | None = None,
) -> F | Callable[[F], F]:
    """Mark a handler as a response-streaming handler (Node's `streamifyResponse`).

    Usable bare (`@streamify_response`) or with options. The same function comes back,
    carrying `__sluice_streaming__ = True`.

    Args:
        handler: `(event, response_stream, context)`, sync or async; or a generator or async
            generator `(event, context)` whose yielded items are the chunks.
        high_water_mark: send buffer size of the response socket in bytes (`SO_SNDBUF`), the
            nearest thing to Node's option; None keeps the system's.
        content_type: initial content type instead of `application/octet-stream`.

    Raises:
        ValueError: `high_water_mark` is not a positive int, or `content_type` holds CR/LF.
    """
    _check_options(high_water_mark, content_type)
    marks = {
        STREAMING_ATTR: True,
        HIGH_WATER_MARK_ATTR: high_water_mark,
        CONTENT_TYPE_ATTR: content_type,
    }

    def decorate(function: F) -> F:
        if not callable(function):
            raise TypeError(f"streamify_response needs a callable, not {function!r}")
        return _mark(function, marks)

    return decorate if handler is None else decorate(handler)


def _unwrapped(handler: Callable[..., Any]) -> Callable[..., Any]:
    """The function behind `functools.wraps` and `partial` layers, for generator detection."""
    try:
        target = inspect.unwrap(handler)
    except ValueError:  # a cycle of __wrapped__
        target = handler
    while isinstance(target, functools.partial):
        target = target.func
    return target


def handler_kind(handler: Callable[..., Any]) -> HandlerKind:
    """How to call `handler`: buffered unless marked by `streamify_response`."""
    if getattr(handler, STREAMING_ATTR, False) is not True:
        return HandlerKind.BUFFERED
    target = _unwrapped(handler)
    if inspect.isasyncgenfunction(target):
        return HandlerKind.ASYNC_GENERATOR
    if inspect.isgeneratorfunction(target):
        return HandlerKind.GENERATOR
    return HandlerKind.STREAM


def _malformed(handler: str, reason: str) -> RuntimeFault:
    return RuntimeFault(MALFORMED_HANDLER_NAME, f"Bad handler '{handler}': {reason}", [])


def split_handler(handler: str) -> tuple[str, str]:
    """`module.function` → (module path, function name), refusing paths out of the task root.

    Raises:
        RuntimeFault: `Runtime.MalformedHandlerName`.
    """
    try:
        module_name, function_name = handler.rsplit(".", 1)
    except ValueError as exc:
        raise _malformed(handler, str(exc)) from None
    if module_name.startswith("/") or os.path.isabs(module_name):
        raise _malformed(handler, "the module path must be relative to the task root")
    if any(not part for part in module_name.replace("/", ".").split(".")):
        raise _malformed(handler, "the module path must not have empty, '.' or '..' parts")
    return module_name, function_name


def _import(module_name: str) -> ModuleType:
    dotted = module_name.replace("/", ".")
    if dotted.split(".")[0] in sys.builtin_module_names:
        raise RuntimeFault(
            BUILT_IN_MODULE_CONFLICT,
            f"Cannot use built-in module {module_name} as a handler module",
            [],
        )
    try:
        return importlib.import_module(dotted)
    except ImportError as exc:
        message = f"Unable to import module '{module_name}': {exc}"
        raise RuntimeFault(IMPORT_MODULE_ERROR, message, []) from None
    except SyntaxError as exc:
        message = f"Syntax error in module '{module_name}': {exc}"
        trace = [f'  File "{exc.filename}" Line {exc.lineno}\n    {exc.text}']
        raise RuntimeFault(USER_CODE_SYNTAX_ERROR, message, trace) from None


def load_handler(handler: str) -> Callable[..., Any]:
    """Import the handler named `module.function` (module may be `a.b` or `dir/module`).

    Raises:
        RuntimeFault: `Runtime.MalformedHandlerName`, `Runtime.BuiltInModuleConflict`,
            `Runtime.ImportModuleError`, `Runtime.UserCodeSyntaxError` or
            `Runtime.HandlerNotFound`, with awslambdaric's messages.
        Exception: whatever else the module raises while it is imported, unchanged.
    """
    module_name, function_name = split_handler(handler)
    module = _import(module_name)
    try:
        return getattr(module, function_name)  # type: ignore[no-any-return]
    except AttributeError:
        message = f"Handler '{function_name}' missing on module '{module_name}'"
        raise RuntimeFault(HANDLER_NOT_FOUND, message, []) from None
