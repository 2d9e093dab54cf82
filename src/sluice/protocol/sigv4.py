"""AWS Signature Version 4 checks for requests to function URLs with `AuthType: AWS_IAM`.

Theory of operation: `verify` takes one HTTP request as values (method, the path and query
exactly as they were on the wire, the header list, the body the caller already read under its
own size limit) plus the credentials sluice accepts and the current time, and either returns
who signed it (`SignedBy`) or raises a `SignatureError` saying why not. It rebuilds the
canonical request, the string to sign and the signing key as AWS documents them
(https://docs.aws.amazon.com/IAM/latest/UserGuide/create-signed-request.html) and as botocore's
`SigV4Auth`/`SigV4QueryAuth` compute them for a non-S3 service, which the tests check byte for
byte. It knows nothing of sockets, asyncio, functions or how a refusal is written to the client;
`refusal` only says what AWS would answer.

Decisions, each from a source:

* The path is normalised (dot segments and empty segments removed) and URI-encoded once more,
  because it arrives encoded: every service but S3 double-encodes (AWS's guide above;
  botocore `SigV4Auth._normalize_url_path`). The query is decoded and re-encoded (RFC 3986
  unreserved characters stay, `+` is a literal plus), sorted by name then value.
* The payload hash is always the SHA-256 of the body: "Lambda doesn't support unsigned
  payloads" (CloudFront's guide, "Restrict access to an AWS Lambda function URL origin"), and a
  function URL recomputes the hash from the body it received
  (https://github.com/aws-amplify/amplify-backend/pull/3194). `allow_unsigned_payload` relaxes
  this for callers that want `UNSIGNED-PAYLOAD` taken as signed.
* The order of checks, the five-minute skew and the messages are AWS's own, as recorded by
  dynalite's catalogue of real answers (mhart/dynalite `index.js`) and in client reports of
  `Signature expired: ... (... - 5 min.)`.

The exceptions, all `SluiceError`s:

    SignatureError                 the request is not signed as this function URL requires
    ├── MissingAuthentication      no Authorization header and no X-Amz-* query signature
    ├── MalformedSignature         present but unreadable: fields, algorithm, dates, headers
    ├── SignatureExpired           dated outside the allowed skew, or a presigned URL expired
    ├── InvalidScope               credential scope names another service or region, a bad
    │                              terminator, or a day that is not the request's
    ├── UnknownAccessKey           an access key id sluice was not configured with
    ├── InvalidSecurityToken       session token missing, unexpected or different
    └── SignatureMismatch          the signature does not match the request
        ├── PayloadHashMismatch    x-amz-content-sha256 is not the body's SHA-256
        └── UnsignedPayload        UNSIGNED-PAYLOAD where Lambda requires the body's hash
"""

from __future__ import annotations

import email.utils
import hashlib
import hmac
import json
import re
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from urllib.parse import quote, unquote_to_bytes

from sluice.errors import SluiceError

ALGORITHM = "AWS4-HMAC-SHA256"
TERMINATOR = "aws4_request"
UNSIGNED_PAYLOAD = "UNSIGNED-PAYLOAD"
# AWS accepts requests dated up to five minutes either side of its clock.
MAX_SKEW = timedelta(minutes=5)
# A presigned URL lives at most seven days (X-Amz-Expires in seconds).
MAX_EXPIRES = 604_800
SIGNATURE_PARAM = "X-Amz-Signature"
_QUERY_PARAMS = (
    "X-Amz-Algorithm",
    "X-Amz-Credential",
    SIGNATURE_PARAM,
    "X-Amz-Date",
    "X-Amz-SignedHeaders",
    "X-Amz-Expires",
)
# Any of these in the query makes it a presigned request.
_QUERY_MARKERS = ("X-Amz-Algorithm", "X-Amz-Credential", SIGNATURE_PARAM)
_TOKEN_PARAM = "X-Amz-Security-Token"
_TIMESTAMP = re.compile(r"\d{8}T\d{6}Z")
_TIMESTAMP_FORMAT = "%Y%m%dT%H%M%SZ"
_UNRESERVED = "-_.~"


class SignatureError(SluiceError):
    """A request a function URL with `AuthType: AWS_IAM` refuses.

    `message` is what AWS puts in the answer's body; `detail`, when set, is sluice's own
    explanation for the log (which header, which hash, the canonical request).
    """

    def __init__(self, message: str, detail: str | None = None) -> None:
        super().__init__(f"{message} ({detail})" if detail else message)
        self.message = message
        self.detail = detail


