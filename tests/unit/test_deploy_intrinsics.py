"""Intrinsic functions and conditions: data vectors in, values out, errors that say where."""

from __future__ import annotations

import pytest

from sluice.deploy._intrinsics import NO_VALUE, IntrinsicError, Resolver, Unavailable
from sluice.errors import TemplateError

PARAMETERS = {
    "Stage": "prod",
    "Size": "256",
    "Zones": ["a", "b", "c"],
    "AWS::Region": "eu-west-1",
    "AWS::AccountId": "123456789012",
    "AWS::StackName": "app",
    "AWS::Partition": "aws",
}
MAPPINGS = {"Sizes": {"prod": {"Memory": 1024}, "dev": {"Memory": 128}}}
CONDITIONS = {
    "IsProd": {"Fn::Equals": [{"Ref": "Stage"}, "prod"]},
    "IsDev": {"Fn::Not": [{"Condition": "IsProd"}]},
    "ProdAndBig": {"Fn::And": [{"Condition": "IsProd"}, {"Fn::Equals": ["256", {"Ref": "Size"}]}]},
    "DevOrBig": {"Fn::Or": [{"Condition": "IsDev"}, {"Fn::Equals": [{"Ref": "Size"}, 256]}]},
    "Loop": {"Fn::Not": [{"Condition": "Loop"}]},
    "Broken": {"Fn::Equals": [{"Ref": "Nope"}, "x"]},
    "NotBool": {"Ref": "Stage"},
}
GONE = Unavailable("AWS::Lambda::Url is not run by sluice")


class FakeResources:
    """Fn: a function; Url: a skipped resource; anything else: unknown."""

    def ref(self, logical_id):
        return {"Fn": "app-Fn-AbCdEfGhIjKl", "Url": GONE}.get(logical_id) or self._unknown(
            logical_id
        )

    def get_att(self, logical_id, attribute):
        if (logical_id, attribute) == ("Fn", "Arn"):
            return "arn:aws:lambda:eu-west-1:123456789012:function:app-Fn-AbCdEfGhIjKl"
        if logical_id == "Url":
            return GONE
        return self._unknown(logical_id)

    def _unknown(self, logical_id):
        raise IntrinsicError(f"no resource {logical_id}")


@pytest.fixture
def resolver():
    return Resolver(PARAMETERS, MAPPINGS, CONDITIONS).with_resources(FakeResources())


