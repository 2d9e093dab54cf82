"""Runtime and client faults (issue 6, parts 2 and 3), through a real server and boto3.

Runtime faults are one table. Each row is a function that misbehaves in one precise way:
mostly a `provided.al2023` bootstrap speaking the Runtime API itself (it misbehaves in its
first process only, then serves properly), else a Python or Node.js handler told so by its
event. Every row checks the same things: the stream's chunks and `InvokeComplete` (or, for
rows marked `buffered`, Invoke's error document), the REPORT line's status, what the Runtime
API answered the runtime (the runtime logs it), that no process of the faulty environment
survives, and that the next invocation runs in a fresh process, or in the same one where AWS
keeps the environment.

Client faults: a caller that hangs up mid-stream (the function runs on, its environment is
reused) and one that reads very slowly (the server's memory stays bounded, the function's
writes block).
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import re
import signal
import socket
import struct
import textwrap
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import client_for, create_function, start_server, unique

# --- Function code ---------------------------------------------------------------------

# A custom runtime. Its first process (the one that creates $FAULT_MARK) misbehaves as
# $FAULT says; later processes answer every invocation with their pid.
BOOTSTRAP = textwrap.dedent(
    """\
    #!/usr/bin/env python3
    import http.client, json, os, signal, socket, subprocess, sys, time
    print("PID", os.getpid(), flush=True)
    host, port = os.environ["AWS_LAMBDA_RUNTIME_API"].split(":")
    API = "/2018-06-01/runtime/"
    fault = None
    if not os.path.exists(os.environ["FAULT_MARK"]):
        open(os.environ["FAULT_MARK"], "w").close()
        fault = os.environ["FAULT"]

    def call(method, path, body=None, headers=None):
        conn = http.client.HTTPConnection(host, int(port), timeout=30)
        conn.request(method, API + path, body=body, headers=headers or {})
        answer = conn.getresponse()
        text = answer.read()
        if answer.status >= 400:
            print("API", answer.status, json.loads(text)["errorType"], flush=True)
        return answer

    def stream(rid, chunk=b"partial"):
        # A streamed response, opened by hand: head, then one chunk.
        sock = socket.create_connection((host, int(port)))
        sock.sendall(
            f"POST {API}invocation/{rid}/response HTTP/1.1\\r\\nHost: x\\r\\n"
            "Lambda-Runtime-Function-Response-Mode: streaming\\r\\n"
            "Transfer-Encoding: chunked\\r\\n\\r\\n".encode()
            + b"%x\\r\\n%s\\r\\n" % (len(chunk), chunk)
        )
        time.sleep(0.2)  # the chunk reaches the caller before what follows
        return sock

    def spawn(*argv, **options):
        child = subprocess.Popen(argv, **options)
        print("CHILD", child.pid, flush=True)

    def hang():
        time.sleep(300)

    def misbehave(rid):
        # Returns True when the invocation needs no further answer from the loop.
        if fault == "sigkill-mid-stream":
            stream(rid)
            os.kill(os.getpid(), signal.SIGKILL)
        elif fault == "response-twice":
            call("POST", f"invocation/{rid}/response", json.dumps({"pid": os.getpid()}))
            call("POST", f"invocation/{rid}/response", b'"again"')
            return True
        elif fault == "response-wrong-id":
            call("POST", f"invocation/{rid[::-1]}/response", b'"not yours"')
            call("GET", "invocation/next")
            hang()
        elif fault == "unknown-path":
            call("GET", "invocation/nonsense")
        elif fault == "bad-response-mode":
            call("POST", f"invocation/{rid}/response", b"{}",
                 {"Lambda-Runtime-Function-Response-Mode": "Streaming"})
            hang()
        elif fault == "garbage-request":
            sock = socket.create_connection((host, int(port)))
            sock.sendall(b"\\x16\\x03\\x01\\x02\\x00 this is not HTTP\\r\\n\\r\\n")
            print("GARBAGE", sock.recv(4096).split(b"\\r\\n")[0].decode(), flush=True)
            hang()
        elif fault == "garbage-mid-body":
            sock = stream(rid)
            sock.sendall(b"zz\\r\\nnot a chunk size\\r\\n")
            hang()
        elif fault == "no-terminator":
            stream(rid).close()
            hang()
        elif fault == "stall-mid-body":
            sock = stream(rid)  # kept open, and silent
            hang()
        elif fault in ("fork-and-exit", "setsid-child-and-exit"):
            spawn("sleep", "300")
            spawn(sys.executable, "-c", "import signal, time; "
                  "signal.signal(signal.SIGTERM, signal.SIG_IGN); time.sleep(300)")
            spawn("sh", "-c", "sleep 300 & sleep 300")  # a grandchild too
            if fault == "setsid-child-and-exit":
                spawn("sleep", "300", start_new_session=True)
            sys.exit(3)
        elif fault == "group-out-of-memory":
            # Each child stays under MemorySize; the group does not.
            for _ in range(3):
                spawn(sys.executable, "-c", "import time; b = b'x' * (60 << 20); time.sleep(300)")
            hang()
        return False

    if fault == "exit-before-next":
        sys.exit(0)
    if fault == "never-polls-next":
        hang()
    while True:
        answer = call("GET", "invocation/next")
        rid = answer.getheader("Lambda-Runtime-Aws-Request-Id")
        if fault and misbehave(rid):
            fault = None
            continue
        fault = None
        call("POST", f"invocation/{rid}/response", json.dumps({"pid": os.getpid()}))
    """
)

PYTHON_HANDLER = textwrap.dedent(
    """\
    import json, os, signal, time
    from sluice_runtime import streamify_response

    print("PID", os.getpid(), flush=True)

    def hoard(megabytes):
        held = []
        while len(held) * 8 < megabytes:
            held.append(b"x" * (8 << 20))  # written, so resident
            time.sleep(0.002)
        return held

    @streamify_response
    def handler(event, response_stream, context):
        fault = event.get("fault")
        if fault == "sigkill-mid-stream":
            response_stream.write("partial")
            time.sleep(0.1)
            os.kill(os.getpid(), signal.SIGKILL)
        elif fault == "out-of-memory":
            response_stream.write("partial")
            held = hoard(512)  # bounded, should sluice fail to stop it
            time.sleep(30)
        elif fault == "hold":
            held = hoard(event["megabytes"])
        response_stream.write(json.dumps({"pid": os.getpid()}))
    """
)

NODE_HANDLER = textwrap.dedent(
    """\
    const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
    console.log('PID', process.pid);

    exports.handler = awslambda.streamifyResponse(async (event, responseStream) => {
      if (event.fault === 'sigkill-mid-stream') {
        responseStream.write('partial');
        await sleep(100);
        process.kill(process.pid, 'SIGKILL');
      } else if (event.fault === 'out-of-memory') {
        responseStream.write('partial');
        const held = [];
        // Buffers live outside V8's heap: only MemorySize itself can stop this.
        while (held.length < 64) {
          held.push(Buffer.alloc(8 << 20, 1));
          await sleep(2);
        }
        await sleep(30000);
      }
      responseStream.end(JSON.stringify({ pid: process.pid }));
    });
    """
)


@dataclass(frozen=True)
class Fault:
    """One row: how the function misbehaves and what sluice must make of it."""

    runtime: str  # "provided", "python" or "node"
    code: str | None  # InvokeComplete.ErrorCode; None for a clean end
    details: str | None = None
    chunks: tuple[bytes, ...] = ()
    # "<status> <errorType>" the Runtime API answered, in order; None: not checked
    api: tuple[str, ...] | None = ()
    logged: str = ""  # a line the runtime must have logged
    kept: bool = False  # AWS keeps the environment
    buffered: bool = False  # called with Invoke instead of InvokeWithResponseStream
    timeout: int = 3
    memory: int = 128


TIMED_OUT = "Task timed out after 1.00 seconds"
KILLED = "Runtime exited with error: signal: killed"
TRUNCATED = "Response stream ended before the runtime finished it"

FAULTS = [
    pytest.param(
        Fault("provided", "Runtime.ExitError", KILLED, (b"partial",)), id="sigkill-mid-stream"
    ),
    pytest.param(
        Fault("python", "Runtime.ExitError", KILLED, (b"partial",)), id="python-sigkill-mid-stream"
    ),
    pytest.param(
        Fault("node", "Runtime.ExitError", KILLED, (b"partial",)), id="node-sigkill-mid-stream"
    ),
    pytest.param(
        Fault(
            "provided",
            "Runtime.ExitError",
            "Runtime exited without providing a reason",
            buffered=True,
        ),
        id="exit-before-next",
    ),
    pytest.param(
        Fault("provided", "Sandbox.Timedout", TIMED_OUT, timeout=1), id="never-polls-next"
    ),
    # RAPID refuses the second answer and changes nothing: the first one stands.
    pytest.param(
        Fault("provided", None, api=("403 InvalidStateTransition",), kept=True, buffered=True),
        id="response-twice",
    ),
    # Refused; the invocation stays open, so the function times out.
    pytest.param(
        Fault(
            "provided",
            "Sandbox.Timedout",
            TIMED_OUT,
            api=("400 InvalidRequestID", "403 InvalidStateTransition"),
            buffered=True,
            timeout=1,
        ),
        id="response-wrong-id",
    ),
    pytest.param(Fault("provided", None, api=("404 InvalidURL",), kept=True), id="unknown-path"),
    # Answered 400 InvalidFunctionResponseMode, but the environment is reset at once, so
    # whether the runtime lives to read that is a race.
    pytest.param(
        Fault(
            "provided",
            "Runtime.InvalidResponseModeHeader",
            "Invalid function response mode",
            api=None,
            buffered=True,
        ),
        id="bad-response-mode",
    ),
    # Bytes that are not HTTP get `400 Bad request`; the invocation is still unanswered.
    pytest.param(
        Fault(
            "provided",
            "Sandbox.Timedout",
            TIMED_OUT,
            logged="GARBAGE HTTP/1.1 400 Bad Request",
            timeout=1,
        ),
        id="garbage-request",
    ),
    # The body breaks its chunked framing: the runtime is answered 400 as it is killed.
    pytest.param(
        Fault("provided", "Runtime.TruncatedResponse", TRUNCATED, (b"partial",)),
        id="garbage-mid-body",
    ),
    pytest.param(
        Fault("provided", "Runtime.TruncatedResponse", TRUNCATED, (b"partial",)),
        id="no-terminator",
    ),
    pytest.param(
        Fault("provided", "Sandbox.Timedout", TIMED_OUT, (b"partial",), timeout=1),
        id="stall-mid-body",
    ),
    pytest.param(
        Fault(
            "provided",
            "Runtime.ExitError",
            "Runtime exited with error: exit status 3",
            buffered=True,
        ),
        id="fork-and-exit",
    ),
    # A child in a session of its own has left the group; it dies with the rest all the same.
    pytest.param(
        Fault("provided", "Runtime.ExitError", "Runtime exited with error: exit status 3"),
        id="setsid-child-and-exit",
    ),
    pytest.param(
        Fault("python", "Runtime.OutOfMemory", KILLED, (b"partial",)), id="python-out-of-memory"
    ),
    pytest.param(
        Fault("node", "Runtime.OutOfMemory", KILLED, (b"partial",)), id="node-out-of-memory"
    ),
    pytest.param(Fault("provided", "Runtime.OutOfMemory", KILLED), id="group-out-of-memory"),
]

# --- Helpers -----------------------------------------------------------------------------


def function_processes(name: str) -> set[int]:
    """Every live process started for function `name`, wherever it went: its environment
    names the function, and children inherit that even when they leave the group."""
    wanted = f"AWS_LAMBDA_FUNCTION_NAME={name}".encode()
    found = set()
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            environ = Path(f"/proc/{entry}/environ").read_bytes()
        except OSError:
            continue  # gone, or a zombie
        if wanted in environ.split(b"\0"):
            found.add(int(entry))
    return found


def settled_processes(name: str, expected: int, within: float = 5.0) -> set[int]:
    """The function's processes once at most `expected` are left (or `within` passed)."""
    deadline = time.monotonic() + within
    while len(found := function_processes(name)) > expected and time.monotonic() < deadline:
        time.sleep(0.05)
    return found


