"""HTTP request → payload format 2.0 event, against AWS's documented and recorded events."""

from __future__ import annotations

import base64
import json

import pytest

from sluice.protocol.function_url import (
    IamCaller,
    encode_body,
    event_time,
    is_text_content_type,
    query_parameters,
    request_cookies,
    request_event,
)

URL_ID = "j635an2edqmaoyggrqy4sritge0qlsqf"


def make_event(**overrides):
    parts = {
        "method": "GET",
        "raw_path": "/",
        "raw_query_string": "",
        "headers": [],
        "body": b"",
        "source_ip": "127.0.0.1",
        "url_id": URL_ID,
        "region": "us-east-2",
        "request_id": "d85f0362-f66c-43b2-bbb2-28aef748c6a1",
        "time_epoch_ms": 1679350880872,
    }
    parts.update(overrides)
    return request_event(**parts)


def test_docs_example_shape_for_auth_type_none():
    """The urls-invocation.html request example, as AuthType NONE delivers it."""
    event = make_event(
        method="POST",
        raw_path="/my/path",
        raw_query_string="parameter1=value1&parameter1=value2&parameter2=value",
        headers=[
            ("Header1", "value1"),
            ("Header2", "value1"),
            ("Header2", "value2"),
            ("Cookie", "cookie1; cookie2"),
            ("User-Agent", "agent"),
            ("Content-Type", "text/plain"),
        ],
        body=b"Hello from client!",
        source_ip="123.123.123.123",
        region="us-west-2",
        request_id="id",
        time_epoch_ms=1583348638390,
    )
    assert event == {
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": "/my/path",
        "rawQueryString": "parameter1=value1&parameter1=value2&parameter2=value",
        "cookies": ["cookie1", "cookie2"],
        "headers": {
            "header1": "value1",
            "header2": "value1,value2",
            "user-agent": "agent",
            "content-type": "text/plain",
        },
        "queryStringParameters": {"parameter1": "value1,value2", "parameter2": "value"},
        "requestContext": {
            "accountId": "anonymous",
            "apiId": URL_ID,
            "domainName": f"{URL_ID}.lambda-url.us-west-2.on.aws",
            "domainPrefix": URL_ID,
            "http": {
                "method": "POST",
                "path": "/my/path",
                "protocol": "HTTP/1.1",
                "sourceIp": "123.123.123.123",
                "userAgent": "agent",
            },
            "requestId": "id",
            "routeKey": "$default",
            "stage": "$default",
            "time": "04/Mar/2020:19:03:58 +0000",  # the docs print 12/Mar for this epoch
            "timeEpoch": 1583348638390,
        },
        "body": "Hello from client!",
        "isBase64Encoded": False,
    }
    assert list(event) == [
        "version", "routeKey", "rawPath", "rawQueryString", "cookies", "headers",
        "queryStringParameters", "requestContext", "body", "isBase64Encoded",
    ]  # fmt: skip


def test_recorded_chrome_post_2023():
    """A real us-east-2 event (2023-03-20): text/plain body as text, no cookies key."""
    event = make_event(
        method="POST",
        headers=[
            ("host", f"{URL_ID}.lambda-url.us-east-2.on.aws"),
            ("content-type", "text/plain;charset=UTF-8"),
            ("origin", "http://localhost:3000"),
            ("user-agent", "Mozilla/5.0 (Macintosh)"),
        ],
        body=b"{'keyword':'egg'}",
        source_ip="2601:647:4000:2ac0:745e:d1a2:a8bf:f39b",
    )
    assert event["requestContext"] == {
        "accountId": "anonymous",
        "apiId": URL_ID,
        "domainName": f"{URL_ID}.lambda-url.us-east-2.on.aws",
        "domainPrefix": URL_ID,
        "http": {
            "method": "POST",
            "path": "/",
            "protocol": "HTTP/1.1",
            "sourceIp": "2601:647:4000:2ac0:745e:d1a2:a8bf:f39b",
            "userAgent": "Mozilla/5.0 (Macintosh)",
        },
        "requestId": "d85f0362-f66c-43b2-bbb2-28aef748c6a1",
        "routeKey": "$default",
        "stage": "$default",
        "time": "20/Mar/2023:22:21:20 +0000",
        "timeEpoch": 1679350880872,
    }
    assert event["body"] == "{'keyword':'egg'}"
    assert event["isBase64Encoded"] is False
    assert "cookies" not in event
    assert "queryStringParameters" not in event
    for absent in ("pathParameters", "stageVariables"):
        assert absent not in event
    for absent in ("authentication", "authorizer"):
        assert absent not in event["requestContext"]