class MissingAuthentication(SignatureError):
    """Neither an `Authorization: AWS4-...` header nor a presigned query string."""


class MalformedSignature(SignatureError):
    """Signature fields that cannot be read, or that break a rule of the format."""


class SignatureExpired(SignatureError):
    """Dated outside the allowed clock skew, or past a presigned URL's X-Amz-Expires."""


class InvalidScope(SignatureError):
    """A credential scope for another service or region, terminator or day."""


class UnknownAccessKey(SignatureError):
    """An access key id that is not among the configured credentials."""


class InvalidSecurityToken(SignatureError):
    """A session token that does not belong to the credentials (or none where one must be)."""


class SignatureMismatch(SignatureError):
    """The signature is not the one the request and the secret key give.

    `canonical_request` and `string_to_sign` are what sluice computed, for comparing with
    what the client logged.
    """

    def __init__(
        self, message: str, detail: str | None, canonical_request: str, string_to_sign: str
    ) -> None:
        super().__init__(message, detail)
        self.canonical_request = canonical_request
        self.string_to_sign = string_to_sign


class PayloadHashMismatch(SignatureMismatch):
    """`x-amz-content-sha256` names another body than the one received."""


class UnsignedPayload(SignatureMismatch):
    """`x-amz-content-sha256: UNSIGNED-PAYLOAD`, which Lambda does not accept."""


_MISMATCH = (
    "The request signature we calculated does not match the signature you provided. "
    "Check your AWS Secret Access Key and signing method. "
    "Consult the service documentation for details."
)
_INVALID_TOKEN = "The security token included in the request is invalid."


@dataclass(frozen=True, slots=True)
class Credentials:
    """One access key sluice accepts signatures from."""

    access_key_id: str
    secret_access_key: str = field(repr=False)
    session_token: str | None = field(default=None, repr=False)


@dataclass(frozen=True, slots=True)
class SignedBy:
    """Who signed a request that passed `verify`, and how."""

    access_key_id: str
    region: str
    service: str
    signed_at: datetime
    signed_headers: tuple[str, ...]
    presigned: bool


@dataclass(frozen=True, slots=True)
class Refusal:
    """How AWS answers a function URL request it refuses: status, `x-amzn-ErrorType`, body."""

    status: int
    error_type: str
    body: bytes


def _json(member: str, message: str) -> bytes:
    return json.dumps({member: message}, separators=(",", ":")).encode()


# What a function URL answers when the caller is not allowed in: HTTP 403,
# `x-amzn-ErrorType: AccessDeniedException`, this body. Recorded from real AWS in 2026 in
# https://github.com/awsdocs/aws-lambda-developer-guide/issues/494 and
# https://github.com/ant-media/Ant-Media-Server/issues/7827; before October 2025 the body was
# `{"Message":"Forbidden"}`. That an unsigned request to an AWS_IAM URL gets this same answer
# is inferred: it is the answer of the URL's authorization layer for a caller without
# permission, and an unsigned caller has none.
FORBIDDEN = Refusal(
    403,
    "AccessDeniedException",
    _json(
        "Message",
        "Forbidden. For troubleshooting Function URL authorization issues, see: "
        "https://docs.aws.amazon.com/lambda/latest/dg/urls-auth.html",
    ),
)
# A bad signature on a function URL: HTTP 403, `x-amzn-errortype: InvalidSignatureException`
# and this body, recorded in https://github.com/minorun365/html-share/issues/4 (also
# https://repost.aws/questions/QUPuq7VvHJRwWxVA3XJIgNKQ).
SIGNATURE_DOES_NOT_MATCH = Refusal(403, "InvalidSignatureException", _json("message", _MISMATCH))

# The AWS error type of each refusal; the message is the exception's. A function URL's answer
# to unknown keys and tokens ("The security token included in the request is invalid.", 403)
# is recorded in https://github.com/jamesmbourne/aws4-axios/issues/1553; the error types are
# those AWS's JSON services use (dynalite's catalogue). The status of a malformed signature on
# a function URL is not recorded anywhere found; 403 as for every other refusal.
_ERROR_TYPES: dict[type[SignatureError], str] = {
    MalformedSignature: "IncompleteSignatureException",
    SignatureExpired: "InvalidSignatureException",
    InvalidScope: "InvalidSignatureException",
    UnknownAccessKey: "UnrecognizedClientException",
    InvalidSecurityToken: "UnrecognizedClientException",
    SignatureMismatch: "InvalidSignatureException",
}


