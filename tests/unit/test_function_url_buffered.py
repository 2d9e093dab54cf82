"""BUFFERED: the function's result → one HTTP response, against AWS's recorded answers."""

from __future__ import annotations

import base64
import json

import pytest

from sluice.protocol.function_url import (
    FUNCTION_ERROR_BODY,
    HttpReply,
    buffered_response,
    function_error_reply,
)

JSON_TYPE = ("content-type", "application/json")
ERROR = HttpReply(502, (JSON_TYPE,), b"Internal Server Error")


def reply(result: object) -> HttpReply:
    return buffered_response(json.dumps(result).encode(), False)


# What real function URLs answered for a Python handler returning each value (LocalStack
# TestLambdaURL::test_lambda_url_invocation, AWS-validated 2025-11-24): the payload is what
# awslambdaric sends (json.dumps, with its spaces), then status, Content-Type, body.
RECORDED = [
    ("dict", b'{"hello": "world"}', b'{"hello":"world"}'),
    ("http-response", b'{"statusCode": 200, "body": "body123"}', b"body123"),
    (
        "http-response-json",
        b'{"statusCode": 200, "body": "{\\"hello\\": \\"world\\"}"}',
        b'{"hello": "world"}',
    ),
    ("list-mixed", b'["hello", 3, true]', b'["hello",3,true]'),
    ("string", b'"hello"', b"hello"),
    ("integer", b"3", b"3"),
    ("float", b"3.1", b"3.1"),
    ("boolean", b"true", b"true"),
]


@pytest.mark.parametrize(
    ("payload", "body"), [row[1:] for row in RECORDED], ids=[row[0] for row in RECORDED]
)
def test_recorded_answers(payload, body):
    assert buffered_response(payload, False) == HttpReply(200, (JSON_TYPE,), body)


def test_docs_string_example_is_now_unquoted():
    """The docs show `"Hello, world!"` with quotes (15 bytes); AWS sends the text itself."""
    assert reply("Hello, world!").body == b"Hello, world!"


def test_docs_custom_response_example():
    result = reply(
        {
            "statusCode": 201,
            "headers": {"Content-Type": "application/json", "My-Custom-Header": "Custom Value"},
            "body": json.dumps({"message": "Hello, world!"}),
            "isBase64Encoded": False,
        }
    )
    assert result == HttpReply(
        201,
        (("content-type", "application/json"), ("my-custom-header", "Custom Value")),
        b'{"message": "Hello, world!"}',
    )


def test_docs_cookies_example():
    result = reply(
        {
            "statusCode": 201,
            "headers": {"Content-Type": "application/json", "My-Custom-Header": "Custom Value"},
            "body": "{}",
            "cookies": [
                "Cookie_1=Value1; Expires=21 Oct 2021 07:48 GMT",
                "Cookie_2=Value2; Max-Age=78000",
            ],
            "isBase64Encoded": False,
        }
    )
    assert result.headers == (
        ("content-type", "application/json"),
        ("my-custom-header", "Custom Value"),
        ("set-cookie", "Cookie_1=Value1; Expires=21 Oct 2021 07:48 GMT"),
        ("set-cookie", "Cookie_2=Value2; Max-Age=78000"),
    )


def test_status_code_as_a_string():
    """AWS-validated: `{"statusCode": "418", "body": "i'm a teapot"}` → 418."""
    assert reply({"statusCode": "418", "body": "i'm a teapot"}) == HttpReply(
        418, (JSON_TYPE,), b"i'm a teapot"
    )


def test_base64_body():
    data = bytes(range(256))
    result = reply(
        {
            "statusCode": 200,
            "headers": {"content-type": "image/png"},
            "body": base64.b64encode(data).decode(),
            "isBase64Encoded": True,
        }
    )
    assert result == HttpReply(200, (("content-type", "image/png"),), data)


def test_base64_body_wrapped_in_lines():
    data = bytes(range(100))
    wrapped = base64.encodebytes(data).decode()
    assert "\n" in wrapped
    assert reply({"statusCode": 200, "body": wrapped, "isBase64Encoded": True}).body == data


def test_function_error():
    result = buffered_response(b'{"errorMessage": "boom", "errorType": "Exception"}', True)
    assert result.status == 502
    assert result.body == FUNCTION_ERROR_BODY == b"Internal Server Error"
    assert result.headers == (JSON_TYPE,)
    assert result.problem
    assert function_error_reply("why") == HttpReply(502, (JSON_TYPE,), FUNCTION_ERROR_BODY, "why")


@pytest.mark.parametrize(
    "payload",
    [
        b"",
        b"hello",
        b"{",
        b'{"a": 1} x',
        b"NaN",
        b"[Infinity]",
        b"\xff\xfe",
        b"\xef\xbb\xbf{}",  # a BOM is not JSON text
        b"[" * 100_000 + b"]" * 100_000,
    ],
    ids=["empty", "text", "truncated", "trailing", "nan", "infinity", "not-utf8", "bom", "deep"],
)
def test_payload_that_is_not_json(payload):
    result = buffered_response(payload, False)
    assert (result.status, result.headers, result.body) == (
        502,
        (JSON_TYPE,),
        b"Internal Server Error",
    )
    assert "not JSON" in (result.problem or "")


@pytest.mark.parametrize(
    "status",
    [99, 100, 199, 600, 1000, -1, "abc", "20", "2000", "", True, 1.5, 200.0, [200], {"a": 1}],
)
def test_status_code_that_cannot_be_sent(status):
    result = reply({"statusCode": status, "body": "x"})
    assert result.status == 502
    assert "statusCode" in (result.problem or "")