def test_recorded_curl_form_post_2024():
    """A real ap-northeast-1 event (2024-01-12): a form body arrives base64-encoded."""
    event = make_event(
        method="POST",
        headers=[
            ("Content-Length", "25"),
            ("Content-Type", "application/x-www-form-urlencoded"),
            ("User-Agent", "curl/8.4.0"),
        ],
        body=b'{"message": "https test"}',
        time_epoch_ms=1705067966133,
    )
    assert event["body"] == "eyJtZXNzYWdlIjogImh0dHBzIHRlc3QifQ=="
    assert event["isBase64Encoded"] is True
    assert event["headers"]["content-length"] == "25"
    assert event["requestContext"]["time"] == "12/Jan/2024:13:59:26 +0000"


def test_get_without_body_has_no_body_key():
    event = make_event(body=b"")
    assert "body" not in event
    assert event["isBase64Encoded"] is False


def test_iam_event_has_the_authorizer_block():
    caller = IamCaller(
        access_key="AKIAIOSFODNN7EXAMPLE",
        account_id="111122223333",
        caller_id="AIDACKCEVSQ6C2EXAMPLE",
        user_arn="arn:aws:iam::111122223333:user/example-user",
        user_id="AIDACOSFODNN7EXAMPLE2",
    )
    context = make_event(iam=caller, account_id="123456789012")["requestContext"]
    assert context["accountId"] == "123456789012"
    assert context["authentication"] is None
    assert context["authorizer"] == {
        "iam": {
            "accessKey": "AKIAIOSFODNN7EXAMPLE",
            "accountId": "111122223333",
            "callerId": "AIDACKCEVSQ6C2EXAMPLE",
            "cognitoIdentity": None,
            "principalOrgId": None,
            "userArn": "arn:aws:iam::111122223333:user/example-user",
            "userId": "AIDACOSFODNN7EXAMPLE2",
        }
    }
    assert list(context)[:5] == ["accountId", "apiId", "authentication", "authorizer", "domainName"]


def test_event_is_json():
    event = make_event(headers=[("X", "é")], body=bytes(range(256)), raw_query_string="a=%FF")
    assert json.loads(json.dumps(event)) == event


# --- headers --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ([("X-Custom", "A")], {"x-custom": "A"}),
        ([("Accept", "a"), ("accept", "b"), ("ACCEPT", "c")], {"accept": "a,b,c"}),
        ([("B", "1"), ("A", "2"), ("b", "3")], {"b": "1,3", "a": "2"}),
        ([("X-Empty", "")], {"x-empty": ""}),
        ([("Cookie", "a=1"), ("X", "y")], {"x": "y"}),
        ([("Connection", "keep-alive"), ("Keep-Alive", "5"), ("X", "y")], {"x": "y"}),
        ([("Transfer-Encoding", "chunked"), ("TE", "trailers"), ("Upgrade", "h2c")], {}),
        ([("Host", "h.localhost:3001")], {"host": "h.localhost:3001"}),
        ([("Accept", "text/html, application/json")], {"accept": "text/html, application/json"}),
    ],
)
def test_headers(headers, expected):
    assert make_event(headers=headers)["headers"] == expected


def test_forwarded_and_trace_headers():
    headers = make_event(source_ip="10.0.0.9", server_port=3001, trace_id="Root=1-abc")["headers"]
    assert headers == {
        "x-forwarded-for": "10.0.0.9",
        "x-forwarded-port": "3001",
        "x-forwarded-proto": "http",
        "x-amzn-trace-id": "Root=1-abc",
    }


def test_forwarded_for_appends_the_peer():
    headers = make_event(
        headers=[("X-Forwarded-For", "203.0.113.7"), ("X-Forwarded-Proto", "https")],
        source_ip="10.0.0.9",
        server_port=3001,
    )["headers"]
    assert headers["x-forwarded-for"] == "203.0.113.7, 10.0.0.9"
    assert headers["x-forwarded-proto"] == "http"


def test_user_agent_missing_or_repeated():
    assert make_event()["requestContext"]["http"]["userAgent"] == ""
    ua = make_event(headers=[("User-Agent", "a"), ("user-agent", "b")])
    assert ua["requestContext"]["http"]["userAgent"] == "a,b"


