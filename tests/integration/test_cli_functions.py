"""`sluice invoke`, `list` and `logs` as a user runs them: a real CLI process against a real
server, with the endpoint given only through AWS_ENDPOINT_URL or --endpoint-url."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time

import pytest

from tests.conftest import client_for, create_function, run_sluice, start_server, unique

STREAMER = """
import json
import time
from sluice_runtime import streamify_response

@streamify_response
def handler(event, stream, context):
    print("handler saw", json.dumps(event))
    for word in event.get("words", ["one ", "two ", "three"]):
        stream.write(word)
        time.sleep(0.3)
    if event.get("fail"):
        raise ValueError("failed after the words")
    stream.end()
"""


@pytest.fixture(scope="module")
def streamer(lambda_client) -> str:
    name = f"{unique('clistack')}-StreamerFunction-Ab12Cd34Ef56"
    create_function(lambda_client, name, {"app.py": STREAMER})
    return name


def test_invoke_prints_the_chunks_on_stdout_and_the_end_on_stderr(server, streamer):
    result = run_sluice("invoke", streamer, "--log-type", "Tail", url=server.url)
    assert result.returncode == 0, result.stderr
    assert result.stdout == "one two three"
    assert "ErrorCode" not in result.stderr
    assert "LogResult:" in result.stderr
    assert "START RequestId:" in result.stderr and "REPORT RequestId:" in result.stderr
    assert "handler saw {}" in result.stderr


def test_invoke_finds_a_function_by_its_logical_id_and_exits_1_on_a_stream_error(server, streamer):
    payload = json.dumps({"words": ["a", "b"], "fail": True})
    result = run_sluice("invoke", "StreamerFunction", "--payload", payload, url=server.url)
    assert result.returncode == 1
    assert result.stdout == "ab"
    assert f"invoking {streamer}" in result.stderr
    assert "ErrorCode: Unhandled" in result.stderr
    assert "ErrorDetails: failed after the words" in result.stderr


def test_invoke_json_prints_one_event_per_line_as_it_arrives(server, streamer, tmp_path):
    event = tmp_path / "event.json"
    event.write_text(json.dumps({"words": ["x", "y", "z"]}))
    arrivals, lines = [], []
    with subprocess.Popen(
        [sys.executable, "-m", "sluice", "invoke", streamer, "--json", "--payload", f"@{event}"],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "AWS_ENDPOINT_URL": server.url},
    ) as process:
        assert process.stdout is not None
        for line in process.stdout:
            arrivals.append(time.monotonic())
            lines.append(json.loads(line))
    assert process.returncode == 0
    assert lines[0]["Response"]["StatusCode"] == 200
    assert [line["PayloadChunk"]["Payload"] for line in lines[1:4]] == ["x", "y", "z"]
    assert lines[4] == {"InvokeComplete": {}}
    # The words are written 0.3 s apart; they must not arrive together.
    assert arrivals[3] - arrivals[1] > 0.3


def test_invoke_names_ambiguous_and_missing_functions(server, lambda_client):
    stack = unique("twins")
    for suffix in ("AAAAAAAAAAAA", "BBBBBBBBBBBB"):
        create_function(lambda_client, f"{stack}-Twin-{suffix}", {"app.py": STREAMER})
    ambiguous = run_sluice("invoke", f"{stack}-Twin", url=server.url)
    assert ambiguous.returncode == 1
    assert "could mean any of" in ambiguous.stderr and "AAAAAAAAAAAA" in ambiguous.stderr
    missing = run_sluice("invoke", "no-such-function-anywhere", url=server.url)
    assert missing.returncode == 1
    assert "no function named no-such-function-anywhere" in missing.stderr


def test_invoke_reports_aws_errors_in_one_line(server, streamer):
    result = run_sluice("invoke", streamer, "--payload", "not json", url=server.url)
    assert result.returncode == 1
    assert result.stderr.startswith("sluice: InvalidRequestContentException: ")
    assert "Traceback" not in result.stderr


def test_list_shows_every_function(server, streamer):
    result = run_sluice("list", url=server.url)
    assert result.returncode == 0, result.stderr
    header, *rows = result.stdout.splitlines()
    assert header.split() == ["NAME", "RUNTIME", "MEMORY", "TIMEOUT", "MODIFIED"]
    row = next(row for row in rows if row.startswith(streamer))
    assert row.split()[1:5] == ["python3.12", "128", "MB", "10"]


def test_logs_prints_the_function_log_and_follows_new_invocations(server, lambda_client):
    name = unique("logged")
    create_function(lambda_client, name, {"app.py": STREAMER})
    lambda_client.invoke(FunctionName=name, Payload=b'{"words": ["first"]}')
    before = run_sluice("logs", name, url=server.url)
    assert before.returncode == 0, before.stderr
    assert 'handler saw {"words": ["first"]}' in before.stdout
    assert before.stdout.count("REPORT RequestId:") == 1

    with subprocess.Popen(
        [sys.executable, "-m", "sluice", "logs", name, "--follow", "--endpoint-url", server.url],
        stdout=subprocess.PIPE,
        text=True,
    ) as follower:
        try:
            assert follower.stdout is not None
            assert "START RequestId:" in follower.stdout.readline()
            lambda_client.invoke(FunctionName=name, Payload=b'{"words": ["second"]}')
            seen = ""
            while "second" not in seen:
                seen += follower.stdout.readline()
            assert follower.poll() is None
        finally:
            follower.terminate()


def test_logs_of_an_unknown_function(server):
    result = run_sluice("logs", "never-created", url=server.url)
    assert result.returncode == 1
    assert "never-created" in result.stderr


def test_client_commands_say_how_to_start_a_server_when_none_answers():
    result = run_sluice("list", url="http://127.0.0.1:9")
    assert result.returncode == 1
    assert "no Lambda endpoint answers at http://127.0.0.1:9" in result.stderr
    assert "sluice serve" in result.stderr


def _close_wait_sockets(port: int) -> int:
    """Server-side connections on `port` whose client has gone (TCP state CLOSE_WAIT)."""
    count = 0
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with open(table) as lines:
            next(lines)
            for line in lines:
                fields = line.split()
                if int(fields[1].rsplit(":", 1)[1], 16) == port and fields[3] == "08":
                    count += 1
    return count


def test_a_follower_that_hangs_up_is_let_go_at_once(tmp_path):
    server = start_server(tmp_path / "data")
    try:
        client = client_for(server.url)
        name = unique("quiet")
        create_function(client, name, {"app.py": STREAMER})
        port = server.port
        for _ in range(3):
            with socket.create_connection(("127.0.0.1", port)) as sock:
                sock.sendall(f"GET /_sluice/logs/{name}?follow=true HTTP/1.1\r\n".encode())
                sock.sendall(b"Host: x\r\n\r\n")
                assert sock.recv(4096).startswith(b"HTTP/1.1 200 ")
        deadline = time.monotonic() + 5
        while _close_wait_sockets(port) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert _close_wait_sockets(port) == 0
    finally:
        assert server.stop() == 0


def test_following_ends_with_one_line_when_the_server_stops(tmp_path):
    server = start_server(tmp_path / "data")
    try:
        client = client_for(server.url)
        name = unique("stopping")
        create_function(client, name, {"app.py": STREAMER})
        client.invoke(FunctionName=name, Payload=b'{"words": ["w"]}')
        with subprocess.Popen(
            [sys.executable, "-m", "sluice", "logs", name, "-f", "--endpoint-url", server.url],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        ) as follower:
            assert follower.stdout is not None and follower.stderr is not None
            assert "START RequestId:" in follower.stdout.readline()
            server.stop()
            assert follower.wait(15) == 1
            error = follower.stderr.read()
        assert error == f"sluice: the server at {server.url} stopped sending the log\n"
    finally:
        server.stop()