@pytest.fixture
def reap() -> Iterator[list[str]]:
    """Functions whose processes the test must not leave behind, whatever happened."""
    names: list[str] = []
    yield names
    for name in names:
        for pid in function_processes(name):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)


def deploy(client, fault_id: str, fault: Fault, mark: Path) -> str:
    name = unique(fault_id)[:64]
    config = {"Timeout": fault.timeout, "MemorySize": fault.memory}
    if fault.runtime == "provided":
        variables = {"FAULT": fault_id, "FAULT_MARK": str(mark)}
        create_function(
            client,
            name,
            {"bootstrap": BOOTSTRAP},
            Runtime="provided.al2023",
            Environment={"Variables": variables},
            **config,
        )
    elif fault.runtime == "python":
        create_function(client, name, {"app.py": PYTHON_HANDLER}, **config)
    else:
        create_function(
            client,
            name,
            {"index.js": NODE_HANDLER},
            Runtime="nodejs20.x",
            Handler="index.handler",
            **config,
        )
    return name


def stream(client, name: str, event: dict) -> tuple[list[bytes], dict, str]:
    """InvokeWithResponseStream: the chunks, the InvokeComplete, the decoded log tail."""
    response = client.invoke_with_response_stream(
        FunctionName=name, Payload=json.dumps(event), LogType="Tail"
    )
    chunks, complete = [], {}
    for event_ in response["EventStream"]:
        if "PayloadChunk" in event_:
            chunks.append(event_["PayloadChunk"]["Payload"])
        else:
            complete = event_["InvokeComplete"]
    return chunks, complete, base64.b64decode(complete.get("LogResult", "")).decode()


