"""Physical names (spec 7.4's truncation table) and the stack's ARNs and pseudo parameters."""

from __future__ import annotations

import re

import pytest

from sluice.deploy._names import (
    ROLE_NAME_BUDGET,
    StackContext,
    check_stack_name,
    physical_name,
    random_suffix,
    stable_suffix,
)

CDK_AUTO_DELETE = "CustomS3AutoDeleteObjectsCustomResourceProviderHandler9D90184F"

# Real names from spec 7.4, each with a stack name and logical id it could have come from
# (the parts the name shows, extended where the name shows them cut).
TABLE = [
    (
        "serverlessrepo-alexa-skills-kit-nodejs-factskill",
        "alexaskillskitnodejsfactskill",
        "pymFhOcUAodv",
        "serverlessrepo-alexa-skil-alexaskillskitnodejsfact-pymFhOcUAodv",
    ),
    (
        "ApigwS3Stack",
        CDK_AUTO_DELETE,
        "Sfisq5METC1E",
        "ApigwS3Stack-CustomS3AutoDeleteObjectsCustomResour-Sfisq5METC1E",
    ),
    (
        "Multiverse-Test",
        CDK_AUTO_DELETE,
        "ylAbQnR81gGR",
        "Multiverse-Test-CustomS3AutoDeleteObjectsCustomRes-ylAbQnR81gGR",
    ),
    (
        "AppStack",
        "CustomCDKBucketDeployment8693BB64968944B681AEEE7BA",
        "GQdSBL5N4uaZ",
        "AppStack-CustomCDKBucketDeployment8693BB64968944B6-GQdSBL5N4uaZ",
    ),
    (
        "serverlessrepo-ComprehendPiiRedactionS3ObjectLambda",
        "PiiRedactionFunction",
        "0JkwowHd0ZnO",
        "serverlessrepo-ComprehendPiiR-PiiRedactionFunction-0JkwowHd0ZnO",
    ),
    (
        "serverlessrepo-CloudFormation-DataSource-Example",
        "CfnDataSource",
        "fAfHlyeq6jUp",
        "serverlessrepo-CloudFormation-DataSo-CfnDataSource-fAfHlyeq6jUp",
    ),
    (  # the old 13-character suffix: the parts are cut the same way
        "mylongerapp-playground-new-stack",
        "InstancesLifecycleHandler",
        "1GRP3N0TVA1LD",
        "mylongerapp-playground-ne-InstancesLifecycleHandle-1GRP3N0TVA1LD",
    ),
    (  # the seed pattern never needs truncation
        "lambda-streaming-sdk-sam",
        "MidstreamErrorFunction",
        "Ab12Cd34Ef56",
        "lambda-streaming-sdk-sam-MidstreamErrorFunction-Ab12Cd34Ef56",
    ),
]


@pytest.mark.parametrize(("stack", "logical_id", "suffix", "expected"), TABLE)
def test_truncation_matches_real_names(stack, logical_id, suffix, expected):
    assert physical_name(stack, logical_id, suffix) == expected


def test_longest_name_is_63_characters():
    assert len(physical_name("s" * 128, "L" * 255, random_suffix())) == 63


def test_role_names_use_their_own_budget():
    name = physical_name("SamArbBotStack", CDK_AUTO_DELETE, "lwKLiavXCPYj", ROLE_NAME_BUDGET)
    assert name == "SamArbBotStack-CustomS3AutoDeleteObjectsCustomResou-lwKLiavXCPYj"


def test_suffixes():
    suffixes = {random_suffix() for _ in range(20)}
    assert len(suffixes) == 20
    assert all(re.fullmatch(r"[A-Za-z0-9]{12}", s) for s in suffixes)
    assert stable_suffix("a") == stable_suffix("a") != stable_suffix("b")
    assert re.fullmatch(r"[A-Za-z0-9]{12}", stable_suffix("a"))


@pytest.mark.parametrize("stack", ["a", "my-stack-1", "A" * 128])
def test_good_stack_names(stack):
    check_stack_name(stack)


@pytest.mark.parametrize("stack", ["", "1stack", "my_stack", "my stack", "a" * 129, "-a"])
def test_bad_stack_names(stack):
    with pytest.raises(ValueError, match="must start with a letter"):
        check_stack_name(stack)


def test_stack_context():
    stack = StackContext.new("app", "eu-west-1", "123456789012", None)
    assert re.fullmatch(
        r"arn:aws:cloudformation:eu-west-1:123456789012:stack/app/[0-9a-f-]{36}", stack.stack_id
    )
    assert StackContext.new("app", "eu-west-1", "123456789012", "kept").stack_id == "kept"
    assert stack.function_arn("f") == "arn:aws:lambda:eu-west-1:123456789012:function:f"
    role = stack.role_name("HappyPathFunctionRole")
    assert re.fullmatch(r"app-HappyPathFunctionRole-[A-Za-z0-9]{12}", role)
    assert role == stack.role_name("HappyPathFunctionRole")  # stable across redeploys
    assert stack.role_arn(role) == f"arn:aws:iam::123456789012:role/{role}"
    assert stack.pseudo_parameters() == {
        "AWS::Region": "eu-west-1",
        "AWS::AccountId": "123456789012",
        "AWS::StackName": "app",
        "AWS::StackId": stack.stack_id,
        "AWS::Partition": "aws",
        "AWS::URLSuffix": "amazonaws.com",
        "AWS::NotificationARNs": [],
    }


@pytest.mark.parametrize(
    ("region", "partition", "suffix"),
    [
        ("us-east-1", "aws", "amazonaws.com"),
        ("cn-north-1", "aws-cn", "amazonaws.com.cn"),
        ("us-gov-west-1", "aws-us-gov", "amazonaws.com"),
    ],
)
def test_partitions(region, partition, suffix):
    stack = StackContext.new("app", region, "000000000000", None)
    assert (stack.partition, stack.url_suffix) == (partition, suffix)
    assert stack.function_arn("f").startswith(f"arn:{partition}:lambda:{region}:")