@pytest.mark.parametrize("status", [200, 201, 299, 301, 404, 418, 500, 599, " 404 ", "503"])
def test_status_codes_that_can(status):
    assert reply({"statusCode": status}).status == int(status)


def test_null_status_code_is_no_status_code():
    value = {"statusCode": None, "body": "x"}
    assert reply(value) == HttpReply(200, (JSON_TYPE,), b'{"statusCode":null,"body":"x"}')


def test_object_without_status_code_is_the_body():
    """Even one with `body` and `headers`: without statusCode the whole value is JSON."""
    value = {"body": "x", "headers": {"X": "1"}}
    assert reply(value) == HttpReply(200, (JSON_TYPE,), b'{"body":"x","headers":{"X":"1"}}')


@pytest.mark.parametrize(
    ("headers", "problem"),
    [
        ({"X-Bad": "a\r\nSet-Cookie: evil=1"}, "control character"),
        ({"X-Bad": "a\nb"}, "control character"),
        ({"X-Bad": "a\x00b"}, "control character"),
        ({"Bad Name": "x"}, "token"),
        ({"": "x"}, "token"),
        ({"X-Ä": "x"}, "token"),
        ({"X-List": ["a", "b"]}, "string, number or boolean"),
        ({"X-Obj": {"a": 1}}, "string, number or boolean"),
        (["X", "y"], "JSON object"),
        ("X: y", "JSON object"),
    ],
)
def test_headers_that_cannot_be_sent(headers, problem):
    result = reply({"statusCode": 200, "headers": headers})
    assert result.status == 502
    assert problem in (result.problem or "")


@pytest.mark.parametrize("cookies", ["a=1", [1], ["a=1", None], {"a": "1"}, ["a=1\r\nX: y"]])
def test_cookies_that_cannot_be_sent(cookies):
    assert reply({"statusCode": 200, "cookies": cookies}).status == 502


def test_header_values_of_other_json_types():
    result = reply(
        {
            "statusCode": 200,
            "headers": {
                "X-Int": 42,
                "X-Float": 1.5,
                "X-True": True,
                "X-False": False,
                "X-Null": None,
            },
        }
    )
    assert result.headers == (
        JSON_TYPE,
        ("x-int", "42"),
        ("x-float", "1.5"),
        ("x-true", "true"),
        ("x-false", "false"),
    )


def test_header_values_are_trimmed_and_may_hold_tabs_and_utf8():
    result = reply({"statusCode": 200, "headers": {"X-A": "  a\tb  ", "X-B": "café"}})
    assert result.headers[1:] == (("x-a", "a\tb"), ("x-b", "café"))


def test_framing_headers_are_the_servers():
    result = reply(
        {
            "statusCode": 200,
            "headers": {
                "Content-Length": "999",
                "Transfer-Encoding": "chunked",
                "Connection": "close",
                "X-Kept": "1",
            },
            "body": "abc",
        }
    )
    assert result.headers == (JSON_TYPE, ("x-kept", "1"))
    assert result.body == b"abc"


def test_function_content_type_wins_whatever_its_case():
    result = reply({"statusCode": 200, "headers": {"CONTENT-TYPE": "text/html"}, "body": "<p>"})
    assert result.headers == (("content-type", "text/html"),)


def test_set_cookie_header_and_cookies_both_kept():
    result = reply({"statusCode": 200, "headers": {"Set-Cookie": "a=1"}, "cookies": ["b=2"]})
    assert result.headers == (JSON_TYPE, ("set-cookie", "a=1"), ("set-cookie", "b=2"))


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (None, b""),
        ("", b""),
        ("naïve ☃", "naïve ☃".encode()),
        ({"a": [1, 2]}, b'{"a":[1,2]}'),
        ([1, "x"], b'[1,"x"]'),
        (12, b"12"),
        (False, b"false"),
    ],
)
def test_body_values(body, expected):
    assert reply({"statusCode": 200, "body": body}).body == expected


def test_missing_body_is_empty():
    assert reply({"statusCode": 302, "headers": {"Location": "/x"}}) == HttpReply(
        302, (JSON_TYPE, ("location", "/x")), b""
    )


@pytest.mark.parametrize("body", ["not base64!", "YWJ", "é", 5])
def test_bad_base64_body(body):
    result = reply({"statusCode": 200, "body": body, "isBase64Encoded": True})
    assert result.status == 502
    assert result.problem


def test_is_base64_encoded_must_be_true_to_decode():
    assert reply({"statusCode": 200, "body": "YWJj", "isBase64Encoded": "true"}).body == b"YWJj"


@pytest.mark.parametrize("status", [204, 304])
def test_no_content_statuses_drop_the_body(status):
    assert reply({"statusCode": status, "body": "ignored"}).body == b""


def test_non_ascii_json_is_utf8():
    assert reply({"msg": "é€😀"}).body == '{"msg":"é€😀"}'.encode()
    assert reply("é€😀").body == "é€😀".encode()


def test_lone_surrogates_do_not_crash():
    assert buffered_response(b'{"a": "\\ud800"}', False).body == b'{"a":"\\ud800"}'
    assert buffered_response(b'"\\ud800x"', False).body == b"?x"


def test_numbers_are_compact_json():
    assert buffered_response(b"[1.0, 1E2, -0, 12345678901234567890]", False).body == (
        b"[1.0,100.0,0,12345678901234567890]"
    )
