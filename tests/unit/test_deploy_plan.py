"""Planning a CloudFormation template: names, conditions, properties, skips, outputs."""

from __future__ import annotations

import io
import zipfile

import pytest

from sluice.deploy._names import StackContext
from sluice.deploy._plan import plan_stack
from sluice.deploy._resources import skip_reason
from sluice.deploy._template import parse_template
from sluice.errors import TemplateError

STACK = StackContext.new("app", "eu-west-1", "123456789012", None)
HEAD = """\
Parameters:
  Stage: {Type: String, Default: dev}
  Seconds: {Type: Number, Default: 7}
Conditions:
  IsProd: !Equals [!Ref Stage, prod]
Resources:
  Role:
    Type: AWS::IAM::Role
  Fn:
    Type: AWS::Lambda::Function
    Properties:
      Code: src
      Handler: app.handler
      Runtime: python3.12
"""


def _plan(text, tmp_path, stage="dev", existing=None):
    (tmp_path / "src").mkdir(exist_ok=True)
    (tmp_path / "src" / "app.py").write_text("def handler(event, context):\n    return 1\n")
    parameters = {"Stage": stage, "Seconds": "7", **STACK.pseudo_parameters()}
    return plan_stack(parse_template(text), parameters, STACK, existing or {}, tmp_path)


def test_properties_resolved_and_coerced(tmp_path):
    plan = _plan(
        HEAD + "      Timeout: !Ref Seconds\n      MemorySize: '256'\n"
        "      Role: !GetAtt Role.Arn\n      Description: !Sub '${Stage} in ${AWS::Region}'\n"
        "      Architectures: [arm64]\n"
        "      Environment:\n        Variables:\n          FLAG: true\n          N: 3\n"
        "          SELF: !Ref Fn\n          GONE: !If [IsProd, x, !Ref AWS::NoValue]\n"
        "      Tags: [{Key: team, Value: blue}]\n",
        tmp_path,
    )
    (function,) = plan.functions
    assert function.logical_id == "Fn"
    assert function.name.startswith("app-Fn-") and len(function.name) == len("app-Fn-") + 12
    assert function.configuration == {
        "Handler": "app.handler",
        "Runtime": "python3.12",
        "Timeout": 7,
        "MemorySize": 256,
        "Role": STACK.role_arn(STACK.role_name("Role")),
        "Description": "dev in eu-west-1",
        "Architectures": ["arm64"],
        "Environment": {"Variables": {"FLAG": "true", "N": "3", "SELF": function.name}},
    }
    assert function.tags == {"team": "blue"}
    with zipfile.ZipFile(io.BytesIO(function.code)) as archive:
        assert archive.namelist() == ["app.py"]


def test_defaults_and_placeholder_role(tmp_path):
    (function,) = _plan(HEAD, tmp_path).functions
    assert function.configuration == {
        "Handler": "app.handler",
        "Runtime": "python3.12",
        "Timeout": 3,
        "MemorySize": 128,
        "Description": "",
        "Environment": {"Variables": {}},
        "Architectures": ["x86_64"],
        "Role": STACK.placeholder_role_arn(),
    }
    assert function.tags == {}


def test_names(tmp_path):
    text = HEAD + (
        "  Named:\n    Type: AWS::Lambda::Function\n"
        "    Properties: {FunctionName: !Sub '${Stage}-named', Code: src}\n"
    )
    plan = _plan(text, tmp_path, existing={"Fn": "app-Fn-KeptKeptKept", "Named": "old-name"})
    assert [f.name for f in plan.functions] == ["app-Fn-KeptKeptKept", "dev-named"]


