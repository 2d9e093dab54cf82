"""The function URL control plane (Create/Get/Update/Delete/ListFunctionUrlConfig(s)) through
boto3 against a real `sluice serve`: shapes, defaults, errors worded as AWS words them, and
URLs that outlive a restart."""

from __future__ import annotations

import re
from typing import Any

import botocore.session
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from tests.conftest import REGION, client_for, create_function, error_of, start_server, unique

HANDLER = {"app.py": "def handler(event, context):\n    return event\n"}
ACCOUNT = "000000000000"
NO_FUNCTION = "Function does not exist"
NO_RESOURCE = "The resource you requested does not exist."
ALL_CORS = {
    "AllowCredentials": True,
    "AllowHeaders": ["content-type", "x-custom"],
    "AllowMethods": ["GET", "POST"],
    "AllowOrigins": ["https://example.com", "http://localhost:8080"],
    "ExposeHeaders": ["x-request-id"],
    "MaxAge": 300,
}
MODEL = botocore.session.get_session().get_service_model("lambda")


@pytest.fixture(scope="module")
def raw_client(server):
    """A client that sends what it is given: botocore checks nothing before the server."""
    return botocore.session.get_session().create_client(
        "lambda",
        endpoint_url=server.url,
        region_name=REGION,
        aws_access_key_id="test",
        aws_secret_access_key="test",
        config=Config(retries={"max_attempts": 1}, parameter_validation=False),
    )


def _check_shape(operation: str, body: dict[str, Any]) -> None:
    """Every member the server sent is in the operation's output shape, with its type; every
    required member is there. (botocore would silently drop an unknown member.)"""
    shape = MODEL.operation_model(operation).output_shape
    _check_members(shape, body)


def _check_members(shape, value: Any) -> None:
    if shape.type_name == "structure":
        assert isinstance(value, dict)
        assert set(value) <= set(shape.members), (shape.name, set(value) - set(shape.members))
        for name in shape.required_members:
            assert name in value, (shape.name, name)
        for name, member in value.items():
            _check_members(shape.members[name], member)
    elif shape.type_name == "list":
        assert isinstance(value, list)
        for item in value:
            _check_members(shape.member, item)
    elif shape.type_name == "string":
        assert isinstance(value, str)
        if shape.enum:
            assert value in shape.enum
    elif shape.type_name == "integer":
        assert isinstance(value, int) and not isinstance(value, bool)
    elif shape.type_name == "boolean":
        assert isinstance(value, bool)


def _body(response: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in response.items() if k != "ResponseMetadata"}


def _assert_url(url: str, server) -> str:
    """`http://<32 [a-z0-9]>.lambda-url.<region>.localhost:<port>/`; returns the id."""
    match = re.fullmatch(
        rf"http://([a-z0-9]{{32}})\.lambda-url\.{REGION}\.localhost:{server.port}/", url
    )
    assert match, url
    assert 40 <= len(url) <= 100  # the model's FunctionUrl length
    return match.group(1)


def _assert_time(value: str) -> None:
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z", value), value