def invoke(client, name: str, event: dict) -> tuple[list[bytes], dict, str]:
    """Invoke, read as `stream` reads a stream: the body is the one chunk, and the error
    document, checked to be a platform error's (`RequestId: <id> Error: <details>`),
    gives ErrorCode and ErrorDetails."""
    response = client.invoke(FunctionName=name, Payload=json.dumps(event), LogType="Tail")
    log = base64.b64decode(response["LogResult"]).decode()
    body = response["Payload"].read()
    if "FunctionError" not in response:
        return [body], {}, log
    assert response["FunctionError"] == "Unhandled"
    document = json.loads(body)
    request_id = re.search(r"REPORT RequestId: (\S+)", log).group(1)
    prefix = f"RequestId: {request_id} Error: "
    assert set(document) == {"errorType", "errorMessage"}, document
    assert document["errorMessage"].startswith(prefix), document
    details = document["errorMessage"].removeprefix(prefix)
    return [], {"ErrorCode": document["errorType"], "ErrorDetails": details}, log


def report_line(log: str) -> str:
    (line,) = [line for line in log.splitlines() if line.startswith("REPORT RequestId:")]
    return line


def report_status(log: str) -> str:
    """The REPORT line from its `Status` field to its end; "" when it has none."""
    line = report_line(log)
    assert line.endswith("\t"), line
    return line[line.index("\tStatus:") :] if "\tStatus:" in line else ""


