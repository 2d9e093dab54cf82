"""Just enough of the Chrome DevTools Protocol to drive a headless Chromium from a test.

No WebSocket and no extra packages: Chromium is started with `--remote-debugging-pipe`, which
makes it read protocol messages from its file descriptor 3 and write them to 4, each one JSON
text ended by a NUL byte (what Puppeteer's pipe transport does). A reader thread sorts the
replies by id; events are dropped, since the tests only ask and wait. Pages are attached with
`flatten`, so one pipe carries every page's messages, tagged with their `sessionId`.

    with launch(find_chromium(), profile_dir, log_path) as browser:
        page = browser.new_page()
        page.navigate("http://127.0.0.1:8000/")
        page.wait_for("document.title === 'done'", timeout=10)
"""

from __future__ import annotations

import contextlib
import json
import os
import queue
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

BINARIES = ("chromium", "chromium-browser")  # Debian's package, and other distributions'
FLAGS = (
    "--headless=new",
    "--no-sandbox",  # the tests may run as root, where the sandbox refuses to start
    "--disable-gpu",
    "--no-proxy-server",
    "--no-first-run",
    "--no-default-browser-check",
    "--remote-debugging-pipe",
)


class CdpError(Exception):
    """The browser answered a command with an error, went away, or took too long."""


def find_chromium() -> str | None:
    """The path of a Chromium on the PATH, or None."""
    return next(filter(None, map(shutil.which, BINARIES)), None)


class Browser:
    """One Chromium process and its protocol pipe."""

    def __init__(self, process: subprocess.Popen[bytes], commands: int, replies: int) -> None:
        self.process = process
        self._commands = os.fdopen(commands, "wb")
        self._replies = os.fdopen(replies, "rb", buffering=0)
        self._ids = iter(range(1, 1 << 62))
        self._waiting: dict[int, queue.Queue[dict[str, Any]]] = {}
        self._gone = False  # the browser closed its end of the pipe
        self._lock = threading.Lock()
        self._reader = threading.Thread(target=self._read, name="cdp-reader", daemon=True)
        self._reader.start()

    def send(
        self,
        method: str,
        params: dict[str, Any] | None = None,
        session_id: str | None = None,
        timeout: float = 15,
    ) -> dict[str, Any]:
        """Run one command and return its `result`.

        Raises:
            CdpError: an error answer, no answer within `timeout`, or the browser exited.
        """
        message: dict[str, Any] = {"id": next(self._ids), "method": method, "params": params or {}}
        if session_id is not None:
            message["sessionId"] = session_id
        answer: queue.Queue[dict[str, Any]] = queue.Queue()
        with self._lock:
            if self._gone:
                raise CdpError(f"{method}: the browser has gone")
            self._waiting[message["id"]] = answer
        try:
            self._commands.write(json.dumps(message).encode() + b"\0")
            self._commands.flush()
            reply = answer.get(timeout=timeout)
        except (OSError, queue.Empty) as exc:
            raise CdpError(f"{method}: no answer from the browser ({exc!r})") from exc
        finally:
            with self._lock:
                self._waiting.pop(message["id"], None)
        if "error" in reply:
            raise CdpError(f"{method}: {reply['error']}")
        return reply.get("result", {})

    def new_page(self) -> Page:
        """A new blank tab, attached in flat mode."""
        target = self.send("Target.createTarget", {"url": "about:blank"})["targetId"]
        attached = self.send("Target.attachToTarget", {"targetId": target, "flatten": True})
        return Page(self, target, attached["sessionId"])

    def close(self) -> None:
        """Ask the browser to quit, then make sure its whole process group is gone."""
        with contextlib.suppress(CdpError):
            self.send("Browser.close", timeout=5)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(10)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)  # helpers it left behind
        if self.process.poll() is None:
            self.process.wait()
        with contextlib.suppress(OSError):  # a broken pipe when it flushes
            self._commands.close()
        self._reader.join(5)
        self._replies.close()

    def _read(self) -> None:
        """Split the stream on NUL bytes and hand each reply to the command waiting for it;
        at the end of the stream, fail every command still waiting."""
        pending = b""
        while data := self._replies.read(65536):
            pending += data
            *messages, pending = pending.split(b"\0")
            for raw in messages:
                message = json.loads(raw)
                with self._lock:
                    waiter = self._waiting.get(message.get("id", -1))
                if waiter is not None:
                    waiter.put(message)
        with self._lock:
            self._gone = True
            for waiter in self._waiting.values():
                waiter.put({"error": "the browser closed the pipe"})