def refusal(exc: SignatureError) -> Refusal:
    """What AWS answers a function URL request refused with `exc`."""
    if isinstance(exc, MissingAuthentication):
        return FORBIDDEN
    for cls in type(exc).__mro__:
        if cls in _ERROR_TYPES:
            return Refusal(403, _ERROR_TYPES[cls], _json("message", exc.message))
    raise TypeError(f"no refusal for {type(exc).__name__}")


def canonical_uri(raw_path: str) -> str:
    """The path as it was sent, normalised and URI-encoded again (non-S3 double encoding).

    Dot segments and empty segments go, a trailing slash stays, as in botocore's
    `remove_dot_segments`; an empty path is `/`.
    """
    if not raw_path:
        return "/"
    segments: list[str] = []
    for segment in raw_path.split("/"):
        if segment == "..":
            if segments:
                segments.pop()
        elif segment not in ("", "."):
            segments.append(segment)
    lead = "/" if raw_path.startswith("/") else ""
    trail = "/" if raw_path.endswith("/") and segments else ""
    return quote(lead + "/".join(segments) + trail, safe="/~")


def _query_pairs(raw_query: str) -> list[tuple[bytes, bytes]]:
    pairs = []
    for item in raw_query.split("&") if raw_query else ():
        name, _, value = item.partition("=")
        pairs.append((unquote_to_bytes(name), unquote_to_bytes(value)))
    return pairs


def canonical_query(raw_query: str, omit: Collection[str] = ()) -> str:
    """Each name and value decoded, re-encoded (RFC 3986), sorted by name then value.

    Names in `omit` (decoded) are left out: a presigned request signs everything but
    `X-Amz-Signature`.
    """
    omitted = {name.encode() for name in omit}
    encoded = sorted(
        (quote(name, safe=_UNRESERVED), quote(value, safe=_UNRESERVED))
        for name, value in _query_pairs(raw_query)
        if name not in omitted
    )
    return "&".join(f"{name}={value}" for name, value in encoded)


def _index(headers: Iterable[tuple[str, str]]) -> dict[str, list[str]]:
    index: dict[str, list[str]] = {}
    for name, value in headers:
        index.setdefault(name.lower(), []).append(value)
    return index


def _canonical_headers(index: Mapping[str, list[str]], names: Sequence[str]) -> str:
    lines = []
    for name in names:
        values = index.get(name)
        if values is None:
            raise MalformedSignature(f"Signed header '{name}' is not in the request.")
        # Trimall: no space around a value, one space for every run inside; repeated
        # headers joined by commas in the order received (botocore `_header_value`).
        lines.append(f"{name}:{','.join(' '.join(value.split()) for value in values)}\n")
    return "".join(lines)


def canonical_request(
    method: str,
    raw_path: str,
    raw_query: str,
    headers: Iterable[tuple[str, str]],
    signed_headers: str,
    payload_hash: str,
    omit_query: Collection[str] = (),
) -> str:
    """The canonical request for a request and its `SignedHeaders` value.

    Raises:
        MalformedSignature: a header named in `signed_headers` is not in `headers`.
    """
    index = _index(headers)
    return _canonical(method, raw_path, raw_query, index, signed_headers, payload_hash, omit_query)


def _canonical(
    method: str,
    raw_path: str,
    raw_query: str,
    index: Mapping[str, list[str]],
    signed_headers: str,
    payload_hash: str,
    omit_query: Collection[str],
) -> str:
    names = [name.lower() for name in signed_headers.split(";")]
    return "\n".join(
        (
            method.upper(),
            canonical_uri(raw_path),
            canonical_query(raw_query, omit_query),
            _canonical_headers(index, names),
            signed_headers,
            payload_hash,
        )
    )


def string_to_sign(timestamp: str, scope: str, canonical: str) -> str:
    """Algorithm, request time, credential scope and the hash of the canonical request."""
    digest = hashlib.sha256(canonical.encode("utf-8")).hexdigest()
    return f"{ALGORITHM}\n{timestamp}\n{scope}\n{digest}"