def expected_status(code: str | None) -> str:
    """What ends the REPORT line of an outcome (docs/behavior.md, Outcomes)."""
    if code is None:
        return ""
    if code == "Sandbox.Timedout":
        return "\tStatus: timeout\t"
    return f"\tStatus: error\tError Type: {code}\t"


def served_by(client, name: str) -> tuple[int, str]:
    """A well-behaved invocation: the pid of the process that served it, and its log tail."""
    response = client.invoke(FunctionName=name, Payload=b"{}", LogType="Tail")
    assert "FunctionError" not in response, response["Payload"].read()
    return json.load(response["Payload"])["pid"], base64.b64decode(response["LogResult"]).decode()


def pid_of(client, name: str) -> int:
    """A well-behaved invocation: the pid of the process that served it."""
    return served_by(client, name)[0]


# --- Runtime faults ----------------------------------------------------------------------


@pytest.mark.parametrize("fault", FAULTS)
def test_runtime_fault(lambda_client, request, tmp_path, reap, fault: Fault):
    fault_id = request.node.callspec.id
    name = deploy(lambda_client, fault_id, fault, tmp_path / "fault-mark")
    reap.append(name)

    event = {"fault": fault_id.removeprefix(f"{fault.runtime}-")}
    chunks, complete, log = (invoke if fault.buffered else stream)(lambda_client, name, event)
    faulty = int(re.search(r"PID (\d+)", log).group(1))

    served = [json.dumps({"pid": faulty}).encode()] if fault.code is None else []
    assert chunks == [*fault.chunks, *served]
    assert complete.get("ErrorCode") == fault.code, complete
    assert complete.get("ErrorDetails") == fault.details
    assert report_status(log) == expected_status(fault.code), log
    if fault.logged:
        assert fault.logged in log.splitlines(), log

    survivors = settled_processes(name, expected=1 if fault.kept else 0)
    assert survivors == ({faulty} if fault.kept else set()), log
    next_pid, next_log = served_by(lambda_client, name)
    assert (next_pid == faulty) is fault.kept
    if fault.api is not None:
        # What a runtime prints after its answer ended the invocation (response-twice's
        # second post) races END: it lands in this log tail or in the next invocation's.
        api = re.findall(r"^API (\d+ \w+)$", log + next_log, re.M)
        assert api == list(fault.api), log + next_log


