"""Safety defaults: where `sluice serve` listens, and what a function process can see."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tests.conftest import client_for, create_function, serve_command, start_server, unique

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="reads /proc/net/tcp")

WARNING = "sluice: warning: listening on {host}: sluice has no authentication"

# What Lambda sets (engine/_runtimes.py); the runtime client adds the trace id per call.
LAMBDA_VARIABLES = {
    "PATH",
    "LANG",
    "TZ",
    "AWS_LAMBDA_RUNTIME_API",
    "_HANDLER",
    "LAMBDA_TASK_ROOT",
    "AWS_LAMBDA_FUNCTION_NAME",
    "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
    "AWS_LAMBDA_FUNCTION_VERSION",
    "AWS_LAMBDA_INITIALIZATION_TYPE",
    "AWS_LAMBDA_LOG_GROUP_NAME",
    "AWS_LAMBDA_LOG_STREAM_NAME",
    "AWS_REGION",
    "AWS_DEFAULT_REGION",
    "AWS_EXECUTION_ENV",
    "_X_AMZN_TRACE_ID",
}
PYTHON_VARIABLES = {"PYTHONUNBUFFERED", "PYTHONPATH"}
NODE_VARIABLES = {"NODE_PATH"}


def _listening(port: int) -> list[str]:
    """The local addresses with a socket listening on `port` (from /proc/net/tcp{,6})."""
    found = []
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with open(table) as lines:
            next(lines)
            for line in lines:
                local, state = line.split()[1], line.split()[3]
                address, hex_port = local.rsplit(":", 1)
                if int(hex_port, 16) == port and state == "0A":
                    found.append(address)
    return found


def _refused(host: str, port: int) -> bool:
    try:
        socket.create_connection((host, port), timeout=2).close()
    except ConnectionRefusedError:
        return True
    return False


def _other_addresses() -> list[str]:
    """This machine's IPv4 addresses other than 127.0.0.1: another loopback one always,
    and the address outbound traffic would use, if there is a route."""
    addresses = ["127.0.0.2"]
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(("192.0.2.1", 9))  # TEST-NET-1: no packet is sent
            addresses.append(probe.getsockname()[0])
        except OSError:
            pass
    return [address for address in addresses if address != "127.0.0.1"]


def test_serve_listens_on_loopback_only_by_default(tmp_path):
    log = tmp_path / "stderr.txt"
    with log.open("w") as stderr:
        server = start_server(tmp_path / "data", stderr=stderr)
    try:
        assert _listening(server.port) == ["0100007F"]  # 127.0.0.1, nothing else
        for address in _other_addresses():
            assert _refused(address, server.port), address
        assert client_for(server.url).list_functions()["Functions"] == []
    finally:
        assert server.stop() == 0
    assert "warning" not in log.read_text()


def _serve(data_dir: Path, *args: str, env: dict[str, str] | None = None):
    """`sluice serve` with its own arguments and environment; (process, URL line)."""
    process = subprocess.Popen(
        serve_command(data_dir, *args),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    assert process.stdout is not None
    return process, process.stdout.readline().strip()


def _stop(process: subprocess.Popen[str]) -> tuple[int, str]:
    process.terminate()
    _, stderr = process.communicate(timeout=15)
    return process.returncode, stderr


def test_another_address_is_warned_about(tmp_path):
    process, url = _serve(tmp_path / "data", "--host", "0.0.0.0")
    try:
        port = int(url.rsplit(":", 1)[1])
        assert url == f"http://0.0.0.0:{port}"
        assert _listening(port) == ["00000000"]
        assert not _refused("127.0.0.2", port)
    finally:
        status, stderr = _stop(process)
    assert status == 0
    assert stderr.startswith(WARNING.format(host="0.0.0.0") + "; anyone who can reach it")


def test_loopback_addresses_are_not_warned_about(tmp_path):
    for host in ("localhost", "127.0.0.1"):
        process, url = _serve(tmp_path / "data", "--host", host)
        status, stderr = _stop(process)
        assert url.startswith(f"http://{host}:") and status == 0
        assert "warning" not in stderr, host


ENV_PY = "import os\n\ndef handler(event, context):\n    return dict(os.environ)\n"
ENV_JS = "exports.handler = async () => ({ ...process.env });\n"


def test_a_function_sees_only_its_own_variables_and_lambdas(tmp_path):
    """The server runs with credentials and a marker in its environment, and two
    functions with variables of their own; each function process sees only Lambda's
    variables and its own configuration."""
    server_env = {
        **os.environ,
        "SLUICE_TEST_SECRET": "server-only",
        "AWS_ACCESS_KEY_ID": "AKIDSERVER",
        "AWS_SECRET_ACCESS_KEY": "server-secret",
        "AWS_SESSION_TOKEN": "server-token",
        "AWS_PROFILE": "server-profile",
        "PYTHONPATH": "/server/only",
        "NODE_OPTIONS": "--no-warnings",
        "HOME": "/server/home",
    }
    process, url = _serve(tmp_path / "data", env=server_env)
    try:
        client = client_for(url)
        own = {"MINE": "mine", "SHARED_NAME": "python"}
        other = {"OTHER_SECRET": "not-for-python", "SHARED_NAME": "node"}
        python = unique("env-py")
        create_function(client, python, {"app.py": ENV_PY}, Environment={"Variables": own})
        node = unique("env-js")
        create_function(
            client,
            node,
            {"app.js": ENV_JS},
            Runtime="nodejs20.x",
            Environment={"Variables": other},
        )
        seen_py = json.load(client.invoke(FunctionName=python)["Payload"])
        seen_js = json.load(client.invoke(FunctionName=node)["Payload"])
    finally:
        status, _ = _stop(process)
    assert status == 0
    # Python's own locale coercion (PEP 538) where en_US.UTF-8 is not installed.
    assert seen_py.pop("LC_CTYPE", "C.UTF-8") == "C.UTF-8"
    for seen, name, variables, runtime in (
        (seen_py, python, own, PYTHON_VARIABLES),
        (seen_js, node, other, NODE_VARIABLES),
    ):
        assert set(seen) <= LAMBDA_VARIABLES | runtime | set(variables), name
        assert {key: seen[key] for key in variables} == variables
        assert seen["AWS_LAMBDA_FUNCTION_NAME"] == name
        assert "server" not in json.dumps(seen), name
    assert seen_py["PYTHONPATH"] != "/server/only"
    assert "OTHER_SECRET" not in seen_py and "MINE" not in seen_js


def test_function_processes_hold_no_descriptor_of_the_server(lambda_client, server):
    """Only stdin (/dev/null) and the log pipe are inherited: no listening socket, no
    database, no data dir lock, which would outlive a killed server in a leftover."""
    name = unique("fds")
    source = textwrap.dedent(
        """\
        import os

        def handler(event, context):
            return {fd: os.readlink(f"/proc/self/fd/{fd}") for fd in (0, 1, 2)}, sorted(
                int(fd) for fd in os.listdir("/proc/self/fd")
            ), os.getpid()
        """
    )
    create_function(lambda_client, name, {"app.py": source})
    links, _, pid = json.load(lambda_client.invoke(FunctionName=name)["Payload"])
    assert links["0"] == "/dev/null" and links["1"] == links["2"]
    for fd in os.listdir(f"/proc/{pid}/fd"):
        target = os.readlink(f"/proc/{pid}/fd/{fd}")
        assert "sluice.db" not in target and "sluice.lock" not in target, target
    server_files = {
        os.readlink(f"/proc/{server.process.pid}/fd/{fd}")
        for fd in os.listdir(f"/proc/{server.process.pid}/fd")
    }
    inherited = {os.readlink(f"/proc/{pid}/fd/{fd}") for fd in os.listdir(f"/proc/{pid}/fd")}
    assert inherited & server_files <= {links["1"], "/dev/null"}
