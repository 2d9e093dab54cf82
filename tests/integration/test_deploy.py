"""`sluice.deploy` against a real `sluice serve`: templates in tmp_path, functions invoked."""

from __future__ import annotations

import json
import re
import textwrap

import pytest
from botocore.exceptions import ClientError

from sluice.deploy import delete, deploy, stack_functions
from sluice.errors import DeployError, TemplateError
from tests.conftest import REGION, client_for, start_server, unique

ACCOUNT = "000000000000"
SUFFIX = r"[A-Za-z0-9]{12}"

TEMPLATE = """\
AWSTemplateFormatVersion: 2010-09-09
Transform: AWS::Serverless-2016-10-31
Parameters:
  Greeting:
    Type: String
    Default: hello
    AllowedValues: [hello, hi]
Globals:
  Function:
    Runtime: python3.12
    Timeout: 10
    MemorySize: 256
    Environment:
      Variables:
        GREETING: !Ref Greeting
        STACK: !Ref AWS::StackName
Resources:
  HappyPathFunction:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: src/
      Handler: app.handler
      Description: !Sub "Streams in ${AWS::Region}"
      FunctionUrlConfig:
        AuthType: NONE
        InvokeMode: RESPONSE_STREAM
      Tags:
        team: blue
  TimeoutFunction:
    Type: AWS::Serverless::Function
    Properties:
      Handler: root.handler
      Timeout: 1
      Environment:
        Variables:
          OTHER: !Ref HappyPathFunction
Outputs:
  HappyPathFunction:
    Description: HappyPathFunction ARN
    Value: !GetAtt HappyPathFunction.Arn
  HappyPathUrl:
    Value: !GetAtt HappyPathFunctionUrl.FunctionUrl
  HappyPathRole:
    Value: !GetAtt HappyPathFunctionRole.Arn
"""

APP = """\
import os

def handler(event, context):
    return {"version": VERSION, "greeting": os.environ["GREETING"],
            "stack": os.environ["STACK"], "other": os.environ.get("OTHER")}
"""


@pytest.fixture
def new_stack(lambda_client):
    """Unique stack names; every stack is deleted afterwards, the server being shared."""
    names = []

    def make(prefix):
        names.append(unique(prefix))
        return names[-1]

    yield make
    for name in names:
        delete(lambda_client, name)


def _write(folder, template=TEMPLATE, version=1, root_version=1):
    (folder / "src").mkdir(exist_ok=True)
    (folder / "src" / "app.py").write_text(f"VERSION = {version}\n" + APP)
    (folder / "root.py").write_text(f"VERSION = {root_version}\n" + APP)
    path = folder / "template.yaml"
    path.write_text(template)
    return path


def _invoke(client, name):
    response = client.invoke(FunctionName=name, Payload=b"{}")
    assert "FunctionError" not in response, response["Payload"].read()
    return json.load(response["Payload"])


def _gone(client, name):
    with pytest.raises(ClientError) as excinfo:
        client.get_function(FunctionName=name)
    return excinfo.value.response["Error"]["Code"] == "ResourceNotFoundException"