def test_lifecycle_defaults_and_partial_updates(lambda_client, server):
    name = unique("url")
    arn = create_function(lambda_client, name, HANDLER)["FunctionArn"]

    created = lambda_client.create_function_url_config(FunctionName=name, AuthType="NONE")
    assert created["ResponseMetadata"]["HTTPStatusCode"] == 201
    _check_shape("CreateFunctionUrlConfig", _body(created))
    # As AWS answers a create without InvokeMode: no InvokeMode, no LastModifiedTime.
    assert set(_body(created)) == {"FunctionUrl", "FunctionArn", "AuthType", "CreationTime"}
    assert created["FunctionArn"] == arn
    assert created["AuthType"] == "NONE"
    _assert_time(created["CreationTime"])
    url_id = _assert_url(created["FunctionUrl"], server)

    got = lambda_client.get_function_url_config(FunctionName=name)
    _check_shape("GetFunctionUrlConfig", _body(got))
    assert _body(got) == {
        "FunctionUrl": created["FunctionUrl"],
        "FunctionArn": arn,
        "AuthType": "NONE",
        "CreationTime": created["CreationTime"],
        "LastModifiedTime": created["CreationTime"],
        "InvokeMode": "BUFFERED",
    }

    with_cors = lambda_client.update_function_url_config(FunctionName=name, Cors=ALL_CORS)
    _check_shape("UpdateFunctionUrlConfig", _body(with_cors))
    assert with_cors["Cors"] == ALL_CORS
    assert with_cors["LastModifiedTime"] > created["CreationTime"]

    # Only AuthType: CORS, invoke mode, the URL and its creation time stay.
    iam = lambda_client.update_function_url_config(FunctionName=arn, AuthType="AWS_IAM")
    assert iam["AuthType"] == "AWS_IAM"
    assert iam["Cors"] == ALL_CORS
    assert iam["InvokeMode"] == "BUFFERED"
    assert iam["FunctionUrl"] == created["FunctionUrl"]
    assert iam["CreationTime"] == created["CreationTime"]

    streaming = lambda_client.update_function_url_config(
        FunctionName=name, InvokeMode="RESPONSE_STREAM"
    )
    assert (streaming["AuthType"], streaming["InvokeMode"]) == ("AWS_IAM", "RESPONSE_STREAM")
    nothing = lambda_client.update_function_url_config(FunctionName=name)
    assert _body(nothing) | {"LastModifiedTime": None} == _body(streaming) | {
        "LastModifiedTime": None
    }
    # An empty Cors structure removes the CORS settings.
    no_cors = lambda_client.update_function_url_config(FunctionName=name, Cors={})
    assert "Cors" not in no_cors

    listed = lambda_client.list_function_url_configs(FunctionName=name)
    _check_shape("ListFunctionUrlConfigs", _body(listed))
    assert listed["FunctionUrlConfigs"] == [_body(no_cors)]
    assert "NextMarker" not in listed
    assert _assert_url(listed["FunctionUrlConfigs"][0]["FunctionUrl"], server) == url_id

    deleted = lambda_client.delete_function_url_config(FunctionName=name)
    assert deleted["ResponseMetadata"]["HTTPStatusCode"] == 204
    with pytest.raises(ClientError) as excinfo:
        lambda_client.get_function_url_config(FunctionName=name)
    assert error_of(excinfo) == ("ResourceNotFoundException", 404, NO_RESOURCE)
    assert lambda_client.list_function_url_configs(FunctionName=name)["FunctionUrlConfigs"] == []
    # A new URL gets a new address, as on AWS.
    again = lambda_client.create_function_url_config(FunctionName=name, AuthType="NONE")
    assert _assert_url(again["FunctionUrl"], server) != url_id


def test_create_with_everything(lambda_client, server):
    name = unique("url-all")
    create_function(lambda_client, name, HANDLER)
    created = lambda_client.create_function_url_config(
        FunctionName=name, AuthType="AWS_IAM", InvokeMode="RESPONSE_STREAM", Cors=ALL_CORS
    )
    _check_shape("CreateFunctionUrlConfig", _body(created))
    assert created["InvokeMode"] == "RESPONSE_STREAM"  # echoed when it was given
    assert created["Cors"] == ALL_CORS
    assert "LastModifiedTime" not in created
    got = lambda_client.get_function_url_config(FunctionName=name)
    assert got["Cors"] == ALL_CORS
    assert (got["AuthType"], got["InvokeMode"]) == ("AWS_IAM", "RESPONSE_STREAM")
    # Only the Cors members given are kept and echoed.
    partial = lambda_client.update_function_url_config(
        FunctionName=name, Cors={"AllowOrigins": ["*"]}
    )
    assert partial["Cors"] == {"AllowOrigins": ["*"]}


def test_duplicate_create_conflicts(lambda_client):
    name = unique("url-dup")
    arn = create_function(lambda_client, name, HANDLER)["FunctionArn"]
    first = lambda_client.create_function_url_config(FunctionName=name, AuthType="NONE")
    with pytest.raises(ClientError) as excinfo:
        lambda_client.create_function_url_config(FunctionName=name, AuthType="AWS_IAM")
    assert error_of(excinfo) == (
        "ResourceConflictException",
        409,
        f"Failed to create function url config for [functionArn = {arn}]. Error message:  "
        "FunctionUrlConfig exists for this Lambda function",
    )
    assert excinfo.value.response["Type"] == "User"
    got = lambda_client.get_function_url_config(FunctionName=name)
    assert (got["FunctionUrl"], got["AuthType"]) == (first["FunctionUrl"], "NONE")