def signing_key(secret_access_key: str, day: str, region: str, service: str) -> bytes:
    """HMAC chain `AWS4<secret>` → day → region → service → `aws4_request`."""
    key = f"AWS4{secret_access_key}".encode()
    for part in (day, region, service, TERMINATOR):
        key = hmac.new(key, part.encode("utf-8"), hashlib.sha256).digest()
    return key


@dataclass(frozen=True, slots=True)
class _Claim:
    """What a request says about its own signature, before any of it is checked."""

    algorithm: str
    credential: str
    signed_headers: str
    signature: str
    timestamp: str
    token: str | None
    expires: int | None  # set for presigned requests only

    @property
    def presigned(self) -> bool:
        return self.expires is not None


def _single(values: Sequence[str] | None, name: str) -> str | None:
    if not values:
        return None
    if len(values) > 1:
        raise MalformedSignature(f"'{name}' appears more than once.")
    return values[0]


def _header_claim(authorization: str, index: Mapping[str, list[str]]) -> _Claim:
    algorithm, _, rest = authorization.strip().partition(" ")
    fields: dict[str, str] = {}
    for item in rest.split(","):
        key, equals, value = item.strip().partition("=")
        if not equals:
            raise MalformedSignature(
                f"'{key}' not a valid key=value pair (missing equal-sign) in Authorization "
                f"header: '{authorization}'."
            )
        if key in fields:
            raise MalformedSignature(f"'{key}' appears more than once in the Authorization header.")
        fields[key] = value
    missing = [
        f"Authorization header requires '{key}' parameter. "
        for key in ("Credential", "Signature", "SignedHeaders")
        if key not in fields
    ]
    stamp = _single(index.get("x-amz-date"), "X-Amz-Date")
    if stamp is None:
        stamp = _from_http_date(_single(index.get("date"), "Date"))
    if stamp is None:
        missing.append(
            "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header. "
        )
    if missing:
        raise MalformedSignature("".join(missing) + f"Authorization={authorization}")
    assert stamp is not None
    return _Claim(
        algorithm=algorithm,
        credential=fields["Credential"],
        signed_headers=fields["SignedHeaders"],
        signature=fields["Signature"],
        timestamp=stamp,
        token=_single(index.get("x-amz-security-token"), "X-Amz-Security-Token"),
        expires=None,
    )


def _from_http_date(value: str | None) -> str | None:
    """An HTTP `Date` header in the basic ISO-8601 form the string to sign uses."""
    if value is None:
        return None
    try:
        parsed = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return value  # refused as a bad date by the format check, with its text
    if parsed.tzinfo is None:  # "-0000": UTC by RFC 5322
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC).strftime(_TIMESTAMP_FORMAT)


def _query_claim(params: Mapping[str, list[str]]) -> _Claim:
    if any(len(params.get(name, ())) != 1 for name in _QUERY_PARAMS):
        raise MalformedSignature(
            "Query-string authentication version 4 requires the X-Amz-Algorithm, "
            "X-Amz-Credential, X-Amz-Signature, X-Amz-Date, X-Amz-SignedHeaders, and "
            "X-Amz-Expires parameters."
        )
    expires = params["X-Amz-Expires"][0]
    if not expires.isdigit() or not expires.isascii() or int(expires) > MAX_EXPIRES:
        raise MalformedSignature(
            f"X-Amz-Expires must be a number of seconds from 0 to {MAX_EXPIRES}, not '{expires}'."
        )
    return _Claim(
        algorithm=params["X-Amz-Algorithm"][0],
        credential=params["X-Amz-Credential"][0],
        signed_headers=params["X-Amz-SignedHeaders"][0],
        signature=params[SIGNATURE_PARAM][0],
        timestamp=params["X-Amz-Date"][0],
        token=_single(params.get(_TOKEN_PARAM), _TOKEN_PARAM),
        expires=int(expires),
    )


def _claim(raw_query: str, index: Mapping[str, list[str]]) -> _Claim:
    params: dict[str, list[str]] = {}
    for name, value in _query_pairs(raw_query):
        params.setdefault(name.decode("utf-8", "replace"), []).append(
            value.decode("utf-8", "replace")
        )
    in_query = any(name in params for name in _QUERY_MARKERS)
    authorization = _single(index.get("authorization"), "Authorization")
    if authorization is not None and in_query:
        raise MalformedSignature(
            "Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter, "
            "Signature query string parameter or the Authorization header should be specified"
        )
    if in_query:
        return _query_claim(params)
    if authorization is None or not authorization.strip().startswith("AWS4-"):
        raise MissingAuthentication("Request is missing Authentication Token")
    return _header_claim(authorization, index)