def test_conditions_leave_resources_out(tmp_path):
    text = HEAD + (
        "  ProdOnly:\n    Type: AWS::Lambda::Function\n    Condition: IsProd\n"
        "    Properties: {Code: src}\n"
        "Outputs:\n"
        "  Prod: {Condition: IsProd, Value: !Ref ProdOnly}\n"
        "  Either: {Value: !If [IsProd, !Ref ProdOnly, none]}\n"
    )
    dev = _plan(text, tmp_path)
    assert [f.logical_id for f in dev.functions] == ["Fn"]
    assert [(o.key, o.value) for o in dev.outputs({})] == [("Either", "none")]
    prod = _plan(text, tmp_path, stage="prod")
    assert [f.logical_id for f in prod.functions] == ["Fn", "ProdOnly"]
    assert [o.value for o in prod.outputs({})] == [prod.functions[1].name] * 2


def test_reference_to_a_resource_left_out(tmp_path):
    text = HEAD + (
        "      Description: !Ref ProdOnly\n"
        "  ProdOnly:\n    Type: AWS::Lambda::Function\n    Condition: IsProd\n"
    )
    with pytest.raises(TemplateError) as excinfo:
        _plan(text, tmp_path)
    assert str(excinfo.value) == (
        "Resource Fn, property Description: Ref ProdOnly: the resource is not created, "
        "its condition IsProd is false"
    )


def test_skipped_resources_and_unavailable_outputs(tmp_path):
    text = HEAD + (
        "  Url:\n    Type: AWS::Lambda::Url\n"
        "    Properties: {TargetFunctionArn: !Ref Fn, AuthType: NONE, Qualifier: live}\n"
        "  Image:\n    Type: AWS::Lambda::Function\n"
        "    Properties: {PackageType: Image, Code: {ImageUri: repo:tag}}\n"
        "  Api:\n    Type: AWS::ApiGateway::RestApi\n"
        "Outputs:\n"
        "  Url: {Value: !GetAtt Url.FunctionUrl, Description: !Sub 'URL of ${Fn}'}\n"
        "  Image: {Value: !Ref Image}\n"
        "  Api: {Value: !Sub 'https://${Api}.execute-api.${AWS::Region}.${AWS::URLSuffix}/'}\n"
        "  Role: {Value: !Ref Role}\n"
        "  List: {Value: !Split [',', 'a,b']}\n"
    )
    plan = _plan(text, tmp_path)
    assert [(s.logical_id, s.resource_type) for s in plan.skipped] == [
        ("Role", "AWS::IAM::Role"),
        ("Image", "AWS::Lambda::Function"),
        ("Api", "AWS::ApiGateway::RestApi"),
        ("Url", "AWS::Lambda::Url"),  # URLs are looked at once the functions are named
    ]
    reasons = [s.reason for s in plan.skipped]
    assert reasons == [
        "not run by sluice, which checks no permissions; functions get the name and ARN it "
        "would have",
        "PackageType Image: sluice runs Zip functions only",
        "not run by sluice, which has no API Gateway; invoke the function instead",
        "a URL for a qualifier: sluice runs $LATEST only (no versions or aliases)",
    ]
    outputs = {o.key: (o.value, o.description) for o in plan.outputs({})}
    name = plan.functions[0].name
    assert outputs == {
        "Url": ("(not available: AWS::Lambda::Url is not run by sluice)", f"URL of {name}"),
        "Image": (
            "(not available: Image has PackageType Image: sluice runs Zip functions only)",
            None,
        ),
        "Api": ("(not available: AWS::ApiGateway::RestApi is not run by sluice)", None),
        "Role": (STACK.role_name("Role"), None),
        "List": ("a,b", None),
    }


def test_inline_code(tmp_path):
    text = HEAD.replace("Code: src", "Code: {ZipFile: 'def handler(e, c): return 1'}")
    (function,) = _plan(text, tmp_path).functions
    with zipfile.ZipFile(io.BytesIO(function.code)) as archive:
        assert archive.read("index.py") == b"def handler(e, c): return 1"


