"""What a client thread does: one call per action, and the outcome it observed.

Every action knows the one outcome it must see (`expected`): the right `ErrorCode` and the
right bytes. Anything else, a 429, a refused connection or a client timeout included, is an
unexpected outcome and fails the soak; the label says what was seen instead so the tally
shows how a failure looked without a debugger.
"""

from __future__ import annotations

import http.client
import json
import random
from collections.abc import Callable
from dataclasses import dataclass

from botocore.exceptions import BotoCoreError, ClientError

from soak._functions import body

CLIENT_TIMEOUT = 30  # seconds; the slowest call (a 1 s timeout on a cold start) needs ~2
PARTIAL = b"partial"
SLOW = {"chunks": 10, "size": 64, "delay_ms": 30}  # ~0.3 s: a client can leave midway


@dataclass
class Clients:
    """One thread's clients: a boto3 Lambda client and one keep-alive URL connection."""

    lam: object
    host: str
    port: int
    names: dict[str, str]  # function key → deployed name
    url_paths: dict[str, str]  # function key → `/_sluice/url/<url-id>`
    conn: http.client.HTTPConnection | None = None

    def connection(self) -> http.client.HTTPConnection:
        if self.conn is None:
            self.conn = http.client.HTTPConnection(self.host, self.port, timeout=CLIENT_TIMEOUT)
        return self.conn

    def close(self) -> None:
        """Close every connection, so the server's count of sockets goes back down."""
        if self.conn is not None:
            self.conn.close()
            self.conn = None
        self.lam.close()  # type: ignore[attr-defined]


@dataclass(frozen=True)
class Observed:
    """What one call saw; `dispatched` says whether a function ran (and so logged a REPORT)."""

    label: str
    dispatched: bool = True
    detail: str = ""


@dataclass(frozen=True)
class Action:
    """One kind of call, with the outcome it must have and how often a thread picks it."""

    name: str
    function: str  # function key
    expected: str
    weight: float
    call: Callable[[Clients, random.Random], Observed]


def run(action: Action, clients: Clients, rng: random.Random) -> Observed:
    """Make the call; a failure of the client's own (connection refused, timeout) becomes
    an outcome like any other, so one bad call cannot stop a thread."""
    try:
        return action.call(clients, rng)
    except ClientError as exc:
        error = exc.response.get("Error", {})
        return Observed(f"error {error.get('Code')}", False, str(error.get("Message"))[:200])
    except (BotoCoreError, OSError, http.client.HTTPException) as exc:
        if clients.conn is not None:
            clients.conn.close()  # a broken keep-alive connection is not reused
            clients.conn = None
        return Observed(f"exception {type(exc).__name__}", False, str(exc)[:200])


# Lambda API calls ------------------------------------------------------------------------


def _stream(clients: Clients, key: str, event: dict[str, object]) -> tuple[bytes, dict | None]:
    """InvokeWithResponseStream to the end: the payload bytes and the InvokeComplete (None
    when the stream ended without one, which is itself a failure)."""
    response = clients.lam.invoke_with_response_stream(  # type: ignore[attr-defined]
        FunctionName=clients.names[key], Payload=json.dumps(event).encode()
    )
    received, complete = bytearray(), None
    for item in response["EventStream"]:
        if "PayloadChunk" in item:
            received += item["PayloadChunk"]["Payload"]
        elif "InvokeComplete" in item:
            complete = item["InvokeComplete"]
    return bytes(received), complete


def stream_ok(key: str, weight: float, big: bool = False) -> Action:
    """A happy-path stream of random shape; `big` sends 2 MiB, past the server's 1 MiB
    high-water mark, so backpressure is on the path too."""

    def call(clients: Clients, rng: random.Random) -> Observed:
        chunks, size = (32, 65536) if big else (rng.randint(1, 40), rng.choice((16, 256, 4096)))
        received, complete = _stream(clients, key, {"chunks": chunks, "size": size})
        if complete is None:
            return Observed("no InvokeComplete")
        label = complete.get("ErrorCode") or "ok"
        if label == "ok" and received != body(chunks, size):
            return Observed("ok, bad body", detail=f"{len(received)} bytes, {chunks}x{size}")
        return Observed(label, detail=str(complete.get("ErrorDetails", ""))[:200])

    return Action(f"stream {key}{' 2 MiB' if big else ''}", key, "ok", weight, call)


def stream_fails(
    key: str, code: str, weight: float, details: str, bodies: tuple[bytes, ...]
) -> Action:
    """A stream that must end with `code`, `details` in its ErrorDetails and one of `bodies`
    (the bytes the function wrote before it failed)."""

    def call(clients: Clients, rng: random.Random) -> Observed:
        received, complete = _stream(clients, key, {})
        if complete is None:
            return Observed("no InvokeComplete")
        label = complete.get("ErrorCode") or "ok"
        found = str(complete.get("ErrorDetails", ""))
        if label == code and details not in found:
            return Observed(f"{label}, bad details", detail=found[:200])
        if label == code and received not in bodies:
            return Observed(f"{label}, bad body", detail=repr(received[:100]))
        return Observed(label, detail=found[:200])

    return Action(f"stream {key}", key, code, weight, call)


