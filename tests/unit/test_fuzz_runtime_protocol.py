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

from sluice.protocol import runtime as rt
from sluice.protocol.eventstream import NEED_DATA, Decoder, invoke_complete

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
    max_leaves=12,  # shallow: deeper nesting makes json.loads raise RecursionError (open bug)
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
error_bodies = st.one_of(
    st.binary(max_size=120),
    encoded_documents,
    st.text(max_size=40).map(str.encode),
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
    except (ValueError, UnicodeDecodeError):
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
@given(wire_text, st.none() | wire_text)
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


@FUZZ
@given(
    st.uuids().map(str),
    st.integers(0, 2**53),
    header_safe,
    st.none() | header_safe,
    st.none() | header_safe,
    st.none() | header_safe,
)
def test_next_headers_are_valid_http(request_id, deadline, arn, context, identity, tenant):
    """The `GET /next` answer is sent by h11, which refuses what HTTP forbids.

    Printable ASCII only, for now: a client context or tenant id with other characters
    (both come from the caller) makes h11 refuse the answer (open bug)."""
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
