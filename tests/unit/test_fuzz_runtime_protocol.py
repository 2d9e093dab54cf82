"""Property tests for the sans-IO Runtime API pieces: what a runtime sends is untrusted.

Error bodies, error-type headers and trailers come from function code, which may send
anything. Whatever it sends must become an `Outcome` a caller can be told about, never an
exception in the server. Strings are drawn as the server produces them: header and trailer
values are latin-1 decodings of wire bytes.
"""

from __future__ import annotations

import base64
import json

import h11
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sluice.errors import InvalidRequestContent, ValidationFailed
from sluice.protocol import runtime as rt
from sluice.protocol.eventstream import NEED_DATA, Decoder, invoke_complete
from sluice.server._invoke import MAX_CLIENT_CONTEXT, client_context, tenant_id

# Bounded by example counts, not timings: CI machines are shared and timings lie.
FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

wire_text = st.binary(max_size=48).map(lambda raw: raw.decode("latin-1"))
header_types = st.none() | wire_text

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats()
    | st.text(max_size=12)
    | st.text(st.characters(exclude_categories=()), max_size=4),  # lone surrogates, escaped
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner),
    max_leaves=12,  # small and fast; `too_deep` below covers nesting past the parser's stack
)
documents = st.fixed_dictionaries(
    {},
    optional={"errorType": json_values, "errorMessage": json_values, "stackTrace": json_values},
)
encoded_documents = st.builds(
    lambda document, ascii_only, codec: json.dumps(document, ensure_ascii=ascii_only).encode(
        codec, "surrogatepass"
    ),
    documents | json_values,
    st.booleans(),
    st.sampled_from(["utf-8", "utf-8", "utf-16", "utf-32-be"]),  # json.loads detects all three
)
# Nesting past the parser's stack: json.loads raises RecursionError, not ValueError.
too_deep = st.one_of(
    st.integers(1000, 5000).map(lambda n: b"[" * n),
    st.integers(1000, 5000).map(lambda n: b'{"errorType": ' + b"[" * n + b"]" * n + b"}"),
)
error_bodies = st.one_of(
    st.binary(max_size=120),
    encoded_documents,
    st.text(max_size=40).map(str.encode),
    too_deep,
)


def stream_event(outcome: rt.Outcome) -> dict[str, str]:
    """The `InvokeComplete` a streaming caller gets for this outcome, decoded again."""
    decoder = Decoder()
    decoder.feed(invoke_complete(outcome.stream_code, outcome.error_message))
    message = decoder.next_message()
    assert message is not NEED_DATA
    assert decoder.next_message() is NEED_DATA
    return json.loads(message.payload)


def assert_reportable(outcome: rt.Outcome) -> None:
    """Every form a caller or the log may need exists and is well formed."""
    assert outcome.failed
    assert isinstance(outcome.error_type, str)
    assert outcome.error_type
    assert isinstance(outcome.error_message, str)
    assert isinstance(outcome.document, bytes)
    assert isinstance(json.loads(outcome.document), dict)
    assert isinstance(outcome.report_status(), str)
    assert stream_event(outcome) == {
        "ErrorCode": outcome.stream_code,
        "ErrorDetails": outcome.error_message,
    }


@FUZZ
@given(error_bodies, header_types)
def test_any_error_post_becomes_a_reportable_function_error(body, header_type):
    outcome = rt.function_error(body, header_type)
    assert_reportable(outcome)
    assert outcome.kind is rt.OutcomeKind.FUNCTION_ERROR
    assert outcome.stream_code == "Unhandled"
    assert outcome.environment_survives


@FUZZ
@given(error_bodies, header_types)
def test_any_init_error_post_becomes_a_reportable_init_error(body, header_type):
    outcome = rt.init_error(body, header_type)
    assert_reportable(outcome)
    assert outcome.kind is rt.OutcomeKind.INIT_ERROR
    assert outcome.stream_code == outcome.error_type
    assert not outcome.environment_survives


@FUZZ
@given(error_bodies, header_types)
def test_a_body_that_is_not_a_json_object_is_kept_as_its_text(body, header_type):
    try:
        parsed = json.loads(body)
    except (ValueError, UnicodeDecodeError, RecursionError):
        parsed = None
    outcome = rt.function_error(body, header_type)
    if isinstance(parsed, dict):
        assert outcome.document == body
        return
    text = body.decode("utf-8", "replace")
    assert outcome.error_message == text
    assert outcome.error_type == (header_type or "Unknown")
    assert json.loads(outcome.document) == {"errorMessage": text, "errorType": outcome.error_type}


@FUZZ
@given(error_bodies, wire_text)
def test_a_base64_trailer_body_reads_like_an_error_post(body, header_type):
    """Spec decision 6: trailers carry the same document, base64 encoded."""
    encoded = base64.b64encode(body).decode()
    trailed = rt.trailer_error(header_type, f" {encoded}\t")
    assert trailed == rt.function_error(body, header_type or None)


