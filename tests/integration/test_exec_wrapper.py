"""AWS_LAMBDA_EXEC_WRAPPER: managed runtimes start the wrapper with their own command line,
which is how the example's Python functions run sluice_runtime on AWS Lambda too."""

from __future__ import annotations

import json

import pytest

from tests.conftest import create_function, make_zip, unique

HANDLER = """
import os
import sys

def handler(event, context):
    return {"marker": os.environ.get("WRAPPED_BY"), "argv0": sys.argv[0]}
"""

WRAPPER = """#!/bin/sh
# Receives the runtime's command line ("$1" is the interpreter) and may change it.
export WRAPPED_BY="wrapper saw $# arguments"
exec "$@"
"""


def test_wrapper_gets_the_runtime_command_and_runs_it(lambda_client):
    name = unique("wrapped")
    lambda_client.create_function(
        FunctionName=name,
        Runtime="python3.12",
        Role="arn:aws:iam::000000000000:role/lambda-role",
        Handler="app.handler",
        Code={"ZipFile": make_zip({"app.py": HANDLER, "bin/wrap": WRAPPER}, ("bin/wrap",))},
        Environment={"Variables": {"AWS_LAMBDA_EXEC_WRAPPER": "/var/task/bin/wrap"}},
    )
    result = lambda_client.invoke(FunctionName=name)
    assert "FunctionError" not in result
    body = json.loads(result["Payload"].read())
    assert body["marker"] == "wrapper saw 3 arguments"  # python -m sluice_runtime


@pytest.mark.parametrize(
    ("wrapper", "files"),
    [
        ("/var/task/missing", {}),
        ("/var/task/not-executable", {"not-executable": WRAPPER}),
        ("/var/task/../../../../bin/sh", {}),
        ("/bin/sh", {}),
        ("/opt/layer/wrapper", {}),
    ],
)
def test_a_wrapper_outside_the_code_or_not_executable_fails_init(lambda_client, wrapper, files):
    name = unique("badwrap")
    create_function(
        lambda_client,
        name,
        {"app.py": HANDLER, **files},
        Environment={"Variables": {"AWS_LAMBDA_EXEC_WRAPPER": wrapper}},
    )
    result = lambda_client.invoke(FunctionName=name)
    assert result["FunctionError"] == "Unhandled"
    error = json.loads(result["Payload"].read())
    assert error["errorType"] == "Runtime.InvalidEntrypoint"
    assert wrapper in error["errorMessage"]


def test_a_custom_runtime_without_bootstrap_fails_init(lambda_client):
    name = unique("noboot")
    create_function(lambda_client, name, {"app.sh": "echo"}, Runtime="provided.al2023")
    result = lambda_client.invoke(FunctionName=name)
    assert result["FunctionError"] == "Unhandled"
    error = json.loads(result["Payload"].read())
    assert error["errorType"] == "Runtime.InvalidEntrypoint"
    assert "Couldn't find valid bootstrap(s)" in error["errorMessage"]


def test_a_node_function_runs_through_its_wrapper(lambda_client):
    name = unique("nodewrap")
    files = {"index.js": "exports.handler = async () => process.env.WRAPPED_BY;", "wrap": WRAPPER}
    lambda_client.create_function(
        FunctionName=name,
        Runtime="nodejs20.x",
        Role="arn:aws:iam::000000000000:role/lambda-role",
        Handler="index.handler",
        Code={"ZipFile": make_zip(files, ("wrap",))},
        Environment={"Variables": {"AWS_LAMBDA_EXEC_WRAPPER": "/var/task/wrap"}},
    )
    result = lambda_client.invoke(FunctionName=name)
    assert "FunctionError" not in result
    # node, its four V8 flags and bootstrap.js
    assert json.loads(result["Payload"].read()) == "wrapper saw 6 arguments"
