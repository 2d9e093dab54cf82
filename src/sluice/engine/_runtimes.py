"""Which command runs a function, and the environment every Lambda process gets.

The environment is built from scratch, not inherited: a function sees its own
configuration and variables, never the server's or another function's. Only `PATH` is
carried over so a `bootstrap` script can find its interpreter.
"""

from __future__ import annotations

import os
import re
import secrets
import shutil
import subprocess
import sys
import time
from functools import cache
from importlib import resources
from pathlib import Path

from sluice.engine._invocation import FunctionSpec

PYTHON_RUNTIMES = frozenset(f"python3.{minor}" for minor in range(9, 15))
NODE_RUNTIMES = frozenset(f"nodejs{major}.x" for major in (18, 20, 22, 24, 26))
CUSTOM_RUNTIMES = frozenset({"provided", "provided.al2", "provided.al2023"})
SUPPORTED_RUNTIMES = PYTHON_RUNTIMES | NODE_RUNTIMES | CUSTOM_RUNTIMES

# Keys Lambda sets itself; CreateFunction refuses them in Environment.Variables.
RESERVED_VARIABLES = frozenset(
    {
        "_HANDLER",
        "_X_AMZN_TRACE_ID",
        "AWS_DEFAULT_REGION",
        "AWS_REGION",
        "AWS_EXECUTION_ENV",
        "AWS_LAMBDA_FUNCTION_NAME",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
        "AWS_LAMBDA_FUNCTION_VERSION",
        "AWS_LAMBDA_INITIALIZATION_TYPE",
        "AWS_LAMBDA_LOG_GROUP_NAME",
        "AWS_LAMBDA_LOG_STREAM_NAME",
        "AWS_ACCESS_KEY",
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "AWS_LAMBDA_RUNTIME_API",
        "LAMBDA_TASK_ROOT",
        "LAMBDA_RUNTIME_DIR",
    }
)


class MissingBootstrap(Exception):
    """There is nothing to start: no executable `bootstrap` or wrapper, or no `node`."""


def command(spec: FunctionSpec) -> list[str]:
    """The argv that starts the function's runtime.

    Raises:
        MissingBootstrap: a `provided` function without an executable bootstrap file, a
            wrapper script that is not an executable file of the function's code, or a
            Node.js function on a machine without `node`.
    """
    if spec.runtime in PYTHON_RUNTIMES:
        return _wrapped(spec, [sys.executable, "-m", "sluice_runtime"])
    if spec.runtime in NODE_RUNTIMES:
        return _wrapped(spec, _node_command(spec.memory_size))
    bootstrap = Path(spec.code_dir, "bootstrap")
    if not (bootstrap.is_file() and os.access(bootstrap, os.X_OK)):
        raise MissingBootstrap(f"Couldn't find valid bootstrap(s): [{bootstrap}]")
    return [str(bootstrap)]


def _wrapped(spec: FunctionSpec, argv: list[str]) -> list[str]:
    """Honour `AWS_LAMBDA_EXEC_WRAPPER` as managed runtimes do: the wrapper script gets the
    runtime's command line as its arguments (docs.aws.amazon.com/lambda/latest/dg/
    runtimes-modify.html). On AWS it lives under `/var/task`, the function's code, which is
    `code_dir` here; a path anywhere else (a layer's `/opt`, the host) is refused.
    """
    value = dict(spec.environment).get("AWS_LAMBDA_EXEC_WRAPPER")
    if not value:
        return argv
    code = Path(spec.code_dir).resolve()
    relative = value.removeprefix("/var/task/") if value.startswith("/var/task/") else None
    wrapper = (code / relative).resolve() if relative else None
    if (
        wrapper is None
        or not wrapper.is_relative_to(code)
        or not (wrapper.is_file() and os.access(wrapper, os.X_OK))
    ):
        raise MissingBootstrap(
            f"AWS_LAMBDA_EXEC_WRAPPER {value!r} is not an executable file under /var/task"
        )
    return [str(wrapper), *argv]