@FUZZ
@given(wire_text, st.none() | wire_text | too_deep.map(lambda b: base64.b64encode(b).decode()))
def test_any_trailer_pair_becomes_a_reportable_function_error(header_type, encoded_body):
    outcome = rt.trailer_error(header_type, encoded_body)
    assert_reportable(outcome)
    assert outcome.kind is rt.OutcomeKind.FUNCTION_ERROR


request_ids = wire_text | st.uuids().map(str)


@FUZZ
@given(
    request_ids,
    st.floats(1, 900),
    st.integers(-(2**31), 2**31),
    st.integers(0, 2**32),
    wire_text,
    wire_text,
)
def test_platform_outcomes_name_the_request_in_documented_form(
    request_id, timeout, returncode, limit, current, wanted
):
    for outcome in (
        rt.timed_out(request_id, timeout),
        rt.runtime_exited(request_id, returncode),
        rt.truncated(request_id),
        rt.invalid_mode(request_id),
        rt.out_of_memory(request_id),
    ):
        assert_reportable(outcome)
        document = json.loads(outcome.document)
        assert document["errorType"] == outcome.error_type == outcome.stream_code
        assert document["errorMessage"] == f"RequestId: {request_id} Error: {outcome.error_message}"
    assert_reportable(rt.too_large(limit))
    for misuse in (
        rt.invalid_request_id(),
        rt.invalid_state_transition(current, wanted),
        rt.invalid_response_mode(),
        rt.payload_too_large(limit),
        rt.unknown_route(),
    ):
        assert 400 <= misuse.status < 500
        assert json.loads(rt.misuse_body(misuse)) == {
            "errorMessage": misuse.message,
            "errorType": misuse.error_type,
        }


header_safe = st.text(st.characters(min_codepoint=0x21, max_codepoint=0x7E), max_size=40)
# What a caller may put in X-Amz-Client-Context once decoded: JSON in any layout and
# encoding of text (line breaks, non-ASCII, escapes), or text that is no JSON at all.
context_texts = st.one_of(
    st.builds(
        lambda value, ascii_only, indent: json.dumps(value, ensure_ascii=ascii_only, indent=indent),
        documents | json_values,
        st.booleans(),
        st.none() | st.integers(0, 2),
    ),
    st.text(max_size=40),
    st.text(max_size=40).map(lambda text: f" {json.dumps(text, ensure_ascii=False)}\t"),
)
# X-Amz-Tenant-Id as the server reads it: any wire bytes, as latin-1.
tenant_values = st.one_of(wire_text, header_safe, st.text(max_size=12))


def _as_server_takes_it(check, value):
    """The value the Lambda API lets through to the runtime, or None if it refuses it."""
    try:
        return check(value)
    except (InvalidRequestContent, ValidationFailed):
        return None


@FUZZ
@given(
    st.uuids().map(str),
    st.integers(0, 2**53),
    header_safe,
    st.none() | context_texts,
    st.none() | header_safe,
    st.none() | tenant_values,
)
def test_next_headers_are_valid_http(request_id, deadline, arn, context, identity, tenant):
    """The `GET /next` answer is sent by h11, which refuses what HTTP forbids; the caller's
    client context and tenant id reach it through the Lambda API's checks."""
    if context is not None:
        encoded = base64.b64encode(context.encode("utf-8", "surrogatepass")).decode()
        context = _as_server_takes_it(client_context, encoded)
    if tenant is not None:
        tenant = _as_server_takes_it(tenant_id, tenant)
    headers = rt.InvocationHeaders(
        request_id, deadline, arn, rt.new_trace_id(), context, identity, tenant
    ).to_headers()
    server = h11.Connection(h11.SERVER)
    server.receive_data(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
    server.next_event()
    server.send(h11.Response(status_code=200, headers=[*headers, ("Content-Length", "0")]))
    names = [name.lower() for name, _ in headers]
    assert len(names) == len(set(names))
    assert ("lambda-runtime-aws-tenant-id" in names) == bool(tenant)
    assert ("lambda-runtime-client-context" in names) == bool(context)


@FUZZ
@given(context_texts)
def test_a_client_context_reaches_the_runtime_as_the_same_json(text):
    """Verbatim when a header can carry it (as AWS passes it), else re-serialised; either
    way a runtime parsing the header gets the value the caller encoded."""
    raw = text.encode("utf-8", "surrogatepass")
    encoded = base64.b64encode(raw).decode()
    if len(encoded) > MAX_CLIENT_CONTEXT:
        return  # refused for its size alone
    header = _as_server_takes_it(client_context, encoded)
    try:
        value = json.loads(raw.decode())
    except (ValueError, RecursionError):
        assert header is None
        return
    assert header is not None
    # NaN is not equal to itself: compare the JSON both read back as.
    assert json.dumps(json.loads(header)) == json.dumps(value)
    if text.isascii() and text.isprintable() and text == text.strip():
        assert header == text