ERRORS = [
    ("Timeout", "soon", "Resource Fn, property Timeout: must be a whole number, not 'soon'"),
    ("MemorySize", "[1]", "Resource Fn, property MemorySize: must be a whole number"),
    ("Handler", "[a, b]", "Resource Fn, property Handler: must be a string"),
    ("Environment", "{Variables: [1]}", "Resource Fn, property Environment: must be a mapping"),
    ("Environment", "{Variables: {A: [1]}}", "Resource Fn, property Environment.Variables.A:"),
    ("Tags", "{team: blue}", "Resource Fn, property Tags: must be a list of {Key, Value} pairs"),
    ("Architectures", "arm64", "Resource Fn, property Architectures: must be a list"),
    (
        "Role",
        "!GetAtt Nope.Arn",
        "Resource Fn, property Role: Fn::GetAtt Nope.Arn: no parameter or resource",
    ),
    (
        "Description",
        "!Ref Nope",
        "Resource Fn, property Description: Ref Nope: no parameter or resource",
    ),
    (
        "Description",
        "!GetAtt Fn.SnapStartResponse",
        "Resource Fn, property Description: Fn::GetAtt Fn.SnapStartResponse: sluice gives only Arn",
    ),
    (
        "Description",
        "!ImportValue Shared",
        "Resource Fn, property Description: Fn::ImportValue is not supported",
    ),
]


@pytest.mark.parametrize(
    ("prop", "value", "message"), ERRORS, ids=[f"{p}={v}" for p, v, _ in ERRORS]
)
def test_errors_name_resource_and_property(tmp_path, prop, value, message):
    with pytest.raises(TemplateError) as excinfo:
        _plan(HEAD + f"      {prop}: {value}\n", tmp_path)
    assert str(excinfo.value).startswith(message)


CODE_ERRORS = [
    ("{S3Bucket: b, S3Key: k}", "Resource Fn, property Code: sluice cannot fetch code from S3"),
    ("missing", "Resource Fn, property Code: no file or folder at"),
    ("{ZipFile: x}", "Resource Fn, property Code: inline code (ZipFile) needs a python or nodejs"),
]


@pytest.mark.parametrize(("code", "message"), CODE_ERRORS)
def test_code_errors(tmp_path, code, message):
    text = HEAD.replace("Code: src", f"Code: {code}")
    if "ZipFile" in code:
        text = text.replace("python3.12", "provided.al2023")
    with pytest.raises(TemplateError) as excinfo:
        _plan(text, tmp_path)
    assert str(excinfo.value).startswith(message)


def test_missing_code(tmp_path):
    with pytest.raises(TemplateError, match=r"^Resource Fn, property Code: must be set"):
        _plan(HEAD.replace("      Code: src\n", ""), tmp_path)


def test_output_errors(tmp_path):
    with pytest.raises(TemplateError, match=r"^Output O, property Value: must be set"):
        _plan(HEAD + "Outputs:\n  O: {Description: x}\n", tmp_path)
    with pytest.raises(TemplateError, match=r"^Output O, property Value: Ref Nope: no parameter"):
        _plan(HEAD + "Outputs:\n  O: {Value: !Ref Nope}\n", tmp_path)
    with pytest.raises(TemplateError, match=r"^Output O, property Condition: no condition named X"):
        _plan(HEAD + "Outputs:\n  O: {Value: x, Condition: X}\n", tmp_path)


def test_bad_resource_condition(tmp_path):
    with pytest.raises(TemplateError, match=r"^Resource Role, property Condition: no condition"):
        _plan(
            HEAD.replace("Type: AWS::IAM::Role", "Type: AWS::IAM::Role\n    Condition: X"), tmp_path
        )


@pytest.mark.parametrize(
    ("kind", "reason"),
    [
        ("AWS::S3::Bucket", "not run by sluice"),
        ("AWS::Lambda::Alias", "not run by sluice, which runs $LATEST only (no versions"),
        ("AWS::ApiGatewayV2::Api", "not run by sluice, which has no API Gateway; invoke"),
        ("AWS::Lambda::Permission", "not run by sluice, which checks no permissions: any caller"),
    ],
)
def test_skip_reasons(kind, reason):
    assert skip_reason(kind).startswith(reason)