WRITE_AND_EXIT = textwrap.dedent(
    """\
    import os
    from sluice_runtime import streamify_response

    @streamify_response
    def handler(event, response_stream, context):
        for _ in range(event["chunks"]):
            response_stream.write(b"x" * event["size"])
        os._exit(3)
    """
)


@pytest.mark.parametrize("size", [7, 1 << 20])
def test_crash_right_after_writing_loses_no_byte(lambda_client, reap, size):
    """A process that dies just after writing: whatever reached the Runtime API's socket
    before its exit is relayed before the crash ends the stream, however the server
    learns of the two (the soak once saw a URL answer 502 with the body already sent)."""
    name = unique("write-and-exit")
    reap.append(name)
    create_function(lambda_client, name, {"app.py": WRITE_AND_EXIT})
    for _ in range(5):
        chunks, complete, _log = stream(lambda_client, name, {"chunks": 4, "size": size})
        assert sum(map(len, chunks)) == 4 * size
        assert complete.get("ErrorCode") == "Runtime.ExitError", complete
        assert complete.get("ErrorDetails") == "Runtime exited with error: exit status 3"


def test_out_of_memory_on_buffered_invoke(lambda_client, reap):
    """The buffered form of the same outcome, and what REPORT says of the memory."""
    name = unique("oom-buffered")
    reap.append(name)
    create_function(lambda_client, name, {"app.py": PYTHON_HANDLER})
    response = lambda_client.invoke(
        FunctionName=name, Payload=b'{"fault": "out-of-memory"}', LogType="Tail"
    )
    assert response["FunctionError"] == "Unhandled"
    log = base64.b64decode(response["LogResult"]).decode()
    request_id = re.search(r"REPORT RequestId: (\S+)", log).group(1)
    assert json.load(response["Payload"]) == {
        "errorType": "Runtime.OutOfMemory",
        "errorMessage": f"RequestId: {request_id} Error: {KILLED}",
    }
    # The group was killed over the limit; a cgroup never reports more than its limit.
    assert "\tMemory Size: 128 MB\tMax Memory Used: 128 MB\t" in report_line(log)


