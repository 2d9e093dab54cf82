"""Which command runs a function, and the environment every Lambda process gets.

The environment is built from scratch, not inherited: a function sees its own
configuration and variables, never the server's or another function's. Only `PATH` is
carried over so a `bootstrap` script can find its interpreter.
"""

from __future__ import annotations

import os
import secrets
import sys
import time
from collections.abc import Mapping
from pathlib import Path

from sluice.engine._invocation import FunctionSpec

PYTHON_RUNTIMES = frozenset(f"python3.{minor}" for minor in range(9, 15))
CUSTOM_RUNTIMES = frozenset({"provided", "provided.al2", "provided.al2023"})
SUPPORTED_RUNTIMES = PYTHON_RUNTIMES | CUSTOM_RUNTIMES

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
    """A custom runtime's code has no executable `bootstrap`."""


def command(spec: FunctionSpec) -> list[str]:
    """The argv that starts the function's runtime.

    Raises:
        MissingBootstrap: a `provided` function without an executable bootstrap file.
    """
    if spec.runtime in PYTHON_RUNTIMES:
        return [sys.executable, "-m", "sluice_runtime"]
    bootstrap = Path(spec.code_dir, "bootstrap")
    if not (bootstrap.is_file() and os.access(bootstrap, os.X_OK)):
        raise MissingBootstrap(f"Couldn't find valid bootstrap(s): [{bootstrap}]")
    return [str(bootstrap)]


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
    return env


def _runtime_client_path() -> str:
    """The folder holding `sluice_runtime`, so the interpreter finds our runtime client."""
    import sluice_runtime

    return str(Path(sluice_runtime.__file__).resolve().parent.parent)


def python_version_warning(spec: FunctionSpec, known: Mapping[str, bool]) -> str | None:
    """A one-line warning when the function asks for another Python than ours."""
    ours = f"python{sys.version_info.major}.{sys.version_info.minor}"
    if spec.runtime not in PYTHON_RUNTIMES or spec.runtime == ours or known.get(spec.runtime):
        return None
    return f"function {spec.name} asks for {spec.runtime}; running it on {ours}"
