"""The sse-function-url example end to end: its Node.js and Python functions behind
RESPONSE_STREAM function URLs on a real server, read by the example's page in a headless
Chromium (served from another origin, so the browser enforces CORS) and by `curl -N`.

The functions stamp each event with the time they wrote it, so "arrived before the function
finished" is measured against the function's own clock (same machine, same wall clock).
"""

from __future__ import annotations

import functools
import http.client
import itertools
import json
import os
import shutil
import subprocess
import threading
import time
import urllib.parse
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from tests import cdp
from tests.conftest import create_function, make_zip, unique

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "sse-function-url"
EVENTS = 8  # data events the example functions send before `event: done`
INTERVAL_MS = 400  # between two events
CORS = {"AllowOrigins": ["*"], "AllowMethods": ["GET"]}  # as in the example's template.yaml
FUNCTIONS = {  # the folder of each example function, and its template.yaml properties
    "node": {"Runtime": "nodejs20.x", "Handler": "index.handler"},
    "python": {
        "Runtime": "python3.12",
        "Handler": "app.handler",
        "Environment": {"Variables": {"AWS_LAMBDA_EXEC_WRAPPER": "/var/task/sluice-stream"}},
    },
}
# What the page listed: one object per <li>, its data-* attributes (all strings).
LISTED = "[...document.querySelectorAll('#events li')].map((li) => ({...li.dataset}))"
PAGE_STATE = "({title: document.title, status: document.getElementById('status').textContent})"


def zip_folder(folder: Path) -> bytes:
    """The folder as `sam deploy` zips it: links followed, executables kept executable."""
    files: dict[str, str | bytes] = {}
    executable = []
    for root, dirs, names in os.walk(folder, followlinks=True):
        dirs[:] = [name for name in dirs if name != "__pycache__"]
        for name in names:
            path = Path(root, name)
            arcname = path.relative_to(folder).as_posix()
            files[arcname] = path.read_bytes()
            if os.access(path, os.X_OK):
                executable.append(arcname)
    return make_zip(files, tuple(executable))


@pytest.fixture(params=sorted(FUNCTIONS))
def sse_url(request, lambda_client) -> Iterator[str]:
    """The URL of one example function, configured as the example's template does."""
    name = unique(f"sse-{request.param}")
    code = {"ZipFile": zip_folder(EXAMPLE / request.param)}
    create_function(lambda_client, name, {}, Code=code, **FUNCTIONS[request.param])
    try:
        created = lambda_client.create_function_url_config(
            FunctionName=name, AuthType="NONE", InvokeMode="RESPONSE_STREAM", Cors=CORS
        )
        yield created["FunctionUrl"]
    finally:
        lambda_client.delete_function(FunctionName=name)


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format, *args) -> None:
        pass


@pytest.fixture(scope="module")
def page_origin() -> Iterator[str]:
    """The example folder served on 127.0.0.1: an origin other than the function URL's."""
    httpd = ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(_QuietHandler, directory=str(EXAMPLE))
    )
    thread = threading.Thread(target=httpd.serve_forever, name="page-server", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join()


@pytest.fixture(scope="module")
def browser(tmp_path_factory) -> Iterator[cdp.Browser]:
    binary = cdp.find_chromium()
    if binary is None:
        pytest.skip("no chromium on the PATH (Debian: apt-get install -y chromium)")
    folder = tmp_path_factory.mktemp("chromium")
    with cdp.launch(binary, folder / "profile", folder / "chromium.log") as running:
        yield running


def test_the_page_sees_events_arrive_before_the_function_finishes(browser, page_origin, sse_url):
    page = browser.new_page()
    try:
        page.navigate(f"{page_origin}/index.html?{urllib.parse.urlencode({'url': sse_url})}")
        try:
            page.wait_for("document.title === 'done'", timeout=30)
        except TimeoutError:
            pytest.fail(f"no done event: {page.evaluate(PAGE_STATE)}, {page.evaluate(LISTED)}")
        listed = page.evaluate(LISTED)
    finally:
        page.close()

    assert [item["type"] for item in listed] == ["message"] * EVENTS + ["done"]
    sent = [json.loads(item["data"]) for item in listed]
    assert [event["n"] for event in sent] == list(range(EVENTS + 1))
    written = [event["at"] for event in sent]  # the function's clock, ms since the epoch
    seen = [int(item["wall"]) for item in listed]  # the page's clock, the same wall clock
    arrived = [float(item["arrived"]) for item in listed]  # ms since the page connected
    finished = written[-1]  # `done` is the function's last write

    # Every event reached the page before the function wrote the next one: nothing held back.
    lags = [at_page - at_function for at_function, at_page in zip(written, seen, strict=True)]
    assert all(-50 < lag < INTERVAL_MS for lag in lags), lags
    # So at least three were on the page while the function was still running, seconds
    # before it finished, and arrived spread out as they were written (not in one batch).
    assert all(at_page < finished - 1000 for at_page in seen[:3]), (seen[:3], finished)
    assert arrived[2] - arrived[0] > 1.5 * INTERVAL_MS, arrived


def read_with_curl(url: str) -> tuple[str, list[tuple[float, bytes]]]:
    """`curl -N -i URL`: the response head, and each body line with when it was printed."""
    with subprocess.Popen(
        ["curl", "-N", "-sS", "-i", "--max-time", "30", url], stdout=subprocess.PIPE
    ) as curl:
        assert curl.stdout is not None
        output = [(time.monotonic(), line) for line in iter(curl.stdout.readline, b"")]
    assert curl.returncode == 0
    blank = next(i for i, (_, line) in enumerate(output) if line == b"\r\n")
    head = b"".join(line for _, line in output[:blank]).decode()
    return head, output[blank + 1 :]


def read_with_http_client(url: str) -> tuple[str, list[tuple[float, bytes]]]:
    """The same as `read_with_curl`, for machines without curl."""
    parts = urllib.parse.urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    try:
        conn.request("GET", parts.path or "/")
        response = conn.getresponse()
        head = f"HTTP/1.1 {response.status}\r\n{response.headers}"
        lines = []
        while piece := response.read1(65536):
            now = time.monotonic()
            lines += [(now, line) for line in piece.splitlines(keepends=True)]
        return head, lines
    finally:
        conn.close()


def test_curl_prints_each_event_as_it_is_written(sse_url):
    read = read_with_curl if shutil.which("curl") else read_with_http_client
    head, lines = read(sse_url)
    status, *headers = head.lower().splitlines()
    assert status.split()[1] == "200", head
    assert "content-type: text/event-stream" in headers, head
    assert "cache-control: no-cache" in headers, head
    data = [(at, line) for at, line in lines if line.startswith(b"data: ")]
    assert [json.loads(line[6:])["n"] for _, line in data] == list(range(EVENTS + 1))
    gaps = [b - a for (a, _), (b, _) in itertools.pairwise(data)]
    assert all(0.5 * INTERVAL_MS < gap * 1000 < 2 * INTERVAL_MS for gap in gaps), gaps
