"""`sluice.protocol.awserrors.ERROR_TABLE` against botocore's Lambda service model."""

from __future__ import annotations

import inspect
import json

import botocore.session
import pytest
from botocore.awsrequest import HeadersDict
from botocore.parsers import create_parser

from sluice import errors
from sluice.protocol.awserrors import ERROR_TABLE, AwsError, render_error

SERVICE_MODEL = botocore.session.get_session().get_service_model("lambda")
MODELLED = {shape.name: shape for shape in SERVICE_MODEL.error_shapes}

# Codes sluice answers that are deliberately not the model's (see awserrors.py):
NOT_MODELLED = {
    # What the service answers for constraint violations; not in Lambda's model.
    "ValidationException",
    # Spec decision 7: the wire code instead of the modelled RequestTooLargeException.
    "RequestEntityTooLargeException",
}


def _row_id(item: tuple[type[errors.ApiError], AwsError]) -> str:
    return item[0].__name__


ROWS = sorted(ERROR_TABLE.items(), key=_row_id)


def _message_member(shape) -> str:
    members = [name for name in shape.members if name.lower() == "message"]
    assert len(members) == 1, (shape.name, list(shape.members))
    return members[0]


def _make(cls: type[errors.ApiError]) -> errors.ApiError:
    return cls(f'{cls.__name__} happened: ünïcode and "quotes"')


@pytest.mark.parametrize(("cls", "row"), ROWS, ids=[_row_id(item) for item in ROWS])
def test_row_matches_service_model(cls, row):
    if row.code in NOT_MODELLED:
        assert row.code not in MODELLED, f"{row.code} is modelled now: drop the exception"
        return
    shape = MODELLED.get(row.code)
    assert shape is not None, f"{cls.__name__}: {row.code} is not a Lambda error shape"
    assert shape.metadata["error"]["httpStatusCode"] == row.status
    assert _message_member(shape) == row.message_member


def test_documented_exceptions_to_the_model():
    by_class = {cls: row for cls, row in ERROR_TABLE.items()}
    # A bad zip is answered as InvalidParameterValueException (400), not the modelled
    # InvalidZipFileException (502).
    assert by_class[errors.InvalidZipFile].code == "InvalidParameterValueException"
    assert MODELLED["InvalidZipFileException"].metadata["error"]["httpStatusCode"] == 502
    # RequestEntityTooLargeException replaces the modelled RequestTooLargeException; the
    # status and message member are the modelled shape's.
    too_large = by_class[errors.RequestTooLarge]
    modelled = MODELLED["RequestTooLargeException"]
    assert too_large.code == "RequestEntityTooLargeException"
    assert modelled.metadata["error"]["httpStatusCode"] == too_large.status == 413
    assert _message_member(modelled) == too_large.message_member
    assert by_class[errors.ValidationFailed].code == "ValidationException"


@pytest.mark.parametrize(("cls", "row"), ROWS, ids=[_row_id(item) for item in ROWS])
def test_render_error_parses_with_botocore(cls, row):
    exc = _make(cls)
    status, headers, body = render_error(exc, "req-123")
    assert status == row.status
    assert dict(headers)["x-amzn-ErrorType"] == row.code
    assert dict(headers)["Content-Type"] == "application/json"
    document = json.loads(body)
    assert document[row.message_member] == exc.message

    operation = SERVICE_MODEL.operation_model("GetFunction")
    parser = create_parser("rest-json")
    response = {"status_code": status, "headers": HeadersDict(headers), "body": body}
    parsed = parser.parse(response, operation.output_shape)
    assert parsed["Error"]["Code"] == row.code
    assert parsed["Error"]["Message"] == exc.message
    assert parsed["ResponseMetadata"]["HTTPStatusCode"] == status
    assert parsed["ResponseMetadata"]["RequestId"] == "req-123"

    # What botocore's endpoint adds for modelled errors: the shape's own members.
    shape = SERVICE_MODEL.shape_for_error_code(row.code)
    if row.code in NOT_MODELLED:
        assert shape is None
        return
    modelled = parser.parse(response, shape)
    assert modelled[row.message_member] == exc.message
    assert modelled["Type"] == ("User" if status < 500 else "Service")


def test_too_many_requests_carries_retry_after_and_reason():
    exc = errors.TooManyRequests("Rate Exceeded.", retry_after_seconds=3)
    status, headers, body = render_error(exc, "req-429")
    response = {"status_code": status, "headers": HeadersDict(headers), "body": body}
    shape = SERVICE_MODEL.shape_for_error_code("TooManyRequestsException")
    modelled = create_parser("rest-json").parse(response, shape)
    assert modelled["retryAfterSeconds"] == "3"
    assert modelled["Reason"] == "ReservedFunctionConcurrentInvocationLimitExceeded"
    assert modelled["message"] == "Rate Exceeded."


def _api_error_classes() -> list[type[errors.ApiError]]:
    found = {
        obj
        for obj in vars(errors).values()
        if inspect.isclass(obj) and issubclass(obj, errors.ApiError) and obj is not errors.ApiError
    }
    pending = [errors.ApiError]
    while pending:
        for sub in pending.pop().__subclasses__():
            if sub.__module__ == errors.__name__:
                found.add(sub)
                pending.append(sub)
    return sorted(found, key=lambda cls: cls.__name__)


def test_every_api_error_has_a_row():
    classes = _api_error_classes()
    assert len(classes) >= 10
    missing = [cls.__name__ for cls in classes if cls not in ERROR_TABLE]
    assert missing == []