def stream_disconnect(key: str, weight: float) -> Action:
    """Read the first chunk of a slow stream, then close the connection: the function must
    run on to its end (its REPORT is counted) and the server must drop the caller."""

    def call(clients: Clients, rng: random.Random) -> Observed:
        response = clients.lam.invoke_with_response_stream(  # type: ignore[attr-defined]
            FunctionName=clients.names[key], Payload=json.dumps(SLOW).encode()
        )
        events = response["EventStream"]
        try:
            first = next(iter(events), {})
        finally:
            events.close()
        return Observed("disconnected" if "PayloadChunk" in first else f"first event {first}")

    return Action(f"disconnect {key}", key, "disconnected", weight, call)


def invoke_ok(key: str, weight: float) -> Action:
    """Buffered Invoke of a plain handler: its JSON answer echoes the event."""

    def call(clients: Clients, rng: random.Random) -> Observed:
        event = {"n": rng.randint(0, 1 << 30)}
        response = clients.lam.invoke(  # type: ignore[attr-defined]
            FunctionName=clients.names[key], Payload=json.dumps(event).encode()
        )
        payload = response["Payload"].read()
        if "FunctionError" in response:
            return Observed(
                response["FunctionError"], detail=payload[:200].decode(errors="replace")
            )
        if json.loads(payload) != {"echo": event}:
            return Observed("ok, bad body", detail=payload[:200].decode(errors="replace"))
        return Observed("ok")

    return Action(f"invoke {key}", key, "ok", weight, call)


def invoke_fails(key: str, error_type: str, weight: float) -> Action:
    """Buffered Invoke of a failing function: `Unhandled` with `error_type` in the document."""

    def call(clients: Clients, rng: random.Random) -> Observed:
        response = clients.lam.invoke(  # type: ignore[attr-defined]
            FunctionName=clients.names[key], Payload=b"{}"
        )
        payload = response["Payload"].read()
        try:
            found = json.loads(payload).get("errorType")
        except (ValueError, AttributeError):
            found = "(not a JSON object)"
        return Observed(
            f"{response.get('FunctionError', 'ok')} {found}", detail=repr(payload[:200])
        )

    return Action(f"invoke {key}", key, f"Unhandled {error_type}", weight, call)


def invoke_event(key: str, weight: float) -> Action:
    """`InvocationType=Event`: answered 202 at once; the run is counted later by its REPORT."""

    def call(clients: Clients, rng: random.Random) -> Observed:
        response = clients.lam.invoke(  # type: ignore[attr-defined]
            FunctionName=clients.names[key], InvocationType="Event", Payload=b'{"async": true}'
        )
        return Observed(str(response["StatusCode"]))

    return Action(f"event {key}", key, "202", weight, call)


# Function URLs ---------------------------------------------------------------------------


def url_get(key: str, weight: float, status: int, want: bytes | None = None) -> Action:
    """GET on the function's URL over the thread's keep-alive connection: `status`, and the
    body `want` (or, when None, the happy-path body for a random shape)."""

    def call(clients: Clients, rng: random.Random) -> Observed:
        chunks, size = rng.randint(1, 40), rng.choice((16, 256, 4096))
        conn = clients.connection()
        conn.request("GET", f"{clients.url_paths[key]}/?chunks={chunks}&size={size}")
        response = conn.getresponse()
        received = response.read()
        expected = body(chunks, size) if want is None else want
        if response.status == status and status == 200 and received != expected:
            return Observed(f"{status}, bad body", detail=repr(received[:100]))
        return Observed(str(response.status), response.status not in (404, 413, 429))

    return Action(f"url {key}", key, str(status), weight, call)


def url_disconnect(key: str, weight: float) -> Action:
    """GET a slow stream on a connection of its own, read the first bytes, hang up."""

    def call(clients: Clients, rng: random.Random) -> Observed:
        conn = http.client.HTTPConnection(clients.host, clients.port, timeout=CLIENT_TIMEOUT)
        try:
            query = "&".join(f"{name}={value}" for name, value in SLOW.items())
            conn.request("GET", f"{clients.url_paths[key]}/?{query}")
            response = conn.getresponse()
            first = response.read1(64)
        finally:
            conn.close()
        if response.status != 200 or not first:
            return Observed(f"{response.status} before the first byte")
        return Observed("disconnected")

    return Action(f"disconnect url {key}", key, "disconnected", weight, call)
