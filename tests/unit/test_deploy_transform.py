"""SAM expansion with aws-sam-translator, offline, and the plan made from it (no server)."""

from __future__ import annotations

import io
import re
import zipfile

import pytest

from sluice.deploy._names import StackContext
from sluice.deploy._plan import plan_stack
from sluice.deploy._template import parse_template
from sluice.deploy._transform import expand, local_code_path
from sluice.errors import TemplateError

# The seed pattern's template as published (its Outputs repeat a key; YAML keeps the last).
SEED = """\
AWSTemplateFormatVersion: 2010-09-09
Description: >
  (uksb-1tthgi812) (tag:lambda-streaming-sdk-sam)
  lambda

Transform:
- AWS::Serverless-2016-10-31

Globals:
  Function:
    Runtime: nodejs20.x
    Timeout: 10
    MemorySize: 128
    Architectures:
      - x86_64

Resources:
  HappyPathFunction:
    Type: AWS::Serverless::Function
    Properties:
      Handler: src/happy.handler
      Description: A Lambda function that streams bytes back to the caller

  MidstreamErrorFunction:
    Type: AWS::Serverless::Function
    Properties:
      Handler: src/midstream-error.handler
      Description: A Lambda function that streams bytes back to the caller

  TimeoutFunction:
    Type: AWS::Serverless::Function
    Properties:
      Handler: src/happy.handler
      Description: A Lambda function that streams bytes back to the caller
      Timeout: 1
Outputs:
  HappyPathFunction:
    Description: "HappyPathFunction ARN"
    Value: !GetAtt HappyPathFunction.Arn
  MidstreamErrorFunction:
    Description: "MidstreamErrorFunction ARN"
    Value: !GetAtt MidstreamErrorFunction.Arn
  MidstreamErrorFunction:
    Description: "MidstreamErrorFunction ARN"
    Value: !GetAtt MidstreamErrorFunction.Arn
"""
STACK = StackContext.new("lambda-streaming-sdk-sam", "eu-west-1", "000000000000", None)
PARAMETERS = STACK.pseudo_parameters()
FUNCTIONS = ("HappyPathFunction", "MidstreamErrorFunction", "TimeoutFunction")


def _names(data: bytes) -> list[str]:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return archive.namelist()


def _expand(text: str) -> dict:
    return expand(parse_template(text), PARAMETERS, "eu-west-1")


def test_seed_template_expands_like_cloudformation():
    template = _expand(SEED)
    resources = template["Resources"]
    assert "Transform" not in template and "Globals" not in template
    for logical_id in FUNCTIONS:
        function = resources[logical_id]
        assert function["Type"] == "AWS::Lambda::Function"
        props = function["Properties"]
        assert (props["Runtime"], props["MemorySize"]) == ("nodejs20.x", 128)
        assert props["Role"] == {"Fn::GetAtt": [f"{logical_id}Role", "Arn"]}
        assert props["Tags"] == [{"Key": "lambda:createdBy", "Value": "SAM"}]
        assert local_code_path(props["Code"]) == "."  # no CodeUri: the template's folder
        assert resources[f"{logical_id}Role"]["Type"] == "AWS::IAM::Role"
    assert resources["TimeoutFunction"]["Properties"]["Timeout"] == 1
    assert resources["HappyPathFunction"]["Properties"]["Timeout"] == 10


def test_seed_template_plan(tmp_path):
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "happy.js").write_text("export const handler = 1;\n")
    (tmp_path / "template.yaml").write_text(SEED)
    plan = plan_stack(_expand(SEED), PARAMETERS, STACK, {}, tmp_path)
    assert [f.logical_id for f in plan.functions] == list(FUNCTIONS)
    assert plan.functions[0].code is plan.functions[2].code  # one folder, zipped once
    for function in plan.functions:
        assert re.fullmatch(
            rf"lambda-streaming-sdk-sam-{function.logical_id}-\w{{12}}", function.name
        )
        assert _names(function.code) == ["src/happy.js", "template.yaml"]
        assert function.tags == {"lambda:createdBy": "SAM"}
        role = function.configuration["Role"]
        assert re.fullmatch(
            rf"arn:aws:iam::000000000000:role/lambda-streaming-sdk-sam-{function.logical_id}Role-\w{{12}}",
            role,
        )
    timeout = plan.functions[2].configuration
    assert timeout == {
        "Timeout": 1,
        "MemorySize": 128,
        "Description": "A Lambda function that streams bytes back to the caller",
        "Environment": {"Variables": {}},
        "Architectures": ["x86_64"],
        "Role": timeout["Role"],
        "Handler": "src/happy.handler",
        "Runtime": "nodejs20.x",
    }
    assert [(s.logical_id, s.resource_type) for s in plan.skipped] == [
        (f"{name}Role", "AWS::IAM::Role") for name in FUNCTIONS
    ]
    happy, midstream = plan.outputs({})
    assert (happy.key, happy.description) == ("HappyPathFunction", "HappyPathFunction ARN")
    assert happy.value == STACK.function_arn(plan.functions[0].name)
    assert midstream.value == STACK.function_arn(plan.functions[1].name)