class Page:
    """One tab, reached through its flat session."""

    def __init__(self, browser: Browser, target_id: str, session_id: str) -> None:
        self.browser = browser
        self.target_id = target_id
        self.session_id = session_id

    def close(self) -> None:
        """Close the tab (and with it any connection it holds open)."""
        self.browser.send("Target.closeTarget", {"targetId": self.target_id})

    def navigate(self, url: str) -> None:
        """Start loading `url` (returns once the navigation is under way)."""
        result = self.browser.send("Page.navigate", {"url": url}, self.session_id)
        if "errorText" in result:
            raise CdpError(f"navigating to {url}: {result['errorText']}")

    def evaluate(self, expression: str) -> Any:
        """The JSON value of a JavaScript expression in the page.

        Raises:
            CdpError: the expression threw.
        """
        result = self.browser.send(
            "Runtime.evaluate",
            {"expression": expression, "returnByValue": True, "awaitPromise": True},
            self.session_id,
        )
        if "exceptionDetails" in result:
            raise CdpError(f"{expression!r} threw: {result['exceptionDetails']}")
        return result["result"].get("value")

    def wait_for(self, expression: str, timeout: float, interval: float = 0.05) -> Any:
        """Poll `expression` until it is truthy and return its value.

        Raises:
            TimeoutError: still falsy after `timeout` seconds.
        """
        deadline = time.monotonic() + timeout
        while not (value := self.evaluate(expression)):
            if time.monotonic() > deadline:
                raise TimeoutError(f"{expression!r} still {value!r} after {timeout} s")
            time.sleep(interval)
        return value


# Moves two inherited descriptors to 3 and 4 (by way of 10 and up, since either may already
# be 3 or 4), then becomes the browser. Python, because sh only names descriptors 0-9.
_TRAMPOLINE = """
import fcntl, os, sys
fds = [int(fd) for fd in sys.argv[1:3]]
high = [fcntl.fcntl(fd, fcntl.F_DUPFD, 10) for fd in fds]
for fd in fds:
    os.close(fd)
for target, fd in zip((3, 4), high):
    os.dup2(fd, target)
    os.close(fd)
os.execv(sys.argv[3], sys.argv[3:])
"""


@contextlib.contextmanager
def launch(binary: str, profile_dir: Path, stderr_path: Path) -> Iterator[Browser]:
    """A headless Chromium with a fresh profile, closed (group and all) on exit.

    The browser's output, noisy at the best of times, goes to `stderr_path`.
    """
    commands_read, commands_write = os.pipe()
    replies_read, replies_write = os.pipe()
    ends = (commands_read, replies_write)
    argv = [sys.executable, "-c", _TRAMPOLINE, *map(str, ends), binary, *FLAGS]
    try:
        with open(stderr_path, "wb") as stderr:
            process = subprocess.Popen(
                [*argv, f"--user-data-dir={profile_dir}", "about:blank"],
                stdin=subprocess.DEVNULL,
                stdout=stderr,
                stderr=stderr,
                pass_fds=ends,
                start_new_session=True,  # its own group, so close() can reap every helper
            )
    except BaseException:
        os.close(commands_write)
        os.close(replies_read)
        raise
    finally:
        for fd in ends:
            os.close(fd)
    browser = Browser(process, commands_write, replies_read)
    try:
        yield browser
    finally:
        browser.close()