# --- cookies --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ([("Cookie", "a=1")], ["a=1"]),
        ([("Cookie", "a=1; b=2")], ["a=1", "b=2"]),
        ([("Cookie", "a=1;b=2")], ["a=1", "b=2"]),
        ([("Cookie", "a=1; b=2;")], ["a=1", "b=2"]),
        ([("Cookie", "a=1"), ("cookie", "b=2; c=3")], ["a=1", "b=2", "c=3"]),
        ([("Cookie", "token=x=y==")], ["token=x=y=="]),
        ([("Cookie", 'q="a b"; flag')], ['q="a b"', "flag"]),
        ([("Cookie", "  a=1  ;  b=2 ")], ["a=1", "b=2"]),
        ([("Cookie", "")], []),
        ([("Cookie", " ; ")], []),
        ([("Set-Cookie", "a=1")], []),
    ],
)
def test_cookies(headers, expected):
    assert request_cookies(headers) == expected
    event = make_event(headers=headers)
    if expected:
        assert event["cookies"] == expected
    else:
        assert "cookies" not in event
    assert "cookie" not in event["headers"]


# --- query strings --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("name=Jane", {"name": "Jane"}),
        ("a=1&a=2&b=3", {"a": "1,2", "b": "3"}),
        ("flag", {"flag": ""}),
        ("a=&b", {"a": "", "b": ""}),
        ("q=a%20b%2Cc", {"q": "a b,c"}),
        ("q=a+b", {"q": "a b"}),
        ("q=%2B1", {"q": "+1"}),
        ("%C3%A9t%C3%A9=%E2%82%AC", {"été": "€"}),
        ("a=1&&b=2", {"a": "1", "b": "2"}),
        ("a=1=2", {"a": "1=2"}),
        ("message=HelloWorld", {"message": "HelloWorld"}),
    ],
)
def test_query_parameters(raw, expected):
    assert query_parameters(raw) == expected
    event = make_event(raw_query_string=raw)
    assert event["rawQueryString"] == raw
    assert event["queryStringParameters"] == expected


def test_no_query_no_parameters():
    event = make_event(raw_query_string="")
    assert event["rawQueryString"] == ""
    assert "queryStringParameters" not in event


def test_raw_path_is_kept_as_sent():
    event = make_event(raw_path="/a%20b/%E2%82%AC/")
    assert event["rawPath"] == "/a%20b/%E2%82%AC/"
    assert event["requestContext"]["http"]["path"] == "/a%20b/%E2%82%AC/"


# --- bodies ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("content_type", "text"),
    [
        ("text/plain", True),
        ("text/html; charset=utf-8", True),
        ("TEXT/CSV", True),
        ("text/event-stream", True),
        ("application/json", True),
        ("application/json; charset=UTF-8", True),
        (" Application/JSON ;charset=utf-8", True),
        ("application/xml", True),
        ("application/javascript", True),
        ("application/x-www-form-urlencoded", False),
        ("application/octet-stream", False),
        ("multipart/form-data; boundary=x", False),
        ("image/png", False),
        ("application/ld+json", False),
        ("application/jsonx", False),
        ("", False),
        (None, False),
    ],
)
def test_text_content_types(content_type, text):
    assert is_text_content_type(content_type) is text
    body = b'{"k": "v"}'
    encoded, is_base64 = encode_body(body, content_type)
    assert is_base64 is not text
    assert (base64.b64decode(encoded) if is_base64 else encoded.encode()) == body


def test_binary_body_round_trips():
    body = bytes(range(256)) * 3
    event = make_event(method="PUT", headers=[("Content-Type", "image/png")], body=body)
    assert event["isBase64Encoded"] is True
    assert base64.b64decode(event["body"]) == body


def test_text_type_with_bytes_that_are_not_utf8_is_base64():
    body = "café".encode("latin-1")
    event = make_event(method="POST", headers=[("Content-Type", "text/plain")], body=body)
    assert event["isBase64Encoded"] is True
    assert base64.b64decode(event["body"]) == body


def test_utf8_text_body():
    body = "naïve ☃ 😀".encode()
    event = make_event(method="POST", headers=[("Content-Type", "text/plain")], body=body)
    assert event["body"] == "naïve ☃ 😀"
    assert event["isBase64Encoded"] is False


def test_missing_content_type_is_binary():
    event = make_event(method="POST", body=b"hello")
    assert (event["body"], event["isBase64Encoded"]) == ("aGVsbG8=", True)


# --- time -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("epoch_ms", "text"),
    [
        (0, "01/Jan/1970:00:00:00 +0000"),
        (1659687279885, "05/Aug/2022:08:14:39 +0000"),  # recorded
        (1679350880872, "20/Mar/2023:22:21:20 +0000"),  # recorded
        (1705067966133, "12/Jan/2024:13:59:26 +0000"),  # recorded
        (1631055022677, "07/Sep/2021:22:50:22 +0000"),  # the docs' table
        (1767225599999, "31/Dec/2025:23:59:59 +0000"),
    ],
)
def test_event_time(epoch_ms, text):
    assert event_time(epoch_ms) == text
