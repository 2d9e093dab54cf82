"""CORS: a function URL's `Cors` settings → preflight answers and actual-response headers."""

from __future__ import annotations

import botocore.session
import pytest

from sluice.protocol.function_url import (
    CorsConfig,
    HttpReply,
    cors_headers,
    is_preflight,
    preflight_reply,
)

VARY = ("vary", "Origin")
APP = "https://app.example.com"
FULL = CorsConfig.from_api(
    {
        "AllowCredentials": True,
        "AllowHeaders": ["Content-Type", "X-Custom-Header"],
        "AllowMethods": ["GET", "POST"],
        "AllowOrigins": [APP, "http://localhost:60905"],
        "ExposeHeaders": ["Date", "X-Request-Id"],
        "MaxAge": 300,
    }
)


def preflight(origin: str | None = APP, method: str = "POST", extra=()):
    headers = [("Access-Control-Request-Method", method), *extra]
    if origin is not None:
        headers.append(("Origin", origin))
    return headers


def test_from_api_reads_every_member_of_the_model():
    model = botocore.session.get_session().get_service_model("lambda").shape_for("Cors")
    assert set(model.members) == {
        "AllowCredentials",
        "AllowHeaders",
        "AllowMethods",
        "AllowOrigins",
        "ExposeHeaders",
        "MaxAge",
    }
    expected = CorsConfig(
        allow_credentials=True,
        allow_headers=("Content-Type", "X-Custom-Header"),
        allow_methods=("GET", "POST"),
        allow_origins=(APP, "http://localhost:60905"),
        expose_headers=("Date", "X-Request-Id"),
        max_age=300,
    )
    assert expected == FULL


def test_from_api_defaults():
    assert CorsConfig.from_api({}) == CorsConfig()
    assert CorsConfig().max_age is None
    assert CorsConfig().allow_credentials is False


@pytest.mark.parametrize(
    "cors",
    [
        {"MaxAge": -1},
        {"MaxAge": 86401},
        {"MaxAge": "300"},
        {"MaxAge": True},
        {"AllowCredentials": "true"},
        {"AllowOrigins": "*"},
        {"AllowHeaders": [1]},
    ],
)
def test_from_api_refuses(cors):
    with pytest.raises(ValueError):
        CorsConfig.from_api(cors)


@pytest.mark.parametrize(
    ("method", "headers", "expected"),
    [
        ("OPTIONS", [("Origin", APP), ("Access-Control-Request-Method", "PUT")], True),
        ("options", [("origin", APP), ("access-control-request-method", "PUT")], True),
        ("OPTIONS", [("Origin", APP)], False),  # a plain OPTIONS: the function answers it
        ("OPTIONS", [("Access-Control-Request-Method", "PUT")], False),
        ("GET", [("Origin", APP), ("Access-Control-Request-Method", "PUT")], False),
        ("OPTIONS", [], False),
    ],
)
def test_is_preflight(method, headers, expected):
    assert is_preflight(method, headers) is expected


def test_preflight_for_an_allowed_origin():
    assert preflight_reply(FULL, preflight()) == HttpReply(
        200,
        (
            ("access-control-allow-origin", APP),
            ("access-control-allow-credentials", "true"),
            ("access-control-allow-methods", "GET,POST"),
            ("access-control-allow-headers", "Content-Type,X-Custom-Header"),
            ("access-control-expose-headers", "Date,X-Request-Id"),
            ("access-control-max-age", "300"),
            VARY,
        ),
        b"",
    )


def test_wildcard_origin_is_echoed():
    cors = CorsConfig.from_api({"AllowOrigins": ["*"], "AllowHeaders": ["*"], "MaxAge": 300})
    assert preflight_reply(cors, preflight("http://127.0.0.1:5500")).headers == (
        ("access-control-allow-origin", "http://127.0.0.1:5500"),
        ("access-control-allow-headers", "*"),
        ("access-control-max-age", "300"),
        VARY,
    )


@pytest.mark.parametrize(
    "origin", ["https://evil.example.com", "https://app.example.com.evil", "null"]
)
def test_preflight_for_another_origin_gets_no_cors_headers(origin):
    assert preflight_reply(FULL, preflight(origin)) == HttpReply(200, (VARY,), b"")


def test_origin_matching_ignores_case():
    assert cors_headers(FULL, [("Origin", "HTTPS://APP.EXAMPLE.COM")])[0] == (
        "access-control-allow-origin",
        "HTTPS://APP.EXAMPLE.COM",
    )


def test_no_origin_no_cors_headers():
    assert cors_headers(FULL, []) == (VARY,)
    assert cors_headers(FULL, [("Referer", APP)]) == (VARY,)


def test_first_origin_header_decides():
    headers = [("Origin", "https://evil.example.com"), ("Origin", APP)]
    assert cors_headers(FULL, headers) == (VARY,)


def test_actual_response_headers():
    """Lambda adds the CORS headers to all responses (urls-configuration.html)."""
    headers = cors_headers(FULL, [("Origin", APP), ("Accept", "*/*")])
    assert headers[0] == ("access-control-allow-origin", APP)
    assert ("access-control-expose-headers", "Date,X-Request-Id") in headers
    assert headers[-1] == VARY


def test_unset_members_are_left_out():
    cors = CorsConfig.from_api({"AllowOrigins": [APP]})
    assert cors_headers(cors, [("Origin", APP)]) == (("access-control-allow-origin", APP), VARY)


def test_zero_max_age_is_sent():
    cors = CorsConfig.from_api({"AllowOrigins": [APP], "MaxAge": 0})
    assert ("access-control-max-age", "0") in cors_headers(cors, [("Origin", APP)])


def test_credentials_false_is_not_sent():
    cors = CorsConfig.from_api({"AllowOrigins": [APP], "AllowCredentials": False})
    names = [name for name, _ in cors_headers(cors, [("Origin", APP)])]
    assert "access-control-allow-credentials" not in names


def test_no_allowed_origins_allows_nobody():
    cors = CorsConfig.from_api({"AllowMethods": ["*"]})
    assert preflight_reply(cors, preflight()).headers == (VARY,)