SAM_HEAD = "Transform: AWS::Serverless-2016-10-31\n"


def test_globals_code_uri_and_inline_code():
    template = _expand(
        SAM_HEAD + "Globals:\n  Function:\n    CodeUri: ../shared\n    Runtime: python3.12\n"
        "Resources:\n"
        "  A:\n    Type: AWS::Serverless::Function\n    Properties: {Handler: app.handler}\n"
        "  B:\n    Type: AWS::Serverless::Function\n"
        "    Properties: {Handler: index.handler, InlineCode: 'def handler(e, c): 1'}\n"
    )
    assert local_code_path(template["Resources"]["A"]["Properties"]["Code"]) == "../shared"
    assert template["Resources"]["B"]["Properties"]["Code"] == {"ZipFile": "def handler(e, c): 1"}


def test_function_url_resources_and_events_are_expanded():
    template = _expand(
        SAM_HEAD + "Resources:\n  F:\n    Type: AWS::Serverless::Function\n    Properties:\n"
        "      Handler: app.handler\n      Runtime: python3.12\n      CodeUri: src\n"
        "      FunctionUrlConfig: {AuthType: NONE, InvokeMode: RESPONSE_STREAM}\n"
        "      Events:\n        Get: {Type: Api, Properties: {Path: /, Method: get}}\n"
    )
    types = {lid: r["Type"] for lid, r in template["Resources"].items()}
    assert types["FUrl"] == "AWS::Lambda::Url"
    assert types["ServerlessRestApi"] == "AWS::ApiGateway::RestApi"
    assert local_code_path(template["Resources"]["F"]["Properties"]["Code"]) == "src"


def test_nested_application_is_not_fetched():
    template = _expand(
        SAM_HEAD + "Resources:\n  App:\n    Type: AWS::Serverless::Application\n"
        "    Properties:\n"
        "      Location: {ApplicationId: arn:aws:serverlessrepo:x, SemanticVersion: 1}\n"
        "  F:\n    Type: AWS::Serverless::Function\n"
        "    Properties: {Handler: a.b, Runtime: python3.12, CodeUri: .}\n"
    )
    assert template["Resources"]["App"]["Type"] == "AWS::Serverless::Application"
    assert template["Resources"]["F"]["Type"] == "AWS::Lambda::Function"


def test_plain_cloudformation_is_left_alone():
    text = "Resources:\n  F:\n    Type: AWS::Lambda::Function\n    Properties: {Code: src}\n"
    assert _expand(text) == parse_template(text)


ERRORS = [
    (
        "CodeUri: s3://bucket/key.zip",
        "Resource F, property CodeUri: sluice cannot fetch code from S3 ('s3://bucket/key.zip')",
    ),
    (
        "CodeUri: {Bucket: b, Key: k}",
        "Resource F, property CodeUri: sluice cannot fetch code from S3",
    ),
    ("CodeUri: !Ref Where", "Resource F, property CodeUri: must be a local path written out"),
    (
        "CodeUri: src\n      Events: {E: {Type: Nope}}",
        "SAM transform failed: Resource with id [F] is invalid",
    ),
]


@pytest.mark.parametrize(("line", "message"), ERRORS, ids=[m[:40] for _, m in ERRORS])
def test_errors(line, message):
    text = (
        SAM_HEAD + "Resources:\n  F:\n    Type: AWS::Serverless::Function\n    Properties:\n"
        f"      Handler: app.handler\n      Runtime: python3.12\n      {line}\n"
    )
    with pytest.raises(TemplateError) as excinfo:
        _expand(text)
    assert str(excinfo.value).startswith(message)


def test_global_s3_code_refused():
    text = SAM_HEAD + (
        "Globals:\n  Function:\n    CodeUri: s3://b/k\n"
        "Resources:\n  F:\n    Type: AWS::Serverless::Function\n    Properties: {Handler: a.b}\n"
    )
    with pytest.raises(TemplateError, match=r"^Globals Function, property CodeUri: sluice cannot"):
        _expand(text)


def test_other_transforms_refused():
    text = "Transform: [AWS::LanguageExtensions, AWS::Serverless-2016-10-31]\n" + (
        "Resources:\n  F:\n    Type: AWS::Serverless::Function\n"
    )
    with pytest.raises(TemplateError, match=r"^Template, property Transform: sluice runs only"):
        _expand(text)


def test_template_is_not_modified():
    template = parse_template(SEED)
    before = repr(template)
    expand(template, PARAMETERS, "eu-west-1")
    assert repr(template) == before