def _parse_time(stamp: str) -> datetime:
    if not _TIMESTAMP.fullmatch(stamp):
        raise MalformedSignature(
            f"Date must be in ISO-8601 'basic format'. Got '{stamp}'. "
            "See http://en.wikipedia.org/wiki/ISO_8601"
        )
    try:
        return datetime.strptime(stamp, _TIMESTAMP_FORMAT).replace(tzinfo=UTC)
    except ValueError:
        raise MalformedSignature(f"Date '{stamp}' is not a valid date and time.") from None


def _span(delta: timedelta) -> str:
    seconds = int(delta.total_seconds())
    return f"{seconds // 60} min." if seconds % 60 == 0 else f"{seconds} sec."


def _check_time(claim: _Claim, signed_at: datetime, now: datetime, max_skew: timedelta) -> None:
    fmt = _TIMESTAMP_FORMAT
    if signed_at > now + max_skew:
        raise SignatureExpired(
            f"Signature not yet current: {claim.timestamp} is still later than "
            f"{(now + max_skew).strftime(fmt)} ({now.strftime(fmt)} + {_span(max_skew)})"
        )
    # A presigned URL lasts X-Amz-Expires from its date; a header signature, the skew.
    window = max_skew if claim.expires is None else timedelta(seconds=claim.expires)
    if signed_at < now - window:
        raise SignatureExpired(
            f"Signature expired: {claim.timestamp} is now earlier than "
            f"{(now - window).strftime(fmt)} ({now.strftime(fmt)} - {_span(window)})"
        )


def _check_scope(parts: list[str], claim: _Claim, service: str, region: str | None) -> None:
    _key, day, scope_region, scope_service, terminator = parts
    problems = []
    if not scope_region or (region is not None and scope_region != region):
        problems.append(f"Credential should be scoped to a valid region, not '{scope_region}'. ")
    if scope_service != service:
        problems.append(f"Credential should be scoped to correct service: '{service}'. ")
    if terminator != TERMINATOR:
        problems.append(
            f"Credential should be scoped with a valid terminator: '{TERMINATOR}', "
            f"not '{terminator}'. "
        )
    if day != claim.timestamp[:8]:
        problems.append(
            "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date "
            f"from HTTP: '{day}' != '{claim.timestamp[:8]}', from '{claim.timestamp}'."
        )
    if problems:
        raise InvalidScope("".join(problems).strip())


def _credential_parts(credential: str) -> list[str]:
    parts = credential.rstrip("/").split("/")
    if len(parts) != 5:
        raise MalformedSignature(
            "Credential must have exactly 5 slash-delimited elements, "
            f"e.g. keyid/date/region/service/term, got '{credential}'"
        )
    return parts


def _same(expected: str, given: str) -> bool:
    return hmac.compare_digest(expected.encode("utf-8"), given.encode("utf-8", "replace"))


def _mismatch(
    declared: str | None, payload_hash: str, canonical: str, to_sign: str
) -> SignatureMismatch:
    """The most telling refusal for a signature that does not match."""
    if declared == UNSIGNED_PAYLOAD:
        detail = "x-amz-content-sha256 is UNSIGNED-PAYLOAD; Lambda signs the body's SHA-256"
        return UnsignedPayload(_MISMATCH, detail, canonical, to_sign)
    if declared is not None and declared != payload_hash:
        detail = f"x-amz-content-sha256 is '{declared}' but the body's SHA-256 is {payload_hash}"
        return PayloadHashMismatch(_MISMATCH, detail, canonical, to_sign)
    detail = (
        f"The Canonical String for this request should have been\n'{canonical}'\n\n"
        f"The String-to-Sign should have been\n'{to_sign}'\n"
    )
    return SignatureMismatch(_MISMATCH, detail, canonical, to_sign)