@pytest.mark.parametrize(
    ("operation", "message"),
    [
        ("create_function_url_config", NO_FUNCTION),
        ("get_function_url_config", NO_RESOURCE),
        ("update_function_url_config", NO_FUNCTION),
        ("delete_function_url_config", NO_RESOURCE),
        ("list_function_url_configs", NO_FUNCTION),
    ],
)
def test_unknown_function(lambda_client, operation, message):
    extra = {"AuthType": "NONE"} if operation == "create_function_url_config" else {}
    for function in (
        "doesnotexist",
        f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:doesnotexist",
        f"arn:aws:lambda:us-west-2:{ACCOUNT}:function:doesnotexist",
    ):
        with pytest.raises(ClientError) as excinfo:
            getattr(lambda_client, operation)(FunctionName=function, **extra)
        assert error_of(excinfo) == ("ResourceNotFoundException", 404, message)


@pytest.mark.parametrize(
    ("operation", "message"),
    [
        ("get_function_url_config", NO_RESOURCE),
        ("update_function_url_config", NO_RESOURCE),
        ("delete_function_url_config", NO_RESOURCE),
    ],
)
def test_function_without_url(lambda_client, operation, message):
    name = unique("url-none")
    create_function(lambda_client, name, HANDLER)
    with pytest.raises(ClientError) as excinfo:
        getattr(lambda_client, operation)(FunctionName=name)
    assert error_of(excinfo) == ("ResourceNotFoundException", 404, message)


def test_qualifiers(lambda_client):
    name = unique("url-q")
    create_function(lambda_client, name, HANDLER)
    pattern = "Member must satisfy regular expression pattern: ((?!^\\d+$)^[0-9a-zA-Z-_]+$)"
    for qualifier in ("$LATEST", "1"):
        with pytest.raises(ClientError) as excinfo:
            lambda_client.get_function_url_config(FunctionName=name, Qualifier=qualifier)
        assert error_of(excinfo) == (
            "ValidationException",
            400,
            f"1 validation error detected: Value '{qualifier}' at 'qualifier' failed to "
            f"satisfy constraint: {pattern}",
        )
    # An alias: sluice has none, so it is missing, in each operation's words.
    with pytest.raises(ClientError) as excinfo:
        lambda_client.create_function_url_config(
            FunctionName=name, Qualifier="live", AuthType="NONE"
        )
    assert error_of(excinfo) == ("ResourceNotFoundException", 404, NO_FUNCTION)
    with pytest.raises(ClientError) as excinfo:
        lambda_client.get_function_url_config(FunctionName=f"{name}:live")
    assert error_of(excinfo) == ("ResourceNotFoundException", 404, NO_RESOURCE)
    with pytest.raises(ClientError) as excinfo:
        lambda_client.update_function_url_config(FunctionName=f"{name}:live", Qualifier="other")
    assert error_of(excinfo) == (
        "InvalidParameterValueException",
        400,
        "The derived qualifier from the function name does not match the specified qualifier.",
    )
    assert lambda_client.list_function_url_configs(FunctionName=name)["FunctionUrlConfigs"] == []


def _violation(value: str, member: str, constraint: str) -> str:
    return (
        f"1 validation error detected: Value {value} at '{member}' failed to satisfy "
        f"constraint: {constraint}"
    )


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({}, _violation("null", "authType", "Member must not be null")),
        (
            {"AuthType": "OPEN"},
            _violation("'OPEN'", "authType", "Member must satisfy enum value set: [NONE, AWS_IAM]"),
        ),
        (
            {"AuthType": "NONE", "InvokeMode": "UNKNOWN"},
            _violation(
                "'UNKNOWN'",
                "invokeMode",
                "Member must satisfy enum value set: [RESPONSE_STREAM, BUFFERED]",
            ),
        ),
        (
            {"AuthType": "NONE", "Cors": {"MaxAge": 86401}},
            _violation(
                "'86401'", "cors.maxAge", "Member must have value less than or equal to 86400"
            ),
        ),
        (
            {"AuthType": "NONE", "Cors": {"MaxAge": -1}},
            _violation("'-1'", "cors.maxAge", "Member must have value greater than or equal to 0"),
        ),
        (
            {"AuthType": "NONE", "Cors": {"AllowMethods": ["GET"] * 7}},
            _violation(
                "'[GET, GET, GET, GET, GET, GET, GET]'",
                "cors.allowMethods",
                "Member must have length less than or equal to 6",
            ),
        ),
        (
            {"AuthType": "NONE", "Cors": {"AllowMethods": ["OPTIONS"]}},
            _violation(
                "'OPTIONS'",
                "cors.allowMethods.member",
                "Member must have length less than or equal to 6",
            ),
        ),
        (
            {"AuthType": "NONE", "Cors": {"AllowOrigins": [""]}},
            _violation(
                "''",
                "cors.allowOrigins.member",
                "Member must have length greater than or equal to 1",
            ),
        ),
        (
            {"AuthType": "NONE", "Cors": {"AllowHeaders": ["x" * 1025]}},
            _violation(
                f"'{'x' * 1025}'",
                "cors.allowHeaders.member",
                "Member must have length less than or equal to 1024",
            ),
        ),
    ],
    ids=[
        "no-auth-type",
        "bad-auth-type",
        "bad-invoke-mode",
        "max-age-high",
        "max-age-negative",
        "too-many-methods",
        "long-method",
        "empty-origin",
        "long-header",
    ],
)
def test_invalid_settings_are_refused(lambda_client, raw_client, params, message):
    name = unique("url-bad")
    create_function(lambda_client, name, HANDLER)
    with pytest.raises(ClientError) as excinfo:
        raw_client.create_function_url_config(FunctionName=name, **params)
    assert error_of(excinfo) == ("ValidationException", 400, message)
    with pytest.raises(ClientError) as excinfo:
        lambda_client.get_function_url_config(FunctionName=name)
    assert error_of(excinfo)[2] == NO_RESOURCE  # nothing was created
    if not params:
        return
    # The same checks apply to an update, which then changes nothing.
    lambda_client.create_function_url_config(FunctionName=name, AuthType="NONE")
    with pytest.raises(ClientError) as excinfo:
        raw_client.update_function_url_config(FunctionName=name, **params)
    assert error_of(excinfo) == ("ValidationException", 400, message)
    got = lambda_client.get_function_url_config(FunctionName=name)
    assert (got["AuthType"], got["InvokeMode"], "Cors" in got) == ("NONE", "BUFFERED", False)


