"""The Lambda control plane through boto3 against a real `sluice serve`."""

from __future__ import annotations

import json
import urllib.request

import pytest
from botocore.exceptions import ClientError

from tests.conftest import REGION, create_function, error_of, make_zip, unique

HANDLER = {"app.py": "def handler(event, context):\n    return event\n"}


def test_create_get_update_delete(lambda_client):
    name = unique("crud")
    created = create_function(
        lambda_client, name, HANDLER, Environment={"Variables": {"GREETING": "hi"}}
    )
    assert created["FunctionArn"] == f"arn:aws:lambda:{REGION}:000000000000:function:{name}"
    assert created["State"] == "Active"
    got = lambda_client.get_function(FunctionName=name)
    assert got["Configuration"]["Environment"] == {"Variables": {"GREETING": "hi"}}
    with urllib.request.urlopen(got["Code"]["Location"]) as download:
        assert download.read()[:2] == b"PK"
    config = lambda_client.update_function_configuration(FunctionName=name, Timeout=7)
    assert config["Timeout"] == 7 and config["RevisionId"] != created["RevisionId"]
    code = lambda_client.update_function_code(
        FunctionName=name, ZipFile=make_zip({"app.py": "def handler(e, c):\n    return 2\n"})
    )
    assert code["CodeSha256"] != created["CodeSha256"]
    assert json.load(lambda_client.invoke(FunctionName=name)["Payload"]) == 2
    by_arn = lambda_client.get_function_configuration(FunctionName=created["FunctionArn"])
    assert by_arn["FunctionName"] == name
    lambda_client.delete_function(FunctionName=name)
    with pytest.raises(ClientError) as excinfo:
        lambda_client.get_function(FunctionName=name)
    assert error_of(excinfo) == (
        "ResourceNotFoundException",
        404,
        f"Function not found: arn:aws:lambda:{REGION}:000000000000:function:{name}",
    )


def test_tags(lambda_client):
    arn = create_function(lambda_client, unique("tags"), HANDLER, Tags={"a": "1"})["FunctionArn"]
    lambda_client.tag_resource(Resource=arn, Tags={"b": "2", "c": "3"})
    lambda_client.untag_resource(Resource=arn, TagKeys=["c"])
    assert lambda_client.list_tags(Resource=arn)["Tags"] == {"a": "1", "b": "2"}


def test_list_functions_pages_of_fifty(lambda_client, server):
    prefix = unique("page")
    for index in range(53):
        create_function(lambda_client, f"{prefix}-{index:02d}", HANDLER)
    first = lambda_client.list_functions(MaxItems=500)
    assert len(first["Functions"]) == 50 and first["NextMarker"]
    names = [
        fn["FunctionName"]
        for page in lambda_client.get_paginator("list_functions").paginate()
        for fn in page["Functions"]
    ]
    assert len([n for n in names if n.startswith(prefix)]) == 53
    assert len(names) == len(set(names))
    with urllib.request.urlopen(f"{server.url}/2015-03-31/functions/?MaxItems=2") as legacy:
        assert len(json.load(legacy)["Functions"]) == 2


def test_duplicate_create_conflicts(lambda_client):
    name = unique("dup")
    create_function(lambda_client, name, HANDLER)
    with pytest.raises(ClientError) as excinfo:
        create_function(lambda_client, name, HANDLER)
    assert error_of(excinfo)[:2] == ("ResourceConflictException", 409)
