"""Template loading: CloudFormation short-form tags, YAML as CloudFormation reads it, JSON."""

from __future__ import annotations

import json

import pytest

from sluice.deploy._template import load_template, parse_template
from sluice.errors import TemplateError

RESOURCES = "Resources:\n  F:\n    Type: AWS::Lambda::Function\n"

SHORT_FORMS = [
    ("!Ref Stage", {"Ref": "Stage"}),
    ("!Condition IsProd", {"Condition": "IsProd"}),
    ("!GetAtt Fn.Arn", {"Fn::GetAtt": ["Fn", "Arn"]}),
    ("!GetAtt Db.Endpoint.Address", {"Fn::GetAtt": ["Db", "Endpoint.Address"]}),
    ("!GetAtt [Fn, Arn]", {"Fn::GetAtt": ["Fn", "Arn"]}),
    ("!Sub 'arn:${AWS::Partition}:x'", {"Fn::Sub": "arn:${AWS::Partition}:x"}),
    ("!Sub ['${A}-b', {A: !Ref B}]", {"Fn::Sub": ["${A}-b", {"A": {"Ref": "B"}}]}),
    ("!Join ['-', [a, !Ref B]]", {"Fn::Join": ["-", ["a", {"Ref": "B"}]]}),
    ("!If [IsProd, 1, !Ref AWS::NoValue]", {"Fn::If": ["IsProd", 1, {"Ref": "AWS::NoValue"}]}),
    ("!Equals [!Ref Stage, prod]", {"Fn::Equals": [{"Ref": "Stage"}, "prod"]}),
    ("!Not [!Condition IsProd]", {"Fn::Not": [{"Condition": "IsProd"}]}),
    ("!Select [0, !Split [',', 'a,b']]", {"Fn::Select": [0, {"Fn::Split": [",", "a,b"]}]}),
    ("!FindInMap [M, K, V]", {"Fn::FindInMap": ["M", "K", "V"]}),
    ("!GetAZs ''", {"Fn::GetAZs": ""}),
    ("!Base64 text", {"Fn::Base64": "text"}),
    ("!ImportValue Shared", {"Fn::ImportValue": "Shared"}),
    ("!Transform {Name: X}", {"Fn::Transform": {"Name": "X"}}),
]


@pytest.mark.parametrize(("text", "expected"), SHORT_FORMS, ids=[s for s, _ in SHORT_FORMS])
def test_short_form_tags(text, expected):
    template = parse_template(f"{RESOURCES}Outputs:\n  O:\n    Value: {text}\n")
    assert template["Outputs"]["O"]["Value"] == expected


def test_block_forms_nest():
    text = RESOURCES + (
        "    Properties:\n"
        "      Environment:\n"
        "        Variables:\n"
        "          A: !Join\n"
        "            - ''\n"
        "            - - !Ref AWS::Region\n"
        "              - !GetAtt Other.Arn\n"
    )
    variables = parse_template(text)["Resources"]["F"]["Properties"]["Environment"]["Variables"]
    assert variables == {
        "A": {"Fn::Join": ["", [{"Ref": "AWS::Region"}, {"Fn::GetAtt": ["Other", "Arn"]}]]}
    }


def test_yaml_read_as_cloudformation_reads_it():
    template = parse_template(
        "AWSTemplateFormatVersion: 2010-09-09\n"
        "Mappings:\n  Accounts:\n    123456789012: {Name: prod}\n    true: {Name: yes-key}\n"
        "Outputs:\n  O: {Value: first}\n  O: {Value: second}\n" + RESOURCES
    )
    assert template["AWSTemplateFormatVersion"] == "2010-09-09"
    assert set(template["Mappings"]["Accounts"]) == {"123456789012", "true"}
    assert template["Outputs"]["O"] == {"Value": "second"}  # as the seed template needs


def test_yaml_values_keep_their_types():
    text = RESOURCES + "    Properties: {Timeout: 10, Flag: true, Name: '10'}\n"
    assert parse_template(text)["Resources"]["F"]["Properties"] == {
        "Timeout": 10,
        "Flag": True,
        "Name": "10",
    }


def test_yaml_anchors_and_merge_keys():
    text = (
        "Resources:\n"
        "  A: &base\n    Type: AWS::Lambda::Function\n    Properties: {Timeout: 3}\n"
        "  B:\n    <<: *base\n    Properties: {Timeout: 5}\n"
    )
    resources = parse_template(text)["Resources"]
    assert resources["B"] == {"Type": "AWS::Lambda::Function", "Properties": {"Timeout": 5}}


def test_json_template(tmp_path):
    path = tmp_path / "template.json"
    body = {"Resources": {"F": {"Type": "AWS::Lambda::Function", "Properties": {"Timeout": 3}}}}
    path.write_text(json.dumps(body))
    assert load_template(path) == body


def test_empty_sections_become_empty_mappings():
    template = parse_template("Outputs:\nResources:\n  F:\n    Type: X\n    Properties:\n")
    assert template["Outputs"] == {}
    assert template["Resources"]["F"]["Properties"] == {}


BAD = [
    ("Resources: [", "not valid YAML"),
    ('{"Resources": ', "not valid JSON"),
    ("- a\n- b\n", "top level must be a mapping"),
    ("Description: x\n", "'Resources' must name at least one resource"),
    ("Resources: {}\n", "'Resources' must name at least one resource"),
    ("Resources:\n  F:\n    Properties: {}\n", "Resource F, property Type: must be a string"),
    ("Resources:\n  F:\n    Type: X\n    Properties: [1]\n", "Resource F, property Properties"),
    ("Outputs: [1]\n" + RESOURCES, "'Outputs' must be a mapping"),
    ("Resources:\n  ? [a, b]\n  : {Type: X}\n", "mapping key must be a plain string"),
]


@pytest.mark.parametrize(("text", "message"), BAD, ids=[m for _, m in BAD])
def test_bad_templates(text, message):
    with pytest.raises(TemplateError) as excinfo:
        parse_template(text)
    assert message in str(excinfo.value)


def test_unreadable_file(tmp_path):
    with pytest.raises(TemplateError, match="cannot read it"):
        load_template(tmp_path / "missing.yaml")