def test_list_pagination(lambda_client, raw_client):
    name = unique("url-list")
    create_function(lambda_client, name, HANDLER)
    assert lambda_client.list_function_url_configs(FunctionName=name)["FunctionUrlConfigs"] == []
    lambda_client.create_function_url_config(FunctionName=name, AuthType="NONE")
    page = lambda_client.list_function_url_configs(FunctionName=name, MaxItems=1)
    assert len(page["FunctionUrlConfigs"]) == 1 and "NextMarker" not in page
    paginator = lambda_client.get_paginator("list_function_url_configs")
    pages = list(paginator.paginate(FunctionName=name, PaginationConfig={"PageSize": 1}))
    assert [len(p["FunctionUrlConfigs"]) for p in pages] == [1]
    for bad, constraint in (
        (0, "Member must have value greater than or equal to 1"),
        (51, "Member must have value less than or equal to 50"),
    ):
        with pytest.raises(ClientError) as excinfo:
            raw_client.list_function_url_configs(FunctionName=name, MaxItems=bad)
        assert error_of(excinfo) == (
            "ValidationException",
            400,
            _violation(f"'{bad}'", "maxItems", constraint),
        )
    with pytest.raises(ClientError) as excinfo:
        lambda_client.list_function_url_configs(FunctionName=name, Marker="a")
    assert error_of(excinfo)[:2] == ("InvalidParameterValueException", 400)


def test_deleting_the_function_deletes_its_url(lambda_client):
    name = unique("url-fn")
    create_function(lambda_client, name, HANDLER)
    lambda_client.create_function_url_config(FunctionName=name, AuthType="NONE")
    lambda_client.delete_function(FunctionName=name)
    with pytest.raises(ClientError) as excinfo:
        lambda_client.get_function_url_config(FunctionName=name)
    assert error_of(excinfo) == ("ResourceNotFoundException", 404, NO_RESOURCE)
    create_function(lambda_client, name, HANDLER)
    assert lambda_client.list_function_url_configs(FunctionName=name)["FunctionUrlConfigs"] == []


def test_url_survives_a_restart(tmp_path):
    data_dir = tmp_path / "data"
    first = start_server(data_dir)
    try:
        client = client_for(first.url)
        create_function(client, "kept", HANDLER)
        created = client.create_function_url_config(
            FunctionName="kept", AuthType="AWS_IAM", Cors={"AllowOrigins": ["*"]}
        )
    finally:
        assert first.stop() == 0
    second = start_server(data_dir)
    try:
        got = client_for(second.url).get_function_url_config(FunctionName="kept")
        assert _assert_url(got["FunctionUrl"], second) == _assert_url(created["FunctionUrl"], first)
        assert got["CreationTime"] == created["CreationTime"]
        assert (got["AuthType"], got["Cors"]) == ("AWS_IAM", {"AllowOrigins": ["*"]})
    finally:
        assert second.stop() == 0