def verify(
    method: str,
    raw_path: str,
    raw_query: str,
    headers: Iterable[tuple[str, str]],
    body: bytes,
    credentials: Iterable[Credentials],
    *,
    now: datetime,
    service: str = "lambda",
    region: str | None = None,
    max_skew: timedelta = MAX_SKEW,
    allow_unsigned_payload: bool = False,
) -> SignedBy:
    """Check a request's SigV4 signature, from the Authorization header or the query string.

    Args:
        method: the request method as received.
        raw_path: the path of the request target as it was on the wire, still
            percent-encoded, without the query (httpio admits only ASCII there).
        raw_query: what followed the first `?` of the target, as on the wire ("" if none).
        headers: every header as received, names in any case, repeated names repeated,
            values as decoded from the wire (latin-1, as httpio and ASGI hand them over).
        body: the whole body, read by the caller under its own size limit.
        credentials: the access keys sluice accepts.
        now: the current time, timezone-aware.
        service: the service the credential scope must name.
        region: the region the scope must name; None accepts any, reported in `SignedBy`.
        max_skew: how far the request's date may be from `now` either way.
        allow_unsigned_payload: take `x-amz-content-sha256: UNSIGNED-PAYLOAD` as the payload
            hash instead of refusing it as Lambda does.

    Returns:
        The access key, scope and time of a valid signature.

    Raises:
        SignatureError: the subclass says why the request is refused; `refusal` turns it
            into AWS's answer.
        ValueError: `now` is naive (a programming error, not a refusal).
    """
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    request = _Request(method, raw_path, raw_query, _index(headers), body)
    claim = _claim(raw_query, request.index)
    signed_at = _parse_time(claim.timestamp)
    parts = _check_form(claim)
    _check_time(claim, signed_at, now.astimezone(UTC), max_skew)
    _check_scope(parts, claim, service, region)
    keys = {entry.access_key_id: entry for entry in credentials}
    key = keys.get(parts[0])
    if key is None:
        raise UnknownAccessKey(_INVALID_TOKEN, f"access key id '{parts[0]}' is not configured")
    _check_signature(request, claim, parts, key.secret_access_key, allow_unsigned_payload)
    _check_token(key.session_token, claim.token)
    return SignedBy(
        access_key_id=key.access_key_id,
        region=parts[2],
        service=parts[3],
        signed_at=signed_at,
        signed_headers=tuple(name.lower() for name in claim.signed_headers.split(";")),
        presigned=claim.presigned,
    )


@dataclass(frozen=True, slots=True)
class _Request:
    method: str
    raw_path: str
    raw_query: str
    index: Mapping[str, list[str]]
    body: bytes


def _check_form(claim: _Claim) -> list[str]:
    """The algorithm and signed headers; the credential split into its five parts."""
    if claim.algorithm != ALGORITHM:
        raise MalformedSignature(
            f"Unsupported AWS 'algorithm': '{claim.algorithm}' (only {ALGORITHM} for now). "
        )
    if "host" not in (name.lower() for name in claim.signed_headers.split(";")):
        raise MalformedSignature("'Host' must be a 'SignedHeader' in the AWS Authorization.")
    return _credential_parts(claim.credential)


def _check_signature(
    request: _Request, claim: _Claim, parts: list[str], secret: str, allow_unsigned: bool
) -> None:
    declared = _single(request.index.get("x-amz-content-sha256"), "x-amz-content-sha256")
    payload_hash = hashlib.sha256(request.body).hexdigest()
    if declared == UNSIGNED_PAYLOAD and allow_unsigned:
        payload_hash = UNSIGNED_PAYLOAD
    canonical = _canonical(
        request.method,
        request.raw_path,
        request.raw_query,
        request.index,
        claim.signed_headers,
        payload_hash,
        (SIGNATURE_PARAM,) if claim.presigned else (),
    )
    to_sign = string_to_sign(claim.timestamp, "/".join(parts[1:]), canonical)
    key = signing_key(secret, parts[1], parts[2], parts[3])
    expected = hmac.new(key, to_sign.encode("utf-8"), hashlib.sha256).hexdigest()
    if not _same(expected, claim.signature):
        raise _mismatch(declared, payload_hash, canonical, to_sign)


def _check_token(expected: str | None, given: str | None) -> None:
    """The session token must be the key's own, and absent for a key without one."""
    if expected is None and given is None:
        return
    if expected is None or given is None or not _same(expected, given):
        raise InvalidSecurityToken(_INVALID_TOKEN, "the session token does not match the key's")