def test_memory_under_the_limit_is_unaffected(lambda_client):
    name = unique("oom-under")
    create_function(lambda_client, name, {"app.py": PYTHON_HANDLER})
    first = lambda_client.invoke(
        FunctionName=name, Payload=b'{"fault": "hold", "megabytes": 48}', LogType="Tail"
    )
    assert "FunctionError" not in first, first["Payload"].read()
    used = int(
        re.search(
            r"Max Memory Used: (\d+) MB", base64.b64decode(first["LogResult"]).decode()
        ).group(1)
    )
    assert 48 < used < 128
    assert pid_of(lambda_client, name) == json.load(first["Payload"])["pid"]


# --- Client faults -----------------------------------------------------------------------

# Streams event["chunks"] blocks of event["size"] bytes, event["pause"] seconds apart, keeps
# the count of bytes written so far in the file event["progress"], and ends with its pid.
PACED = textwrap.dedent(
    """\
    import json, os, time
    from sluice_runtime import streamify_response

    @streamify_response
    def handler(event, response_stream, context):
        block = b"x" * event.get("size", 0)
        progress = event.get("progress")
        progress = os.open(progress, os.O_WRONLY | os.O_CREAT) if progress else None
        written = 0
        for _ in range(event.get("chunks", 0)):
            response_stream.write(block)  # blocks while the caller does not read
            written += len(block)
            if progress is not None:
                os.pwrite(progress, b"%20d" % written, 0)
            time.sleep(event.get("pause", 0))
        print("DONE", os.getpid(), written, flush=True)
        response_stream.write(json.dumps({"pid": os.getpid()}))
    """
)


def raw_invoke(port: int, name: str, event: dict, rcvbuf: int | None = None) -> socket.socket:
    """InvokeWithResponseStream sent by hand (the Lambda API checks no signature), so the
    test controls how the socket is read and how it is closed."""
    sock = socket.socket()
    if rcvbuf is not None:  # before connecting, so the window is small from the start
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    sock.connect(("127.0.0.1", port))
    body = json.dumps(event).encode()
    sock.sendall(
        f"POST /2021-11-15/functions/{name}/response-streaming-invocations HTTP/1.1\r\n"
        f"Host: 127.0.0.1:{port}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n\r\n".encode()
        + body
    )
    return sock


def reset(sock: socket.socket) -> None:
    """Close with a TCP reset, as a crashed client's kernel does."""
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.close()


def logged_invocation(data_dir: Path, name: str, number: int = 1, within: float = 10.0) -> str:
    """The log of the function's `number`th invocation, once its REPORT line is written."""
    path = data_dir / "logs" / f"{name}.log"
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        logs = path.read_text().split("START RequestId:") if path.exists() else []
        if len(logs) > number and "REPORT RequestId:" in logs[number]:
            return "START RequestId:" + logs[number]
        time.sleep(0.05)
    raise AssertionError(f"no REPORT for invocation {number} in {path} after {within} s")


def hang_up_with_boto3(client, port: int, name: str, event: dict) -> None:
    response = client.invoke_with_response_stream(FunctionName=name, Payload=json.dumps(event))
    events = iter(response["EventStream"])
    assert "PayloadChunk" in next(events)
    response["EventStream"].close()


def hang_up_with_a_reset(client, port: int, name: str, event: dict) -> None:
    sock = raw_invoke(port, name, event)
    received = b""
    while b"PayloadChunk" not in received:
        received += sock.recv(65536)
    reset(sock)