def _node_command(memory_size: int) -> list[str]:
    """The command line of AWS's Node.js `bootstrap` script, with our bootstrap.js.

    AWS sizes V8's heap from the function's memory (new space = memory / 25, old space =
    the rest), so a function that outgrows its MemorySize fails here as it would there.
    """
    node = shutil.which("node")
    if node is None:
        raise MissingBootstrap("Couldn't find `node` on the PATH to run a Node.js function")
    new_space = memory_size // 25
    return [
        node,
        "--expose-gc",
        "--max-http-header-size=81920",
        f"--max-semi-space-size={new_space // 2}",
        f"--max-old-space-size={memory_size - new_space}",
        str(node_bootstrap()),
    ]


def node_bootstrap() -> Path:
    """The Node.js runtime client shipped inside the package."""
    return Path(str(resources.files("sluice.runtimes").joinpath("node", "bootstrap.js")))


def log_stream_name(version: str) -> str:
    """`YYYY/MM/DD/[$LATEST]<32 hex>`, the shape of a Lambda log stream name."""
    return f"{time.strftime('%Y/%m/%d', time.gmtime())}/[{version}]{secrets.token_hex(16)}"


def environment(
    spec: FunctionSpec, runtime_api: str, region: str, stream_name: str
) -> dict[str, str]:
    """The variables of one execution environment; the function's own come first, then ours."""
    env = dict(spec.environment)
    env.update(
        {
            "PATH": os.environ.get("PATH", "/usr/local/bin:/usr/bin:/bin"),
            "LANG": "en_US.UTF-8",
            "TZ": ":UTC",
            "AWS_LAMBDA_RUNTIME_API": runtime_api,
            "_HANDLER": spec.handler,
            "LAMBDA_TASK_ROOT": spec.code_dir,
            "AWS_LAMBDA_FUNCTION_NAME": spec.name,
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(spec.memory_size),
            "AWS_LAMBDA_FUNCTION_VERSION": spec.version,
            "AWS_LAMBDA_INITIALIZATION_TYPE": "on-demand",
            "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{spec.name}",
            "AWS_LAMBDA_LOG_STREAM_NAME": stream_name,
            "AWS_REGION": region,
            "AWS_DEFAULT_REGION": region,
        }
    )
    if spec.runtime in PYTHON_RUNTIMES:
        env["AWS_EXECUTION_ENV"] = f"AWS_Lambda_{spec.runtime}"
        env["PYTHONUNBUFFERED"] = "1"
        env["PYTHONPATH"] = _runtime_client_path()
    elif spec.runtime in NODE_RUNTIMES:
        env["AWS_EXECUTION_ENV"] = f"AWS_Lambda_{spec.runtime}"
        env.setdefault("NODE_PATH", spec.code_dir)
    return env


def _runtime_client_path() -> str:
    """The folder holding `sluice_runtime`, so the interpreter finds our runtime client."""
    import sluice_runtime

    return str(Path(sluice_runtime.__file__).resolve().parent.parent)


def version_warning(spec: FunctionSpec) -> str | None:
    """A one-line warning when the function asks for another Python or Node.js than ours."""
    if spec.runtime in PYTHON_RUNTIMES:
        ours = f"python{sys.version_info.major}.{sys.version_info.minor}"
    elif spec.runtime in NODE_RUNTIMES:
        ours = _local_node()
    else:
        return None
    if ours is None or ours == spec.runtime:
        return None
    return f"function {spec.name} asks for {spec.runtime}; running it on {ours}"


@cache
def _local_node() -> str | None:
    """The local `node`, spelled like a Lambda runtime (`nodejs20.x`); None without node."""
    node = shutil.which("node")
    if node is None:
        return None
    try:
        version = subprocess.run(
            [node, "--version"], capture_output=True, text=True, timeout=10, check=True
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    match = re.match(r"v(\d+)\.", version)
    return f"nodejs{match.group(1)}.x" if match else None
