"""The mission: the lambda-streaming-sdk-sam pattern, unmodified, on one machine.

For each edition of the example stack (the pattern's Node.js functions, and the same three
functions as Python streaming handlers), `sluice deploy` deploys the template to a fresh
server, the pattern's Node SDK client and its boto3 twin run against it at the same time
with only AWS_ENDPOINT_URL set, and `sluice delete` removes the stack. The assertions are
what the pattern's README shows a user: the words, their pace, and how each stream ended.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.conftest import RunningServer, client_for, start_server

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "lambda-streaming-sdk-sam"
STACK = "lambda-streaming-sdk-sam"
WORDS = [
    "This",
    "function",
    "is",
    "streaming",
    "its",
    "response",
    "word",
    "by",
    "word",
    "and",
    "is",
    "finished!",
]
TITLES = {
    "Happy path streaming example": "HappyPath",
    "Midstream error example": "MidstreamError",
    "Timeout example": "Timeout",
}
TEMPLATES = {"node": "template.yaml", "python": "template-python.yaml"}

pytestmark = pytest.mark.skipif(
    shutil.which("node") is None
    or not (EXAMPLE / "node_modules" / "@aws-sdk" / "client-lambda").is_dir(),
    reason="needs node and the example's npm packages (bash scripts/setup.sh installs them)",
)


@dataclass
class Case:
    """What one client printed for one function, with the time each word line arrived."""

    words: list[str] = field(default_factory=list)
    arrivals: list[float] = field(default_factory=list)
    lines: list[str] = field(default_factory=list)

    @property
    def text(self) -> str:
        return "\n".join(self.lines)


@dataclass
class Stack:
    server: RunningServer
    names_first: list[str]
    names_second: list[str]
    results: dict[str, dict[str, Case]]
    exit_codes: dict[str, int]


def sluice_cli(server: RunningServer, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "sluice", *args, "--endpoint-url", server.url],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        cwd=EXAMPLE,
    )


def stack_names(server: RunningServer) -> list[str]:
    functions = client_for(server.url).list_functions()["Functions"]
    return sorted(f["FunctionName"] for f in functions if f["FunctionName"].startswith(STACK))


def run_client(command: list[str], url: str) -> tuple[int, dict[str, Case]]:
    """Run a client to the end, splitting its output by the example titles it prints."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("AWS_")}
    env |= {"AWS_ENDPOINT_URL": url, "AWS_ACCESS_KEY_ID": "k", "AWS_SECRET_ACCESS_KEY": "s"}
    cases: dict[str, Case] = {}
    current = Case()
    with subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env
    ) as process:
        assert process.stdout is not None
        for raw in process.stdout:
            line = raw.rstrip("\n")
            if line in TITLES:
                current = cases.setdefault(TITLES[line], Case())
                continue
            current.lines.append(line)
            if line in WORDS:
                current.words.append(line)
                current.arrivals.append(time.monotonic())
    return process.returncode, cases


@pytest.fixture(scope="module", params=sorted(TEMPLATES))
def stack(request, tmp_path_factory) -> Stack:
    """A fresh server with the stack deployed twice, both clients run against it at once,
    then the stack deleted."""
    server = start_server(tmp_path_factory.mktemp(f"seed-{request.param}"))
    try:
        template = TEMPLATES[request.param]
        for _ in range(2):
            deployed = sluice_cli(server, "deploy", "--stack-name", STACK, "-t", template)
            assert deployed.returncode == 0, deployed.stderr
            if _ == 0:
                names_first = stack_names(server)
        names_second = stack_names(server)
        clients = {
            "node": [shutil.which("node") or "node", str(EXAMPLE / "index.mjs")],
            "boto3": [sys.executable, str(EXAMPLE / "client.py")],
        }
        results: dict[str, dict[str, Case]] = {}
        codes: dict[str, int] = {}

        def work(name: str) -> None:
            codes[name], results[name] = run_client(clients[name], server.url)

        threads = [threading.Thread(target=work, args=(name,)) for name in clients]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(120)
        deleted = sluice_cli(server, "delete", "--stack-name", STACK, "--no-prompts")
        assert deleted.returncode == 0, deleted.stderr
        assert stack_names(server) == []
        return Stack(server, names_first, names_second, results, codes)
    finally:
        assert server.stop() == 0


CLIENTS = ("node", "boto3")


def test_deploy_names_functions_like_cloudformation_and_keeps_them(stack):
    assert len(stack.names_first) == 3
    for name, logical in zip(
        stack.names_first,
        ("HappyPathFunction", "MidstreamErrorFunction", "TimeoutFunction"),
        strict=True,
    ):
        prefix = f"{STACK}-{logical}-"
        assert name.startswith(prefix)
        suffix = name.removeprefix(prefix)
        assert len(suffix) == 12 and suffix.isalnum()
    assert stack.names_second == stack.names_first


@pytest.mark.parametrize("client", CLIENTS)
def test_client_finishes_cleanly(stack, client):
    assert stack.exit_codes[client] == 0, stack.results[client]


@pytest.mark.parametrize("client", CLIENTS)
def test_happy_path_streams_twelve_words_half_a_second_apart(stack, client):
    case = stack.results[client]["HappyPath"]
    assert case.words == WORDS
    gaps = [b - a for a, b in zip(case.arrivals, case.arrivals[1:], strict=False)]
    assert min(gaps) > 0.25, gaps
    assert 0.35 < sum(gaps) / len(gaps) < 0.8, gaps
    assert "Error Code" not in case.text


@pytest.mark.parametrize("client", CLIENTS)
def test_midstream_error_ends_with_unhandled_after_four_words(stack, client):
    case = stack.results[client]["MidstreamError"]
    assert case.words == WORDS[:4]
    assert "Error Code: Unhandled" in case.lines
    assert "Details: This is a custom error mid-stream!" in case.lines


@pytest.mark.parametrize("client", CLIENTS)
def test_timeout_cuts_the_stream_after_its_first_words(stack, client):
    case = stack.results[client]["Timeout"]
    assert 1 <= len(case.words) <= 3
    assert case.words == WORDS[: len(case.words)]
    assert "Error Code: Sandbox.Timedout" in case.lines
    assert "Details: Task timed out after 1.00 seconds" in case.lines


@pytest.mark.parametrize("client", CLIENTS)
def test_every_case_shows_its_decoded_log_tail(stack, client):
    for name, case in stack.results[client].items():
        text = case.text
        assert "Logs: START RequestId: " in text, name
        assert "\nEND RequestId: " in text, name
        assert "\nREPORT RequestId: " in text, name
    timeout_log = stack.results[client]["Timeout"].text
    assert "Status: timeout" in timeout_log