def test_deploy_creates_named_tagged_functions(lambda_client, tmp_path, new_stack):
    stack = new_stack("deploy")
    result = deploy(lambda_client, _write(tmp_path), stack)
    assert result.stack_name == stack
    happy, timeout = result.functions
    assert (happy.logical_id, happy.action) == ("HappyPathFunction", "created")
    assert (timeout.logical_id, timeout.action) == ("TimeoutFunction", "created")
    assert re.fullmatch(rf"{stack}-HappyPathFunction-{SUFFIX}", happy.physical_name)
    assert re.fullmatch(rf"{stack}-TimeoutFunction-{SUFFIX}", timeout.physical_name)

    got = lambda_client.get_function(FunctionName=happy.physical_name)
    tags = got["Tags"]
    assert tags["aws:cloudformation:stack-name"] == stack
    assert tags["aws:cloudformation:logical-id"] == "HappyPathFunction"
    assert re.fullmatch(
        rf"arn:aws:cloudformation:{REGION}:{ACCOUNT}:stack/{stack}/[0-9a-f-]{{36}}",
        tags["aws:cloudformation:stack-id"],
    )
    assert (tags["lambda:createdBy"], tags["team"]) == ("SAM", "blue")
    config = got["Configuration"]
    assert (config["Runtime"], config["Handler"]) == ("python3.12", "app.handler")
    assert (config["Timeout"], config["MemorySize"]) == (10, 256)  # from Globals
    assert config["Description"] == f"Streams in {REGION}"
    assert re.fullmatch(
        rf"arn:aws:iam::{ACCOUNT}:role/{stack}-HappyPathFunctionRole-{SUFFIX}", config["Role"]
    )
    timeout_config = lambda_client.get_function_configuration(FunctionName=timeout.physical_name)
    assert timeout_config["Timeout"] == 1
    assert timeout_config["Environment"]["Variables"] == {
        "GREETING": "hello",
        "STACK": stack,
        "OTHER": happy.physical_name,
    }

    assert _invoke(lambda_client, happy.physical_name) == {
        "version": 1,
        "greeting": "hello",
        "stack": stack,
        "other": None,
    }
    # No CodeUri: the template's folder is the code, as `sam deploy` packages it.
    assert _invoke(lambda_client, timeout.physical_name)["other"] == happy.physical_name

    assert [(s.logical_id, s.resource_type) for s in result.skipped] == [
        ("HappyPathFunctionUrlPublicPermissions", "AWS::Lambda::Permission"),
        ("HappyPathFunctionURLInvokeAllowPublicAccess", "AWS::Lambda::Permission"),
        ("HappyPathFunctionRole", "AWS::IAM::Role"),
        ("TimeoutFunctionRole", "AWS::IAM::Role"),
    ]
    assert all(s.reason.startswith("not run by sluice") for s in result.skipped)
    arn, url, role = result.outputs
    assert (arn.key, arn.description) == ("HappyPathFunction", "HappyPathFunction ARN")
    assert arn.value == got["Configuration"]["FunctionArn"]
    served = lambda_client.get_function_url_config(FunctionName=happy.physical_name)
    assert url.value == served["FunctionUrl"]
    assert served["InvokeMode"] == "RESPONSE_STREAM"
    assert [(u.logical_id, u.url, u.action) for u in result.urls] == [
        ("HappyPathFunctionUrl", url.value, "created")
    ]
    assert role.value == config["Role"]
    assert stack_functions(lambda_client, stack) == {
        "HappyPathFunction": happy.physical_name,
        "TimeoutFunction": timeout.physical_name,
    }


def test_redeploy_updates_in_place_and_deletes_removed(lambda_client, tmp_path, new_stack):
    stack = new_stack("redeploy")
    first = deploy(lambda_client, _write(tmp_path), stack)
    happy, timeout = (change.physical_name for change in first.functions)
    stack_id = lambda_client.list_tags(
        Resource=f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{happy}"
    )["Tags"]["aws:cloudformation:stack-id"]
    assert _invoke(lambda_client, happy)["version"] == 1

    changed = TEMPLATE.replace("  TimeoutFunction:", "  NewFunction:").replace(
        "      Tags:\n        team: blue\n", "      MemorySize: 512\n"
    )
    second = deploy(lambda_client, _write(tmp_path, changed, version=2), stack, {"Greeting": "hi"})
    (updated, created, deleted) = second.functions
    assert (updated.logical_id, updated.physical_name, updated.action) == (
        "HappyPathFunction",
        happy,
        "updated",
    )
    assert (created.logical_id, created.action) == ("NewFunction", "created")
    assert (deleted.logical_id, deleted.physical_name, deleted.action) == (
        "TimeoutFunction",
        timeout,
        "deleted",
    )
    assert _invoke(lambda_client, happy) == {
        "version": 2,
        "greeting": "hi",
        "stack": stack,
        "other": None,
    }
    got = lambda_client.get_function(FunctionName=happy)
    assert got["Configuration"]["MemorySize"] == 512
    assert "team" not in got["Tags"]  # tags follow the template
    assert got["Tags"]["aws:cloudformation:stack-id"] == stack_id  # the same stack
    assert _gone(lambda_client, timeout)
    assert stack_functions(lambda_client, stack) == {
        "HappyPathFunction": happy,
        "NewFunction": created.physical_name,
    }


def test_delete_removes_only_that_stack(lambda_client, tmp_path, new_stack):
    mine, other = new_stack("delete-mine"), new_stack("delete-other")
    template = _write(tmp_path)
    created = deploy(lambda_client, template, mine)
    kept = deploy(lambda_client, template, other)
    deleted = delete(lambda_client, mine)
    assert sorted(deleted) == sorted(change.physical_name for change in created.functions)
    assert all(_gone(lambda_client, name) for name in deleted)
    assert stack_functions(lambda_client, mine) == {}
    assert delete(lambda_client, mine) == []
    for change in kept.functions:
        lambda_client.get_function(FunctionName=change.physical_name)
    assert sorted(delete(lambda_client, other)) == sorted(c.physical_name for c in kept.functions)