VECTORS = [
    ("plain", {"a": [1, "b", True]}, {"a": [1, "b", True]}),
    ("ref parameter", {"Ref": "Stage"}, "prod"),
    ("ref pseudo", {"Ref": "AWS::Region"}, "eu-west-1"),
    ("ref list parameter", {"Ref": "Zones"}, ["a", "b", "c"]),
    ("ref resource", {"Ref": "Fn"}, "app-Fn-AbCdEfGhIjKl"),
    ("ref novalue in map", {"a": {"Ref": "AWS::NoValue"}, "b": 1}, {"b": 1}),
    ("ref novalue in list", [1, {"Ref": "AWS::NoValue"}, 2], [1, 2]),
    ("getatt list", {"Fn::GetAtt": ["Fn", "Arn"]}, FakeResources().get_att("Fn", "Arn")),
    ("getatt dotted", {"Fn::GetAtt": "Fn.Arn"}, FakeResources().get_att("Fn", "Arn")),
    (
        "getatt ref attr",
        {"Fn::GetAtt": ["Fn", {"Fn::Sub": "Arn"}]},
        "arn:aws:lambda:eu-west-1:123456789012:function:app-Fn-AbCdEfGhIjKl",
    ),
    ("sub pseudo", {"Fn::Sub": "${AWS::StackName}-${AWS::Region}"}, "app-eu-west-1"),
    ("sub attribute", {"Fn::Sub": "x ${Fn.Arn}"}, "x " + FakeResources().get_att("Fn", "Arn")),
    ("sub resource", {"Fn::Sub": "${Fn}"}, "app-Fn-AbCdEfGhIjKl"),
    ("sub literal", {"Fn::Sub": "${!Literal}-${ Stage }"}, "${Literal}-prod"),
    ("sub variables", {"Fn::Sub": ["${A}/${Stage}", {"A": {"Ref": "Size"}}]}, "256/prod"),
    ("sub number variable", {"Fn::Sub": ["${N}", {"N": 5}]}, "5"),
    ("sub no variables", {"Fn::Sub": "plain $ {x}"}, "plain $ {x}"),
    ("join", {"Fn::Join": ["-", ["a", {"Ref": "Stage"}, 3]]}, "a-prod-3"),
    ("join list ref", {"Fn::Join": [",", {"Ref": "Zones"}]}, "a,b,c"),
    ("join empty", {"Fn::Join": ["-", []]}, ""),
    ("select", {"Fn::Select": ["1", {"Ref": "Zones"}]}, "b"),
    ("select split", {"Fn::Select": [2, {"Fn::Split": ["/", "x/y/z"]}]}, "z"),
    ("split", {"Fn::Split": [",", {"Fn::Sub": "${Stage},b"}]}, ["prod", "b"]),
    ("if true", {"Fn::If": ["IsProd", "big", "small"]}, "big"),
    ("if false", {"Fn::If": ["IsDev", "big", "small"]}, "small"),
    ("if novalue", {"k": {"Fn::If": ["IsDev", 1, {"Ref": "AWS::NoValue"}]}}, {}),
    ("if untaken branch unresolved", {"Fn::If": ["IsProd", 1, {"Ref": "Missing"}]}, 1),
    ("find in map", {"Fn::FindInMap": ["Sizes", {"Ref": "Stage"}, "Memory"]}, 1024),
    ("get azs", {"Fn::GetAZs": ""}, ["eu-west-1a", "eu-west-1b", "eu-west-1c"]),
    (
        "get azs region",
        {"Fn::GetAZs": {"Ref": "AWS::Region"}},
        ["eu-west-1a", "eu-west-1b", "eu-west-1c"],
    ),
    ("base64", {"Fn::Base64": {"Fn::Sub": "${Stage}"}}, "cHJvZA=="),
    ("equals", {"Fn::Equals": [256, {"Ref": "Size"}]}, True),
    (
        "one-key non-intrinsic",
        {"Condition": {"StringEquals": {"a": "b"}}},
        {"Condition": {"StringEquals": {"a": "b"}}},
    ),
    ("unavailable ref", {"Ref": "Url"}, GONE),
    ("unavailable sub", {"Fn::Sub": "url: ${Url.FunctionUrl}"}, GONE),
    ("unavailable join", {"Fn::Join": ["", ["a", {"Fn::GetAtt": ["Url", "FunctionUrl"]}]]}, GONE),
    ("unavailable split", {"Fn::Split": [",", {"Ref": "Url"}]}, GONE),
    ("unavailable base64", {"Fn::Base64": {"Ref": "Url"}}, GONE),
]


@pytest.mark.parametrize(
    ("value", "expected"), [v[1:] for v in VECTORS], ids=[v[0] for v in VECTORS]
)
def test_vectors(resolver, value, expected):
    assert resolver.resolve(value, "Resource F, property P") == expected


def test_novalue_at_top_level(resolver):
    assert resolver.resolve({"Ref": "AWS::NoValue"}, "here") is NO_VALUE


def test_unavailable_reads_as_not_available():
    assert str(GONE) == "(not available: AWS::Lambda::Url is not run by sluice)"


CONDITION_VALUES = [("IsProd", True), ("IsDev", False), ("ProdAndBig", True), ("DevOrBig", True)]


@pytest.mark.parametrize(("name", "expected"), CONDITION_VALUES)
def test_conditions(resolver, name, expected):
    assert resolver.condition(name, "Resource F, property Condition") is expected


