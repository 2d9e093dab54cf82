"""Parameters: values from overrides or Default, CloudFormation's checks, errors that name them."""

from __future__ import annotations

import pytest

from sluice.deploy._parameters import resolve_parameters
from sluice.errors import TemplateError

DECLARED = {
    "Stage": {"Type": "String", "Default": "dev", "AllowedValues": ["dev", "prod"]},
    "Memory": {"Type": "Number", "Default": 128, "MinValue": 128, "MaxValue": 10240},
    "Name": {"Type": "String", "AllowedPattern": "[a-z]+", "MinLength": 2, "MaxLength": 5},
    "Zones": {"Type": "CommaDelimitedList", "Default": "a, b,c"},
    "Sizes": {"Type": "List<Number>", "Default": "1,2"},
    "Flag": {"Type": "String", "Default": True},
    "Subnet": {"Type": "AWS::EC2::Subnet::Id", "Default": "subnet-1"},
}


def test_defaults_and_overrides():
    values = resolve_parameters(DECLARED, {"Name": "abc", "Stage": "prod"})
    assert values == {
        "Stage": "prod",
        "Memory": "128",
        "Name": "abc",
        "Zones": ["a", "b", "c"],
        "Sizes": ["1", "2"],
        "Flag": "true",
        "Subnet": "subnet-1",
    }


def test_empty_list_and_empty_string():
    declared = {"L": {"Type": "CommaDelimitedList", "Default": ""}, "S": {"Type": "String"}}
    assert resolve_parameters(declared, {"S": ""}) == {"L": [], "S": ""}


ERRORS = [
    ({}, "Parameter Name: no value given and the template sets no Default"),
    (
        {"Name": "abc", "Stage": "qa"},
        "Parameter Stage, property AllowedValues: value 'qa' is not one of dev, prod",
    ),
    ({"Name": "ab1"}, "Parameter Name, property AllowedPattern: value 'ab1' does not match [a-z]+"),
    ({"Name": "a"}, "Parameter Name, property MinLength: value 'a' is shorter than 2"),
    ({"Name": "abcdef"}, "Parameter Name, property MaxLength: value 'abcdef' is longer than 5"),
    (
        {"Name": "ab", "Memory": "lots"},
        "Parameter Memory, property Type: value 'lots' is not a number",
    ),
    (
        {"Name": "ab", "Memory": "64"},
        "Parameter Memory, property MinValue: value '64' is less than 128",
    ),
    (
        {"Name": "ab", "Memory": "20000"},
        "Parameter Memory, property MaxValue: value '20000' is greater than 10240",
    ),
    ({"Name": "ab", "Sizes": "1,x"}, "Parameter Sizes, property Type: value 'x' is not a number"),
    ({"Name": "ab", "Stag": "prod"}, "Parameter Stag: given as an override but not declared"),
]


@pytest.mark.parametrize(
    ("overrides", "message"), ERRORS, ids=[m.split(":")[0] + m[-12:] for _, m in ERRORS]
)
def test_errors_name_the_parameter(overrides, message):
    with pytest.raises(TemplateError) as excinfo:
        resolve_parameters(DECLARED, overrides)
    assert str(excinfo.value).startswith(message)


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("String", "Parameter P, property Type: must be a string"),
        ({"Default": "x"}, "Parameter P, property Type: must be a string"),
        (
            {"Type": "AWS::SSM::Parameter::Value<String>", "Default": "/x"},
            "Parameter P, property Type: sluice cannot read SSM parameters",
        ),
        ({"Type": "String", "Default": "x", "AllowedPattern": "("}, "not a valid pattern"),
        (
            {"Type": "String", "Default": "x", "MinLength": "two"},
            "property MinLength: must be a number",
        ),
    ],
)
def test_bad_declarations(spec, message):
    with pytest.raises(TemplateError) as excinfo:
        resolve_parameters({"P": spec}, {})
    assert message in str(excinfo.value)
