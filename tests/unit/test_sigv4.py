"""SigV4 verification of function URL requests, with botocore's signers as the oracle.

Every accepted request is signed by botocore itself (`SigV4Auth`, `SigV4QueryAuth`) and
handed to `verify` the way the server will: the path and query as they are on the wire, the
header list with the `Host` an HTTP client adds, the body. botocore's own canonical request is
compared byte for byte with ours; AWS's published test-suite vectors are a second oracle.
Each mutation of a signed request must then fail with the exception that names the fault.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import re
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from unittest import mock
from urllib.parse import urlsplit

import botocore.auth
import pytest
from botocore.auth import SigV4Auth, SigV4QueryAuth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials as BotoCredentials

from sluice.errors import SluiceError
from sluice.protocol.sigv4 import (
    FORBIDDEN,
    SIGNATURE_DOES_NOT_MATCH,
    Credentials,
    InvalidScope,
    InvalidSecurityToken,
    MalformedSignature,
    MissingAuthentication,
    PayloadHashMismatch,
    SignatureError,
    SignatureExpired,
    SignatureMismatch,
    SignedBy,
    UnknownAccessKey,
    UnsignedPayload,
    canonical_query,
    canonical_request,
    canonical_uri,
    refusal,
    verify,
)

T0 = datetime(2026, 1, 1, 12, 0, 0, tzinfo=UTC)
HOST = "abc123.lambda-url.eu-west-1.localhost:3001"
KEY = Credentials("AKIAEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY")
TEMP = Credentials("ASIAEXAMPLE", "temporary/secret+key", "FwoGZXIvYXdzEXAMPLE//token==")
CONFIGURED = (KEY, TEMP)


@dataclasses.dataclass(frozen=True)
class Wire:
    """A request as the server sees it, plus botocore's canonical request for it."""

    method: str
    path: str
    query: str
    headers: tuple[tuple[str, str], ...]
    body: bytes
    botocore_canonical: str = ""

    def replace(self, **changes: object) -> Wire:
        return dataclasses.replace(self, **changes)

    def header(self, name: str) -> str:
        return next(value for key, value in self.headers if key.lower() == name.lower())

    def set_header(self, name: str, value: str) -> Wire:
        kept = tuple((k, v) for k, v in self.headers if k.lower() != name.lower())
        return self.replace(headers=(*kept, (name, value)))

    def add_header(self, name: str, value: str) -> Wire:
        return self.replace(headers=(*self.headers, (name, value)))

    def drop_header(self, name: str) -> Wire:
        return self.replace(headers=tuple((k, v) for k, v in self.headers if k.lower() != name))

    def with_signature(self, change: Callable[[str], str]) -> Wire:
        value = self.header("Authorization")
        head, _, signature = value.rpartition("Signature=")
        return self.set_header("Authorization", f"{head}Signature={change(signature)}")

    def edit_authorization(self, old: str, new: str) -> Wire:
        value = self.header("Authorization")
        assert old in value, (old, value)
        return self.set_header("Authorization", value.replace(old, new))