CLOUDFORMATION = {
    "AWSTemplateFormatVersion": "2010-09-09",
    "Parameters": {"Suffix": {"Type": "String"}},
    "Conditions": {"Long": {"Fn::Equals": [{"Ref": "Suffix"}, "long"]}},
    "Resources": {
        "Inline": {
            "Type": "AWS::Lambda::Function",
            "Properties": {
                "FunctionName": {"Fn::Sub": "${AWS::StackName}-inline-${Suffix}"},
                "Runtime": "python3.12",
                "Handler": "index.handler",
                "Role": {"Fn::Sub": "arn:${AWS::Partition}:iam::${AWS::AccountId}:role/mine"},
                "Timeout": {"Fn::If": ["Long", 30, {"Ref": "AWS::NoValue"}]},
                "Code": {"ZipFile": "def handler(event, context):\n    return 'inline'\n"},
            },
        },
        "Custom": {
            "Type": "AWS::Lambda::Function",
            "Properties": {"Runtime": "provided.al2023", "Handler": "x", "Code": "custom"},
        },
    },
    "Outputs": {"Name": {"Value": {"Ref": "Inline"}}},
}

# A custom runtime answering each invocation with a fixed body: it only runs if `bootstrap`
# kept its executable bit through packaging.
BOOTSTRAP = textwrap.dedent(
    """\
    #!/usr/bin/env python3
    import os, urllib.request
    api = "http://" + os.environ["AWS_LAMBDA_RUNTIME_API"] + "/2018-06-01/runtime/invocation/"
    while True:
        with urllib.request.urlopen(api + "next") as response:
            request_id = response.headers["Lambda-Runtime-Aws-Request-Id"]
            response.read()
        post = urllib.request.Request(api + request_id + "/response", b'"custom"', method="POST")
        urllib.request.urlopen(post).read()
    """
)


def test_cloudformation_json_inline_code_and_bootstrap(lambda_client, tmp_path, new_stack):
    stack = new_stack("cfn")
    (tmp_path / "custom").mkdir()
    bootstrap = tmp_path / "custom" / "bootstrap"
    bootstrap.write_text(BOOTSTRAP)
    bootstrap.chmod(0o755)
    path = tmp_path / "template.json"
    path.write_text(json.dumps(CLOUDFORMATION))
    result = deploy(lambda_client, path, stack, {"Suffix": "long"})
    inline, custom = result.functions
    assert inline.physical_name == f"{stack}-inline-long"
    assert result.outputs[0].value == inline.physical_name
    config = lambda_client.get_function_configuration(FunctionName=inline.physical_name)
    assert (config["Timeout"], config["Role"]) == (30, f"arn:aws:iam::{ACCOUNT}:role/mine")
    assert _invoke(lambda_client, inline.physical_name) == "inline"
    assert _invoke(lambda_client, custom.physical_name) == "custom"

    # The explicit name changes: CloudFormation replaces the function.
    again = deploy(lambda_client, path, stack, {"Suffix": "short"})
    assert [(c.physical_name, c.action) for c in again.functions] == [
        (f"{stack}-inline-short", "created"),
        (custom.physical_name, "updated"),
        (f"{stack}-inline-long", "deleted"),
    ]
    config = lambda_client.get_function_configuration(FunctionName=f"{stack}-inline-short")
    assert config["Timeout"] == 3


def test_parameter_errors_change_nothing(lambda_client, tmp_path, new_stack):
    stack = new_stack("params")
    path = _write(tmp_path)
    with pytest.raises(TemplateError) as excinfo:
        deploy(lambda_client, path, stack, {"Greeting": "yo"})
    assert str(excinfo.value) == (
        "Parameter Greeting, property AllowedValues: value 'yo' is not one of hello, hi"
    )
    with pytest.raises(TemplateError, match=r"^Parameter Nope: given as an override"):
        deploy(lambda_client, path, stack, {"Nope": "x"})
    assert stack_functions(lambda_client, stack) == {}