ERRORS = [
    ("unknown ref", {"Ref": "Missing"}, "no resource Missing"),
    ("unknown pseudo", {"Ref": "AWS::Nope"}, "Ref AWS::Nope: not a pseudo parameter"),
    ("ref not a name", {"Ref": ["x"]}, "Ref takes the name"),
    ("unsupported", {"Fn::ImportValue": "Shared"}, "Fn::ImportValue is not supported by sluice"),
    ("unsupported nested", {"a": [{"Fn::Cidr": ["10.0.0.0/16", 2, 8]}]}, "Fn::Cidr is not"),
    ("getatt unknown", {"Fn::GetAtt": ["Nope", "Arn"]}, "no resource Nope"),
    ("getatt shape", {"Fn::GetAtt": ["Fn"]}, "Fn::GetAtt takes a list of 2 values"),
    ("sub unknown", {"Fn::Sub": "${Missing}"}, "no resource Missing"),
    ("sub list value", {"Fn::Sub": "${Zones}"}, "Fn::Sub needs a string here, not a list"),
    ("sub shape", {"Fn::Sub": 5}, "Fn::Sub takes a string"),
    ("join shape", {"Fn::Join": ["-"]}, "Fn::Join takes a list of 2 values"),
    ("join not list", {"Fn::Join": ["-", "abc"]}, "Fn::Join needs a list"),
    ("select range", {"Fn::Select": [5, ["a"]]}, "Fn::Select: index 5 is not within a list of 1"),
    ("select index", {"Fn::Select": ["x", ["a"]]}, "Fn::Select: index 'x'"),
    ("if unknown condition", {"Fn::If": ["Nope", 1, 2]}, "no condition named Nope"),
    (
        "circular condition",
        {"Fn::If": ["Loop", 1, 2]},
        "condition Loop: condition Loop refers to itself",
    ),
    ("condition error", {"Fn::If": ["Broken", 1, 2]}, "condition Broken: no resource Nope"),
    ("condition not bool", {"Fn::If": ["NotBool", 1, 2]}, "must be true or false"),
    (
        "find in map missing",
        {"Fn::FindInMap": ["Sizes", "qa", "Memory"]},
        "no entry Sizes/qa/Memory",
    ),
    ("and shape", {"Fn::And": [True]}, "Fn::And takes a list of 2 to 10 conditions"),
]


@pytest.mark.parametrize(("value", "message"), [e[1:] for e in ERRORS], ids=[e[0] for e in ERRORS])
def test_errors_name_the_place(resolver, value, message):
    with pytest.raises(TemplateError) as excinfo:
        resolver.resolve(value, "Resource HappyPathFunction, property Environment")
    text = str(excinfo.value)
    assert text.startswith("Resource HappyPathFunction, property Environment: ")
    assert message in text


def test_without_resources_only_parameters_resolve():
    resolver = Resolver(PARAMETERS)
    assert resolver.resolve({"Fn::Sub": "${Stage}"}, "here") == "prod"
    with pytest.raises(TemplateError, match="Ref Fn: no parameter of that name"):
        resolver.resolve({"Ref": "Fn"}, "Condition C")
    with pytest.raises(TemplateError, match="resources are not allowed"):
        resolver.resolve({"Fn::GetAtt": ["Fn", "Arn"]}, "Condition C")


def test_condition_errors():
    resolver = Resolver(PARAMETERS, conditions=CONDITIONS)
    with pytest.raises(TemplateError, match=r"^Resource F, property Condition: no condition"):
        resolver.condition("Nope", "Resource F, property Condition")
    with pytest.raises(TemplateError, match="must name a condition"):
        resolver.condition(["IsProd"], "Resource F, property Condition")


def test_conditions_are_shared_with_the_resource_resolver():
    plain = Resolver(PARAMETERS, conditions=CONDITIONS)
    assert plain.condition("IsProd", "x") is True
    assert plain.with_resources(FakeResources()).resolve({"Fn::If": ["IsProd", 1, 2]}, "x") == 1