class _CanonicalCapture(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.canonical = ""

    def emit(self, record: logging.LogRecord) -> None:
        if str(record.msg).startswith("CanonicalRequest"):
            self.canonical = str(record.args[0])


@contextmanager
def _botocore_at(when: datetime) -> Iterator[_CanonicalCapture]:
    """botocore's clock set to `when`, and its logged canonical request captured."""
    logger = logging.getLogger("botocore.auth")
    capture, level = _CanonicalCapture(), logger.level
    logger.addHandler(capture)
    logger.setLevel(logging.DEBUG)
    clock = when.astimezone(UTC).replace(tzinfo=None)
    try:
        with mock.patch.object(botocore.auth, "get_current_datetime", return_value=clock):
            yield capture
    finally:
        logger.removeHandler(capture)
        logger.setLevel(level)


def sign(
    method: str = "GET",
    path: str = "/path",
    query: str = "x=1&y=2",
    body: bytes = b"",
    headers: Sequence[tuple[str, str]] = (),
    *,
    creds: Credentials = KEY,
    region: str = "eu-west-1",
    service: str = "lambda",
    at: datetime = T0,
    presign: int | None = None,
    context: dict[str, object] | None = None,
) -> Wire:
    """Sign with botocore as a client would, then return what goes on the wire."""
    url = f"http://{HOST}{path}" + (f"?{query}" if query else "")
    request = AWSRequest(method=method, url=url, data=body)
    for name, value in headers:
        request.headers[name] = value  # HTTPHeaders appends: repeated names stay repeated
    request.context.update(context or {})
    boto = BotoCredentials(creds.access_key_id, creds.secret_access_key, creds.session_token)
    if presign is None:
        signer: SigV4Auth = SigV4Auth(boto, service, region)
    else:
        signer = SigV4QueryAuth(boto, service, region, expires=presign)
    with _botocore_at(at) as capture:
        signer.add_auth(request)
    parts = urlsplit(request.url)
    wire_headers = [*request.headers.items(), ("Host", parts.netloc)]
    if body:
        wire_headers.append(("Content-Length", str(len(body))))
    return Wire(method, parts.path, parts.query, tuple(wire_headers), body, capture.canonical)


def check(wire: Wire, *, now: datetime = T0, **options: object) -> SignedBy:
    return verify(
        wire.method,
        wire.path,
        wire.query,
        wire.headers,
        wire.body,
        CONFIGURED,
        now=now,
        **options,
    )


def _signed_headers(wire: Wire) -> str:
    match = re.search(r"X-Amz-SignedHeaders=([^&]+)", wire.query)
    if match:
        return match.group(1).replace("%3B", ";")
    return re.search(r"SignedHeaders=([^,]+)", wire.header("Authorization")).group(1)


BINARY = bytes(range(256)) * 3
JSON = b'{"message": "h\xc3\xa9llo", "n": 1}'

# id -> arguments for `sign`; every one must verify.
ACCEPTED: dict[str, dict[str, object]] = {
    "get-root": {"path": "/", "query": ""},
    "get-query": {},
    "get-no-query": {"query": ""},
    "post-text": {
        "method": "POST",
        "body": "héllo wörld\n".encode(),
        "headers": [("Content-Type", "text/plain; charset=utf-8")],
    },
    "post-json": {
        "method": "POST",
        "body": JSON,
        "headers": [("Content-Type", "application/json")],
    },
    "post-binary": {
        "method": "POST",
        "body": BINARY,
        "headers": [("Content-Type", "application/octet-stream")],
    },
    "post-empty": {"method": "POST", "body": b""},
    "put-delete-patch": {"method": "PATCH", "body": b"x"},
    "path-spaces": {"path": "/a%20b/c%20%20d"},
    "path-unicode": {"path": "/caf%C3%A9/%E2%9C%93/%F0%9F%98%80"},
    "path-encoded-slash": {"path": "/a%2Fb/%2f/c"},
    "path-trailing-slash": {"path": "/dir/sub/"},
    "path-dot-segments": {"path": "/a/./b/../c"},
    "path-double-slashes": {"path": "//a//b//"},
    "path-reserved-characters": {"path": "/a:b@c;d=e,f!g'h(i)j*k+l$m&n~o"},
    "path-encoded-dots": {"path": "/%2E%2E/x"},
    "query-repeated-keys": {"query": "a=2&a=1&b=&c"},
    "query-encoded": {"query": "q=hello%20world&emoji=%F0%9F%98%80&t=~&s=%2F&p=%2B"},
    "query-case-order": {"query": "B=1&a=2&A=3&_=4"},
    "query-empty-pairs": {"query": "a=1&&b=2"},
    "header-repeated-and-spaced": {
        "headers": [("X-Custom", "  a   b\t c  "), ("X-Custom", "second"), ("x-other", "")]
    },
    "header-date-not-x-amz-date": {"headers": [("Date", "Thu, 01 Jan 1970 00:00:00 GMT")]},
    "session-token": {"creds": TEMP},
    "content-sha256-declared": {
        "method": "POST",
        "body": JSON,
        "headers": [("X-Amz-Content-SHA256", hashlib.sha256(JSON).hexdigest())],
    },
    "presigned": {"presign": 300},
    "presigned-session-token": {"presign": 900, "creds": TEMP},
    "presigned-extra-signed-header": {"presign": 60, "headers": [("X-Custom", "v")]},
    "presigned-unicode-path-no-query": {"presign": 60, "path": "/caf%C3%A9/", "query": ""},
    "presigned-expires-a-week": {"presign": 604_800},
}


@pytest.mark.parametrize("case", ACCEPTED.values(), ids=ACCEPTED.keys())
def test_botocore_signed_requests_verify(case):
    wire = sign(**case)
    creds = case.get("creds", KEY)
    signed = check(wire)
    assert signed == SignedBy(
        access_key_id=creds.access_key_id,
        region="eu-west-1",
        service="lambda",
        signed_at=T0,
        signed_headers=tuple(_signed_headers(wire).split(";")),
        presigned="presign" in case,
    )


@pytest.mark.parametrize("case", ACCEPTED.values(), ids=ACCEPTED.keys())
def test_canonical_request_is_botocores_byte_for_byte(case):
    wire = sign(**case)
    ours = canonical_request(
        wire.method,
        wire.path,
        wire.query,
        wire.headers,
        _signed_headers(wire),
        hashlib.sha256(wire.body).hexdigest(),
        omit_query=("X-Amz-Signature",) if "presign" in case else (),
    )
    assert wire.botocore_canonical
    assert ours == wire.botocore_canonical


PATHS = ["", "/", "/a/b", "/a/b/", "//", "/a//b/./c/../d/", "/../..", "/a%20b", "/%2F", "/~x"]


@pytest.mark.parametrize("path", PATHS)
def test_canonical_uri_matches_botocore(path):
    signer = SigV4Auth(BotoCredentials("a", "b"), "lambda", "eu-west-1")
    assert canonical_uri(path) == signer._normalize_url_path(path)


QUERIES = ["", "a=1", "b=2&a=1", "a=2&a=1", "a", "a=&b", "x=%20%2F~-_.", "Z=1&z=1&_=1"]


@pytest.mark.parametrize("query", QUERIES)
def test_canonical_query_matches_botocore_for_encoded_queries(query):
    signer = SigV4Auth(BotoCredentials("a", "b"), "lambda", "eu-west-1")
    expected = signer._canonical_query_string_url(urlsplit(f"http://h/?{query}"))
    assert canonical_query(query) == expected


def test_canonical_query_reencodes_what_the_client_left_unencoded():
    # Decoded, then encoded as RFC 3986 says: `+` is a plus, lowercase hex becomes upper.
    assert canonical_query("b=a+b&a=%2f%7e&c=a b") == "a=%2F~&b=a%2Bb&c=a%20b"


# AWS's SigV4 test suite (aws-sig-v4-test-suite, 2015-08-30), an oracle independent of botocore.
SUITE_KEY = Credentials("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY")
SUITE = {
    "get-vanilla": ("GET", "", "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"),
    "get-vanilla-query-order-key-case": (
        "GET",
        "Param2=value2&Param1=value1",
        "b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500",
    ),
    "post-vanilla": (
        "POST",
        "",
        "5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b",
    ),
}


@pytest.mark.parametrize(("method", "query", "signature"), SUITE.values(), ids=SUITE.keys())
def test_aws_test_suite_vectors(method, query, signature):
    authorization = (
        "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, "
        f"SignedHeaders=host;x-amz-date, Signature={signature}"
    )
    headers = [
        ("Host", "example.amazonaws.com"),
        ("X-Amz-Date", "20150830T123600Z"),
        ("Authorization", authorization),
    ]
    signed = verify(
        method,
        "/",
        query,
        headers,
        b"",
        [SUITE_KEY],
        now=datetime(2015, 8, 30, 12, 36, tzinfo=UTC),
        service="service",
        region="us-east-1",
    )
    assert signed.access_key_id == "AKIDEXAMPLE"


BODY = b'{"question": "why?"}'


@pytest.fixture(scope="module")
def post() -> Wire:
    """A signed POST with a query, a body and two signed headers besides host and date."""
    headers = [("Content-Type", "application/json"), ("X-Custom", "one")]
    return sign("POST", "/path/x", "x=1&y=2", BODY, headers)


Mutation = Callable[[Wire], Wire]
MUTATIONS: dict[str, tuple[Mutation, type[SignatureError]]] = {
    "method": (lambda w: w.replace(method="PUT"), SignatureMismatch),
    "path": (lambda w: w.replace(path="/path/y"), SignatureMismatch),
    "path-same-bytes-other-encoding": (lambda w: w.replace(path="/path/%78"), SignatureMismatch),
    "path-trailing-slash": (lambda w: w.replace(path="/path/x/"), SignatureMismatch),
    "query-value": (lambda w: w.replace(query="x=1&y=3"), SignatureMismatch),
    "query-added": (lambda w: w.replace(query="x=1&y=2&z=3"), SignatureMismatch),
    "query-removed": (lambda w: w.replace(query="x=1"), SignatureMismatch),
    "query-repeated": (lambda w: w.replace(query="x=1&y=2&y=2"), SignatureMismatch),
    "signed-header-value": (lambda w: w.set_header("X-Custom", "two"), SignatureMismatch),
    "signed-header-repeated": (lambda w: w.add_header("X-Custom", "one"), SignatureMismatch),
    "content-type": (lambda w: w.set_header("Content-Type", "text/plain"), SignatureMismatch),
    "host": (
        lambda w: w.set_header("Host", "evil.lambda-url.eu-west-1.localhost:3001"),
        SignatureMismatch,
    ),
    "body": (lambda w: w.replace(body=b'{"question": "why!"}'), SignatureMismatch),
    "body-dropped": (lambda w: w.replace(body=b""), SignatureMismatch),
    "date-one-second": (
        lambda w: w.set_header("X-Amz-Date", "20260101T120001Z"),
        SignatureMismatch,
    ),
    "date-an-hour": (lambda w: w.set_header("X-Amz-Date", "20260101T130000Z"), SignatureExpired),
    "signature-flipped": (
        lambda w: w.with_signature(lambda sig: sig[:-1] + ("1" if sig.endswith("0") else "0")),
        SignatureMismatch,
    ),
    "signature-uppercased": (lambda w: w.with_signature(str.upper), SignatureMismatch),
    "scope-region": (
        lambda w: w.edit_authorization("/eu-west-1/", "/us-east-1/"),
        SignatureMismatch,
    ),
    "scope-service": (lambda w: w.edit_authorization("/lambda/", "/execute-api/"), InvalidScope),
    "scope-day": (lambda w: w.edit_authorization("/20260101/", "/20251231/"), InvalidScope),
    "scope-terminator": (
        lambda w: w.edit_authorization("aws4_request", "aws4_reques"),
        InvalidScope,
    ),
    "key-unknown": (lambda w: w.edit_authorization("AKIAEXAMPLE/", "AKIAOTHER/"), UnknownAccessKey),
    "key-other-configured": (
        lambda w: w.edit_authorization("AKIAEXAMPLE/", "ASIAEXAMPLE/"),
        SignatureMismatch,
    ),
    "signed-header-missing": (lambda w: w.drop_header("x-custom"), MalformedSignature),
    "date-missing": (lambda w: w.drop_header("x-amz-date"), MalformedSignature),
    "date-not-basic-iso": (
        lambda w: w.set_header("X-Amz-Date", "2026-01-01T12:00:00Z"),
        MalformedSignature,
    ),
    "date-repeated": (lambda w: w.add_header("X-Amz-Date", "20260101T120000Z"), MalformedSignature),
    "authorization-repeated": (
        lambda w: w.add_header("Authorization", w.header("Authorization")),
        MalformedSignature,
    ),
    "algorithm": (
        lambda w: w.edit_authorization("AWS4-HMAC-SHA256", "AWS4-HMAC-SHA512"),
        MalformedSignature,
    ),
    "credential-four-parts": (
        lambda w: w.edit_authorization("/aws4_request", ""),
        MalformedSignature,
    ),
    "field-missing": (
        lambda w: w.set_header(
            "Authorization", re.sub(r", Signature=\w+", "", w.header("Authorization"))
        ),
        MalformedSignature,
    ),
    "field-without-equals": (
        lambda w: w.edit_authorization("Credential=", "Credential "),
        MalformedSignature,
    ),
    "host-not-signed": (lambda w: w.edit_authorization("host;", ""), MalformedSignature),
    "also-presigned": (
        lambda w: w.replace(query=w.query + "&X-Amz-Signature=00"),
        MalformedSignature,
    ),
    "authorization-removed": (lambda w: w.drop_header("authorization"), MissingAuthentication),
    "authorization-not-sigv4": (
        lambda w: w.set_header("Authorization", "Bearer abc"),
        MissingAuthentication,
    ),
}


@pytest.mark.parametrize(
    ("mutate", "error"), [pytest.param(*v, id=k) for k, v in MUTATIONS.items()]
)
def test_each_mutation_fails_with_the_fault_named(post, mutate, error):
    check(post)  # the unmutated request is fine
    with pytest.raises(SignatureError) as caught:
        check(mutate(post))
    assert type(caught.value) is error


def test_headers_outside_signed_headers_change_freely(post):
    wire = (
        post.set_header("User-Agent", "curl/8.5.0")
        .add_header("X-Forwarded-For", "10.0.0.1")
        .set_header("Content-Length", "999")
        .add_header("Accept", "*/*")
    )
    assert check(wire).signed_headers == ("content-type", "host", "x-amz-date", "x-custom")


def test_header_names_match_in_any_case_and_order(post):
    wire = post.replace(headers=tuple((k.upper(), v) for k, v in reversed(post.headers)))
    assert check(wire).access_key_id == KEY.access_key_id


def test_query_order_on_the_wire_does_not_matter(post):
    assert check(post.replace(query="y=2&x=1")).presigned is False


def test_a_wrong_secret_is_a_mismatch_with_the_canonical_request_for_the_log(post):
    wire = sign("POST", "/path/x", "x=1&y=2", BODY, creds=Credentials(KEY.access_key_id, "bad"))
    with pytest.raises(SignatureMismatch) as caught:
        check(wire)
    assert caught.value.canonical_request == wire.botocore_canonical
    assert caught.value.string_to_sign.startswith("AWS4-HMAC-SHA256\n20260101T120000Z\n")
    assert "The Canonical String for this request should have been" in str(caught.value)
    assert caught.value.message == json.loads(SIGNATURE_DOES_NOT_MATCH.body)["message"]


def test_region_is_reported_unless_pinned():
    wire = sign(region="us-east-1")
    assert check(wire).region == "us-east-1"
    with pytest.raises(InvalidScope, match="scoped to a valid region, not 'us-east-1'"):
        check(wire, region="eu-west-1")
    assert check(sign(), region="eu-west-1").region == "eu-west-1"


def test_another_service_is_refused_with_awss_message():
    with pytest.raises(InvalidScope) as caught:
        check(sign(service="execute-api"))
    assert caught.value.message == "Credential should be scoped to correct service: 'lambda'."
    assert check(sign(service="execute-api"), service="execute-api").service == "execute-api"


SESSION_FAULTS = {
    "token-missing": Credentials(TEMP.access_key_id, TEMP.secret_access_key),
    "token-different": Credentials(TEMP.access_key_id, TEMP.secret_access_key, "another"),
    "token-for-long-term-key": Credentials(KEY.access_key_id, KEY.secret_access_key, "tok"),
}


@pytest.mark.parametrize("creds", SESSION_FAULTS.values(), ids=SESSION_FAULTS.keys())
def test_session_token_must_be_the_keys_own(creds):
    for presign in (None, 300):
        with pytest.raises(InvalidSecurityToken, match="security token included"):
            check(sign(creds=creds, presign=presign))


def test_declared_payload_hash_must_be_the_bodys():
    declared = [("X-Amz-Content-SHA256", hashlib.sha256(BODY).hexdigest())]
    wire = sign("POST", body=BODY, headers=declared)
    with pytest.raises(PayloadHashMismatch, match="x-amz-content-sha256 is"):
        check(wire.replace(body=b"other"))
    lying = sign("POST", body=BODY, headers=[("X-Amz-Content-SHA256", "0" * 64)])
    with pytest.raises(PayloadHashMismatch):
        check(lying)


def test_unsigned_payload_is_refused_as_lambda_does_unless_allowed():
    wire = sign("POST", body=BODY, context={"payload_signing_enabled": False})
    assert wire.header("X-Amz-Content-SHA256") == "UNSIGNED-PAYLOAD"
    with pytest.raises(UnsignedPayload):
        check(wire)
    assert check(wire, allow_unsigned_payload=True).access_key_id == KEY.access_key_id
    # Unsigned means the body is not covered: any body passes when it is allowed.
    assert check(wire.replace(body=b"anything"), allow_unsigned_payload=True)


SKEW = {
    "now": (timedelta(0), None),
    "4m59s-later": (timedelta(minutes=4, seconds=59), None),
    "exactly-5m-later": (timedelta(minutes=5), None),
    "5m01s-later": (timedelta(minutes=5, seconds=1), "Signature expired"),
    "4m59s-earlier": (-timedelta(minutes=4, seconds=59), None),
    "5m01s-earlier": (-timedelta(minutes=5, seconds=1), "Signature not yet current"),
}


@pytest.mark.parametrize(("offset", "refused"), SKEW.values(), ids=SKEW.keys())
def test_clock_skew(post, offset, refused):
    if refused is None:
        assert check(post, now=T0 + offset).signed_at == T0
    else:
        with pytest.raises(SignatureExpired, match=refused):
            check(post, now=T0 + offset)


def test_skew_messages_are_awss():
    with pytest.raises(SignatureExpired) as late:
        check(sign(), now=T0 + timedelta(minutes=5, seconds=1))
    assert late.value.message == (
        "Signature expired: 20260101T120000Z is now earlier than 20260101T120001Z "
        "(20260101T120501Z - 5 min.)"
    )
    with pytest.raises(SignatureExpired) as early:
        check(sign(), now=T0 - timedelta(minutes=10))
    assert early.value.message == (
        "Signature not yet current: 20260101T120000Z is still later than 20260101T115500Z "
        "(20260101T115000Z + 5 min.)"
    )


def test_max_skew_and_now_in_another_zone(post):
    assert check(post, now=T0 + timedelta(minutes=10), max_skew=timedelta(minutes=15))
    tokyo = T0.astimezone(datetime.fromisoformat("2026-01-01T21:00:00+09:00").tzinfo)
    assert check(post, now=tokyo).signed_at == T0
    with pytest.raises(ValueError, match="timezone-aware"):
        check(post, now=T0.replace(tzinfo=None))


def test_date_header_signatures_follow_the_same_clock():
    wire = sign(headers=[("Date", "Thu, 01 Jan 1970 00:00:00 GMT")])
    assert wire.header("Date") == "Thu, 01 Jan 2026 12:00:00 -0000"
    assert check(wire, now=T0 + timedelta(minutes=4)).signed_at == T0
    with pytest.raises(SignatureExpired):
        check(wire, now=T0 + timedelta(minutes=6))
    with pytest.raises(MalformedSignature, match="ISO-8601"):
        check(wire.set_header("Date", "yesterday"))


@pytest.fixture(scope="module")
def presigned() -> Wire:
    return sign("GET", "/stream", "x=1", presign=60)


PRESIGNED_TIMES = {
    "at-signing": (timedelta(0), None),
    "at-expiry": (timedelta(seconds=60), None),
    "after-expiry": (timedelta(seconds=61), "Signature expired"),
    "long-after": (timedelta(days=1), "Signature expired"),
    "before-signing-within-skew": (-timedelta(minutes=4), None),
    "before-signing-beyond-skew": (-timedelta(minutes=6), "Signature not yet current"),
}


@pytest.mark.parametrize(
    ("offset", "refused"), PRESIGNED_TIMES.values(), ids=PRESIGNED_TIMES.keys()
)
def test_presigned_expiry(presigned, offset, refused):
    if refused is None:
        assert check(presigned, now=T0 + offset).presigned
    else:
        with pytest.raises(SignatureExpired, match=refused):
            check(presigned, now=T0 + offset)


def _edit_query(old: str, new: str) -> Mutation:
    def edit(wire: Wire) -> Wire:
        assert old in wire.query, (old, wire.query)
        return wire.replace(query=wire.query.replace(old, new))

    return edit


PRESIGNED_MUTATIONS: dict[str, tuple[Mutation, type[SignatureError]]] = {
    "operation-param": (_edit_query("x=1", "x=2"), SignatureMismatch),
    "param-added": (lambda w: w.replace(query=w.query + "&z=1"), SignatureMismatch),
    "expires-raised": (_edit_query("X-Amz-Expires=60", "X-Amz-Expires=3600"), SignatureMismatch),
    "expires-over-a-week": (
        _edit_query("X-Amz-Expires=60", "X-Amz-Expires=604801"),
        MalformedSignature,
    ),
    "expires-not-a-number": (
        _edit_query("X-Amz-Expires=60", "X-Amz-Expires=-1"),
        MalformedSignature,
    ),
    "expires-dropped": (_edit_query("&X-Amz-Expires=60", ""), MalformedSignature),
    "signature-repeated": (
        lambda w: w.replace(query=w.query + "&X-Amz-Signature=0"),
        MalformedSignature,
    ),
    "credential-key": (_edit_query("AKIAEXAMPLE%2F", "AKIAOTHER%2F"), UnknownAccessKey),
    "host": (lambda w: w.set_header("Host", "other.localhost:3001"), SignatureMismatch),
    "method": (lambda w: w.replace(method="POST"), SignatureMismatch),
    "body-added": (lambda w: w.replace(body=b"payload"), SignatureMismatch),
    "also-authorization": (
        lambda w: w.add_header("Authorization", "AWS4-HMAC-SHA256 x"),
        MalformedSignature,
    ),
}


@pytest.mark.parametrize(
    ("mutate", "error"), [pytest.param(*v, id=k) for k, v in PRESIGNED_MUTATIONS.items()]
)
def test_each_presigned_mutation_fails(presigned, mutate, error):
    check(presigned)
    with pytest.raises(SignatureError) as caught:
        check(mutate(presigned))
    assert type(caught.value) is error


def test_unsigned_request_is_refused_as_forbidden():
    wire = sign().drop_header("authorization")
    with pytest.raises(MissingAuthentication) as caught:
        check(wire)
    assert refusal(caught.value) is FORBIDDEN
    assert FORBIDDEN.status == 403
    assert FORBIDDEN.error_type == "AccessDeniedException"
    assert json.loads(FORBIDDEN.body)["Message"].startswith("Forbidden. For troubleshooting")


EXAMPLES: list[SignatureError] = [
    MalformedSignature("m"),
    SignatureExpired("e"),
    InvalidScope("s"),
    UnknownAccessKey("The security token included in the request is invalid.", "d"),
    InvalidSecurityToken("The security token included in the request is invalid."),
    SignatureMismatch("The request signature we calculated does not match", "d", "c", "s"),
    PayloadHashMismatch("The request signature we calculated does not match", None, "c", "s"),
    UnsignedPayload("The request signature we calculated does not match", None, "c", "s"),
]
ERROR_TYPES = {
    MalformedSignature: "IncompleteSignatureException",
    SignatureExpired: "InvalidSignatureException",
    InvalidScope: "InvalidSignatureException",
    UnknownAccessKey: "UnrecognizedClientException",
    InvalidSecurityToken: "UnrecognizedClientException",
    SignatureMismatch: "InvalidSignatureException",
    PayloadHashMismatch: "InvalidSignatureException",
    UnsignedPayload: "InvalidSignatureException",
}


@pytest.mark.parametrize("exc", EXAMPLES, ids=lambda e: type(e).__name__)
def test_every_refusal_is_a_403_with_the_message_and_no_detail(exc):
    answer = refusal(exc)
    assert answer.status == 403
    assert answer.error_type == ERROR_TYPES[type(exc)]
    assert json.loads(answer.body) == {"message": exc.message}
    assert isinstance(exc, SluiceError)


def test_the_mismatch_answer_is_the_recorded_one():
    mismatch = SignatureMismatch(
        json.loads(SIGNATURE_DOES_NOT_MATCH.body)["message"], "detail", "c", "s"
    )
    assert refusal(mismatch) == SIGNATURE_DOES_NOT_MATCH
    assert SIGNATURE_DOES_NOT_MATCH.body == (
        b'{"message":"The request signature we calculated does not match the signature you '
        b"provided. Check your AWS Secret Access Key and signing method. Consult the service "
        b'documentation for details."}'
    )


def test_credentials_repr_hides_secrets():
    assert "wJalr" not in repr(KEY)
    assert "FwoG" not in repr(TEMP)
    assert KEY.access_key_id in repr(KEY)