@pytest.mark.parametrize(
    "hang_up", [hang_up_with_boto3, hang_up_with_a_reset], ids=["close", "reset"]
)
def test_a_caller_that_hangs_up_mid_stream(server, lambda_client, hang_up: Callable[..., None]):
    """Spec section 6: the function runs on to its end, and its environment is reused."""
    name = unique("hangup")
    create_function(lambda_client, name, {"app.py": PACED})
    hang_up(lambda_client, server.port, name, {"chunks": 20, "size": 64, "pause": 0.05})

    log = logged_invocation(server.data_dir, name)
    pid, written = map(int, re.search(r"^DONE (\d+) (\d+)$", log, re.M).groups())
    assert written == 20 * 64
    assert report_status(log) == ""  # a clean end
    assert float(re.search(r"Duration: ([\d.]+) ms", report_line(log)).group(1)) >= 20 * 50
    assert pid_of(lambda_client, name) == pid


SLOW_TOTAL = 64 * 1024 * 1024
SLOW_SECONDS = 3.0


def vm_rss(pid: int) -> int:
    status = Path(f"/proc/{pid}/status").read_text()
    return int(re.search(r"^VmRSS:\s+(\d+) kB", status, re.M).group(1)) * 1024


def test_a_slow_caller_holds_the_function_back(tmp_path, capsys):
    """Backpressure: a caller reading ~200 KB/s from a 64 MiB stream. The server's memory
    stays bounded and the function's writes block once it is 9-13 MiB ahead of the caller:
    what the server holds (about 1.25 MiB) plus the kernel buffers of both sockets."""
    running = start_server(tmp_path / "data")
    try:
        client = client_for(running.url)
        name = unique("slow")
        create_function(client, name, {"app.py": PACED}, Timeout=30)
        pid_of(client, name)  # a warm environment: nothing but the stream runs below
        progress = tmp_path / "progress"
        progress.write_bytes(b"%20d" % 0)
        rss_start = rss_peak = vm_rss(running.process.pid)

        event = {"chunks": SLOW_TOTAL // 65536, "size": 65536, "progress": str(progress)}
        sock = raw_invoke(running.port, name, event, rcvbuf=16384)
        read = 0
        started = time.monotonic()
        halfway: tuple[int, int] | None = None  # (read, written) once buffers are full
        while (elapsed := time.monotonic() - started) < SLOW_SECONDS:
            read += len(sock.recv(4096))
            rss_peak = max(rss_peak, vm_rss(running.process.pid))
            if halfway is None and elapsed > SLOW_SECONDS / 2:
                halfway = read, int(progress.read_bytes())
            time.sleep(0.02)
        written = int(progress.read_bytes())
        reset(sock)  # the function runs on, its writes now dropped

        log = logged_invocation(running.data_dir, name, number=2)
        assert int(re.search(r"^DONE \d+ (\d+)$", log, re.M).group(1)) == SLOW_TOTAL
    finally:
        assert running.stop() == 0
    mib = 1024 * 1024
    assert halfway is not None
    with capsys.disabled():
        print(
            f"\nslow caller: server RSS {rss_start / mib:.1f} -> peak {rss_peak / mib:.1f} MiB;"
            f" in {SLOW_SECONDS:.0f} s the caller read {read / mib:.2f} MiB,"
            f" the function wrote {written / mib:.2f} MiB of {SLOW_TOTAL // mib} MiB"
            f" (at {SLOW_SECONDS / 2:.1f} s: read {halfway[0] / mib:.2f}, wrote"
            f" {halfway[1] / mib:.2f})"
        )
    assert rss_peak - rss_start < 16 * mib
    assert written < read + 24 * mib < SLOW_TOTAL // 2
    # Once the buffers are full the function moves only as fast as the caller reads.
    assert written - halfway[1] <= read - halfway[0] + 2 * mib
