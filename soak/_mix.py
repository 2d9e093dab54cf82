"""The load mix: which client threads run, and what each picks from.

Threads have roles so each client library and each path has its own steady share however
slow another path is (a timeout takes a thread for a second). Weights are relative within a
role. The disconnecting thread pauses longer: every call it abandons leaves a function
running for ~0.3 s, and the pause keeps that backlog (and so the number of environments)
well under the concurrency limit, where a 429 would be the soak's own doing.
"""

from __future__ import annotations

from dataclasses import dataclass

from soak._actions import (
    PARTIAL,
    Action,
    invoke_event,
    invoke_fails,
    invoke_ok,
    stream_disconnect,
    stream_fails,
    stream_ok,
    url_disconnect,
    url_get,
)

MID_STREAM = "soak mid-stream failure"
TIMED_OUT = "Task timed out after 1.00 seconds"
EXIT_3 = "Runtime exited with error: exit status 3"


@dataclass(frozen=True)
class Role:
    """A client thread's repertoire and its pause between calls (seconds)."""

    name: str
    actions: tuple[Action, ...]
    pause: float


def streaming() -> Role:
    """InvokeWithResponseStream: happy paths, and every way a stream can fail."""
    return Role(
        "stream",
        (
            stream_ok("py-stream", 4),
            stream_ok("node-stream", 4),
            stream_ok("py-stream", 0.5, big=True),
            stream_ok("node-stream", 0.5, big=True),
            stream_fails("py-error", "Unhandled", 1.5, MID_STREAM, (PARTIAL,)),
            stream_fails("node-error", "Unhandled", 1.5, MID_STREAM, (PARTIAL,)),
            stream_fails("py-timeout", "Sandbox.Timedout", 0.3, TIMED_OUT, (b"tick",)),
            stream_fails("node-timeout", "Sandbox.Timedout", 0.3, TIMED_OUT, (b"tick",)),
            stream_fails("py-crash", "Runtime.ExitError", 0.7, EXIT_3, (PARTIAL,)),
            # process.exit() in the write's callback: the chunk may still be in Node's
            # socket buffer when the process ends, so an empty body is also right.
            stream_fails("node-crash", "Runtime.ExitError", 0.7, EXIT_3, (PARTIAL, b"")),
            stream_fails(
                "py-init", "Runtime.ImportModuleError", 0.5, "soak_no_such_module", (b"",)
            ),
            stream_fails(
                "node-init", "Runtime.ImportModuleError", 0.5, "soak-no-such-module", (b"",)
            ),
        ),
        0.01,
    )


def buffered() -> Role:
    """Invoke: RequestResponse answers and errors, and async Event invocations."""
    return Role(
        "buffered",
        (
            invoke_ok("py-buffered", 4),
            invoke_ok("node-buffered", 4),
            invoke_fails("py-error", "ValueError", 1),
            invoke_fails("node-error", "Error", 1),
            invoke_fails("py-crash", "Runtime.ExitError", 0.5),
            invoke_event("py-background", 2),
            invoke_event("node-buffered", 1),
        ),
        0.01,
    )


def urls() -> Role:
    """Function URLs in RESPONSE_STREAM mode over one keep-alive connection: streams, a crash
    after the head (a clean end of the body) and an init error (502)."""
    return Role(
        "url",
        (
            url_get("py-url", 4, 200),
            url_get("node-url", 4, 200),
            url_get("py-crash", 1, 200, PARTIAL),
            url_get("node-init", 0.5, 502),
        ),
        0.01,
    )


def disconnects() -> Role:
    """Clients that leave mid-stream, on the Lambda API and on a URL."""
    return Role(
        "disconnect",
        (
            stream_disconnect("py-stream", 1),
            stream_disconnect("node-stream", 1),
            url_disconnect("py-url", 1),
            url_disconnect("node-url", 1),
        ),
        0.3,
    )


def threads() -> list[Role]:
    """One role per client thread; streaming, the busiest path, gets two."""
    return [streaming(), streaming(), buffered(), urls(), disconnects()]


def every_action() -> list[Action]:
    """Each distinct action once, for the warm-up pass that runs every path before the
    start sample is taken."""
    seen: dict[str, Action] = {}
    for role in (streaming(), buffered(), urls(), disconnects()):
        for action in role.actions:
            seen.setdefault(action.name, action)
    return list(seen.values())