def test_template_errors_name_resource_and_property(lambda_client, tmp_path, new_stack):
    stack = new_stack("bad")
    cases = [
        ("      Timeout: 1\n", "      Timeout: soon\n"),
        ("CodeUri: src/", "CodeUri: missing/"),
        ("CodeUri: src/", "CodeUri: s3://bucket/code.zip"),
        ("OTHER: !Ref HappyPathFunction", "OTHER: !Ref Nowhere"),
    ]
    messages = [
        "Resource TimeoutFunction, property Timeout: must be a whole number, not 'soon'",
        "Resource HappyPathFunction, property CodeUri: no file or folder at",
        "Resource HappyPathFunction, property CodeUri: sluice cannot fetch code from S3",
        "Resource TimeoutFunction, property Environment: Ref Nowhere: no parameter or resource",
    ]
    for (old, new), message in zip(cases, messages, strict=True):
        with pytest.raises(TemplateError) as excinfo:
            deploy(lambda_client, _write(tmp_path, TEMPLATE.replace(old, new)), stack)
        assert str(excinfo.value).startswith(message)
    assert stack_functions(lambda_client, stack) == {}


def test_server_refusal_names_the_resource(lambda_client, tmp_path, new_stack):
    stack = new_stack("refused")
    template = TEMPLATE.replace("      Timeout: 1\n", "      Timeout: 901\n")
    with pytest.raises(DeployError) as excinfo:
        deploy(lambda_client, _write(tmp_path, template), stack)
    message = str(excinfo.value)
    assert message.startswith("Resource TimeoutFunction: the server refused to create function")
    assert "ValidationException" in message and "timeout" in message
    # Applied before the refusal, and tagged, so a fixed deploy updates it in place.
    (happy,) = stack_functions(lambda_client, stack).values()
    fixed = deploy(lambda_client, _write(tmp_path), stack)
    assert (fixed.functions[0].physical_name, fixed.functions[0].action) == (happy, "updated")


def test_bad_stack_name(lambda_client, tmp_path):
    with pytest.raises(DeployError, match="must start with a letter"):
        deploy(lambda_client, _write(tmp_path), "1-bad_name")
    with pytest.raises(DeployError, match="must start with a letter"):
        delete(lambda_client, "bad_name")


def test_account_id_comes_from_the_server(tmp_path):
    """An empty server started with another account: ARNs and roles name that account."""
    other = start_server(tmp_path / "data", "--account-id", "123456789012")
    try:
        client = client_for(other.url)
        result = deploy(client, _write(tmp_path), "accounts")
        arn, _, role = result.outputs
        name = result.functions[0].physical_name
        assert arn.value == f"arn:aws:lambda:{REGION}:123456789012:function:{name}"
        assert role.value.startswith("arn:aws:iam::123456789012:role/accounts-HappyPathFunction")
        tags = client.list_tags(Resource=arn.value)["Tags"]
        assert tags["aws:cloudformation:stack-id"].startswith(
            f"arn:aws:cloudformation:{REGION}:123456789012:stack/accounts/"
        )
    finally:
        assert other.stop() == 0


def test_redeploy_updates_the_url_in_place_and_removes_it_with_its_config(
    lambda_client, tmp_path, new_stack
):
    stack = new_stack("urls")
    first = deploy(lambda_client, _write(tmp_path), stack)
    happy = first.functions[0].physical_name
    url = lambda_client.get_function_url_config(FunctionName=happy)
    assert [change.action for change in first.urls] == ["created"]

    buffered = TEMPLATE.replace("InvokeMode: RESPONSE_STREAM", "InvokeMode: BUFFERED")
    second = deploy(lambda_client, _write(tmp_path, buffered), stack)
    assert [(c.action, c.url) for c in second.urls] == [("updated", url["FunctionUrl"])]
    assert lambda_client.get_function_url_config(FunctionName=happy)["InvokeMode"] == "BUFFERED"

    without = TEMPLATE.replace(
        "      FunctionUrlConfig:\n        AuthType: NONE\n        InvokeMode: RESPONSE_STREAM\n",
        "",
    ).replace("  HappyPathUrl:\n    Value: !GetAtt HappyPathFunctionUrl.FunctionUrl\n", "")
    third = deploy(lambda_client, _write(tmp_path, without), stack)
    assert [(c.action, c.function_name) for c in third.urls] == [("deleted", happy)]
    with pytest.raises(ClientError):
        lambda_client.get_function_url_config(FunctionName=happy)
