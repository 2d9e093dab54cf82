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


BAD_CREATES = [
    pytest.param({"FunctionName": "bad name!"}, "ValidationException", 400, id="invalid-name"),
    pytest.param({"FunctionName": "x" * 65}, "ValidationException", 400, id="name-too-long"),
    pytest.param({"Runtime": "cobol85"}, "ValidationException", 400, id="unknown-runtime"),
    pytest.param({"Runtime": "java21"}, "InvalidParameterValueException", 400, id="unrun-runtime"),
    pytest.param(
        {"Handler": "../evil.handler"}, "InvalidParameterValueException", 400, id="dotdot"
    ),
    pytest.param({"Handler": "/etc/passwd.x"}, "InvalidParameterValueException", 400, id="abs"),
    pytest.param({"Timeout": 901}, "ValidationException", 400, id="timeout-over-900"),
    pytest.param({"MemorySize": 20000}, "ValidationException", 400, id="memory-over-10240"),
    pytest.param({"Role": "not-a-role"}, "ValidationException", 400, id="bad-role"),
    pytest.param(
        {"Environment": {"Variables": {"AWS_REGION": "x"}}},
        "InvalidParameterValueException",
        400,
        id="reserved-env",
    ),
    pytest.param(
        {"Code": {"ZipFile": b"not a zip"}}, "InvalidParameterValueException", 400, id="not-zip"
    ),
    pytest.param(
        {"Code": {"ZipFile": make_zip({"../escape.py": "x"})}},
        "InvalidParameterValueException",
        400,
        id="zip-escape",
    ),
]


@pytest.mark.parametrize(("override", "code", "status"), BAD_CREATES)
def test_bad_create_is_refused_and_nothing_stored(lambda_client, override, code, status):
    name = override.pop("FunctionName", unique("bad"))
    with pytest.raises(ClientError) as excinfo:
        create_function(lambda_client, name, HANDLER, **override)
    assert error_of(excinfo)[:2] == (code, status)
    if len(name) <= 64 and name.replace("-", "").isalnum():
        with pytest.raises(ClientError) as missing:
            lambda_client.get_function(FunctionName=name)
        assert error_of(missing)[0] == "ResourceNotFoundException"


def test_duplicate_create_conflicts(lambda_client):
    name = unique("dup")
    create_function(lambda_client, name, HANDLER)
    with pytest.raises(ClientError) as excinfo:
        create_function(lambda_client, name, HANDLER)
    assert error_of(excinfo)[:2] == ("ResourceConflictException", 409)


def test_invoke_bad_input(lambda_client):
    name = unique("inv-bad")
    create_function(lambda_client, name, HANDLER)
    with pytest.raises(ClientError) as excinfo:
        lambda_client.invoke(FunctionName=unique("missing"))
    assert error_of(excinfo)[:2] == ("ResourceNotFoundException", 404)
    assert error_of(excinfo)[2].endswith(":$LATEST") or "function:" in error_of(excinfo)[2]
    with pytest.raises(ClientError) as excinfo:
        lambda_client.invoke(FunctionName=name, Payload=b"{not json")
    assert error_of(excinfo)[:2] == ("InvalidRequestContentException", 400)
    with pytest.raises(ClientError) as excinfo:
        lambda_client.invoke(FunctionName=name, Payload=b'"' + b"x" * 6_291_456 + b'"')
    code, status, message = error_of(excinfo)
    assert (code, status) == ("RequestEntityTooLargeException", 413)
    assert message == "Request must be smaller than 6291456 bytes for the InvokeFunction operation"
    with pytest.raises(ClientError) as excinfo:
        lambda_client.invoke(FunctionName=name, Qualifier="7")
    assert error_of(excinfo)[:2] == ("ResourceNotFoundException", 404)
    with pytest.raises(ClientError) as excinfo:
        lambda_client.invoke_with_response_stream(FunctionName="bad:name:x:y:z")
    assert error_of(excinfo)[0] == "ValidationException"
    assert json.load(lambda_client.invoke(FunctionName=name, Payload=b'{"ok": 1}')["Payload"]) == {
        "ok": 1
    }


def test_unknown_path_is_an_aws_error(server):
    request = urllib.request.Request(f"{server.url}/2015-03-31/nothing-here", method="POST")
    with pytest.raises(urllib.error.HTTPError) as excinfo:
        urllib.request.urlopen(request)
    assert excinfo.value.code == 404
    assert excinfo.value.headers["x-amzn-ErrorType"] == "ResourceNotFoundException"
    assert excinfo.value.headers["x-amzn-RequestId"]
    excinfo.value.close()
