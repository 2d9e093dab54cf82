"""Byte-vector tests for the event-stream codec, with botocore as an independent oracle."""

from __future__ import annotations

import datetime
import functools
import json
import random
import struct
import uuid
import zlib

import pytest
from botocore.eventstream import EventStream, EventStreamBuffer
from botocore.parsers import EventStreamJSONParser
from botocore.session import get_session

from sluice.errors import CodecError
from sluice.protocol.eventstream import (
    MAX_CHUNK_PAYLOAD,
    MAX_HEADERS_LENGTH,
    MAX_PAYLOAD_LENGTH,
    NEED_DATA,
    Decoder,
    HeaderType,
    Int,
    Message,
    encode_message,
    invoke_complete,
    payload_chunk,
    payload_chunks,
)

UTC = datetime.UTC
PLUS_ONE = datetime.timezone(datetime.timedelta(hours=1))
MINUS_ONE = datetime.timezone(datetime.timedelta(hours=-1))
EPOCH = datetime.datetime(1970, 1, 1, tzinfo=UTC)

# Spec section 1.5, copied field by field.
SPEC_PAYLOAD_CHUNK = bytes.fromhex(
    "0000006e 0000005a c89eaeaf"
    "0b 3a6576656e742d74797065 07 000c 5061796c6f61644368756e6b"
    "0d 3a636f6e74656e742d74797065 07 0018 6170706c69636174696f6e2f6f637465742d73747265616d"
    "0d 3a6d6573736167652d74797065 07 0005 6576656e74"
    "54686973"
    "f10d7a77"
)
SPEC_INVOKE_COMPLETE = bytes.fromhex(
    "00000066 00000054 1f56c869"
    "0b 3a6576656e742d74797065 07 000e 496e766f6b65436f6d706c657465"
    "0d 3a636f6e74656e742d74797065 07 0010 6170706c69636174696f6e2f6a736f6e"
    "0d 3a6d6573736167652d74797065 07 0005 6576656e74"
    "7b7d"
    "7006d467"
)

ALL_TYPES = [
    ("true", True),
    ("false", False),
    ("byte", Int(-128, HeaderType.BYTE)),
    ("short", Int(-300, HeaderType.SHORT)),
    ("integer", Int(2**31 - 1, HeaderType.INTEGER)),
    ("long", Int(-(2**63), HeaderType.LONG)),
    ("bytes", b"\x00\xffbin"),
    ("string", "h\u00e9llo \u2603"),
    ("timestamp", datetime.datetime(2024, 5, 17, 12, 30, 1, 123000, tzinfo=UTC)),
    ("uuid", uuid.UUID("12345678-1234-5678-1234-567812345678")),
]


def _event(event_type: str, content_type: str) -> list:
    return [
        (":event-type", event_type),
        (":content-type", content_type),
        (":message-type", "event"),
    ]


POSITIVE = [
    pytest.param(
        _event("PayloadChunk", "application/octet-stream"),
        b"This",
        SPEC_PAYLOAD_CHUNK,
        id="spec-payload-chunk",
    ),
    pytest.param(
        _event("InvokeComplete", "application/json"),
        b"{}",
        SPEC_INVOKE_COMPLETE,
        id="spec-complete",
    ),
    *(
        pytest.param([pair], b"p", None, id=f"type{number}-{pair[0]}")
        for number, pair in enumerate(ALL_TYPES)
    ),
    pytest.param(ALL_TYPES, b"all", None, id="all-types"),
    pytest.param([(":message-type", "event")], b"", None, id="empty-payload"),
    pytest.param([], b"no headers", None, id="empty-headers"),
    pytest.param([], b"", None, id="empty-message"),
    pytest.param([("n" * 255, "v" * 32767)], b"\x00" * 300, None, id="longest-name-and-value"),
]


def frame(raw_headers: bytes, payload: bytes = b"") -> bytes:
    """Frame raw header bytes with correct CRCs, independently of the module under test."""
    lengths = struct.pack(">II", 16 + len(raw_headers) + len(payload), len(raw_headers))
    body = lengths + struct.pack(">I", zlib.crc32(lengths)) + raw_headers + payload
    return body + struct.pack(">I", zlib.crc32(body))


def prelude(total: int, headers_length: int) -> bytes:
    lengths = struct.pack(">II", total, headers_length)
    return lengths + struct.pack(">I", zlib.crc32(lengths))


def drain(decoder: Decoder) -> list[Message]:
    messages = []
    while (result := decoder.next_message()) is not NEED_DATA:
        assert isinstance(result, Message)
        messages.append(result)
    return messages


def decode_chunks(chunks: list[bytes]) -> list[Message]:
    decoder = Decoder()
    messages = []
    for chunk in chunks:
        decoder.feed(chunk)
        messages += drain(decoder)
    decoder.end_of_stream()
    return messages


def expected(headers: list, payload: bytes) -> Message:
    return Message(tuple(headers), payload)


def botocore_value(value: object) -> object:
    """The value botocore's decoder produces for one of ours."""
    if isinstance(value, Int):
        return value.value
    if isinstance(value, datetime.datetime):
        return (value - EPOCH) // datetime.timedelta(milliseconds=1)
    if isinstance(value, uuid.UUID):
        return value.bytes
    return value


@functools.cache
def lambda_event_shape():
    model = get_session().get_service_model("lambda")
    return model.operation_model("InvokeWithResponseStream").output_shape.members["EventStream"]


class _RawStream:
    def __init__(self, data: bytes) -> None:
        self._data = data

    def stream(self):
        yield self._data


def parse_with_lambda_model(data: bytes) -> list[dict]:
    stream = EventStream(_RawStream(data), lambda_event_shape(), EventStreamJSONParser(), "Invoke")
    return list(stream)


# --- positive vectors ---------------------------------------------------------------------


@pytest.mark.parametrize(("headers", "payload", "wire"), POSITIVE)
def test_encode_matches_vector(headers, payload, wire):
    encoded = encode_message(headers, payload)
    if wire is not None:
        assert encoded == wire
    assert encode_message(dict(headers), payload) == encoded


@pytest.mark.parametrize(("headers", "payload", "wire"), POSITIVE)
def test_decode_whole(headers, payload, wire):
    assert decode_chunks([encode_message(headers, payload)]) == [expected(headers, payload)]


@pytest.mark.parametrize(("headers", "payload", "wire"), POSITIVE)
def test_decode_byte_by_byte(headers, payload, wire):
    data = encode_message(headers, payload)
    chunks = [data[i : i + 1] for i in range(len(data))]
    assert decode_chunks(chunks) == [expected(headers, payload)]


@pytest.mark.parametrize(("headers", "payload", "wire"), POSITIVE)
def test_decode_every_split_point(headers, payload, wire):
    data = encode_message(headers, payload)
    step = max(1, len(data) // 400)  # the longest vector would take a while at every byte
    for split in [*range(0, len(data) + 1, step), len(data) - 1]:
        assert decode_chunks([data[:split], data[split:]]) == [expected(headers, payload)]


@pytest.mark.parametrize(("headers", "payload", "wire"), POSITIVE)
def test_decode_with_trailing_next_message(headers, payload, wire):
    data = encode_message(headers, payload)
    decoder = Decoder()
    decoder.feed(data + SPEC_PAYLOAD_CHUNK[:20])
    assert drain(decoder) == [expected(headers, payload)]
    decoder.feed(SPEC_PAYLOAD_CHUNK[20:])
    assert drain(decoder) == [Message(tuple(POSITIVE[0].values[0]), b"This")]
    decoder.end_of_stream()


@pytest.mark.parametrize(("headers", "payload", "wire"), POSITIVE)
def test_botocore_decodes_our_encoding(headers, payload, wire):
    buffer = EventStreamBuffer()
    buffer.add_data(encode_message(headers, payload))
    (message,) = list(buffer)
    assert message.headers == {name: botocore_value(value) for name, value in headers}
    assert message.payload == payload


def test_fast_paths_equal_spec_vectors():
    assert payload_chunk(b"This") == SPEC_PAYLOAD_CHUNK
    assert payload_chunks(b"This") == SPEC_PAYLOAD_CHUNK
    assert invoke_complete() == SPEC_INVOKE_COMPLETE


@pytest.mark.parametrize(
    ("wire", "event"),
    [
        pytest.param(payload_chunk(b"This"), {"PayloadChunk": {"Payload": b"This"}}, id="chunk"),
        pytest.param(payload_chunk(b""), {"PayloadChunk": {"Payload": b""}}, id="empty-chunk"),
        pytest.param(invoke_complete(), {"InvokeComplete": {}}, id="complete-clean"),
        pytest.param(
            invoke_complete("Sandbox.Timedout", "Task timed out", "bG9n"),
            {
                "InvokeComplete": {
                    "ErrorCode": "Sandbox.Timedout",
                    "ErrorDetails": "Task timed out",
                    "LogResult": "bG9n",
                }
            },
            id="complete-error-and-log",
        ),
        pytest.param(
            invoke_complete(log_result="bG9n"),
            {"InvokeComplete": {"LogResult": "bG9n"}},
            id="complete-log-only",
        ),
    ],
)
def test_lambda_model_parses_fast_paths(wire, event):
    assert parse_with_lambda_model(wire) == [event]


def test_invoke_complete_body_is_compact_and_ordered():
    (message,) = decode_chunks([invoke_complete("E", "d\u00e9tail", "L")])
    assert message.payload == b'{"ErrorCode":"E","ErrorDetails":"d\\u00e9tail","LogResult":"L"}'
    assert json.loads(message.payload)["ErrorDetails"] == "d\u00e9tail"
    (message,) = decode_chunks([invoke_complete(error_details="x")])
    assert message.payload == b'{"ErrorDetails":"x"}'


def test_payload_chunks_splits_large_writes():
    data = random.Random(7).randbytes(MAX_CHUNK_PAYLOAD * 5 // 2)
    messages = decode_chunks([payload_chunks(data)])
    assert [len(m.payload) for m in messages] == [
        MAX_CHUNK_PAYLOAD,
        MAX_CHUNK_PAYLOAD,
        len(data) // 5,
    ]
    assert b"".join(m.payload for m in messages) == data
    assert all(m.header(":event-type") == "PayloadChunk" for m in messages)


def test_payload_chunks_of_empty_write_is_one_empty_event():
    assert payload_chunks(b"") == payload_chunk(b"")


def test_payload_chunk_refuses_oversized_chunk():
    payload_chunk(bytes(MAX_CHUNK_PAYLOAD))
    with pytest.raises(CodecError, match="use payload_chunks"):
        payload_chunk(bytes(MAX_CHUNK_PAYLOAD + 1))


def test_message_header_lookup():
    message = Message(tuple(ALL_TYPES), b"")
    assert message.header("long") == Int(-(2**63), HeaderType.LONG)
    assert message.header("missing") is None


def test_many_messages_in_one_feed_survive_compaction():
    chunks = [payload_chunk(bytes([i % 256]) * 100) for i in range(2000)]
    data = b"".join(chunks)
    split = len(data) - 50
    messages = decode_chunks([data[:split], data[split:]])
    assert [m.payload for m in messages] == [bytes([i % 256]) * 100 for i in range(2000)]


@pytest.mark.parametrize(
    "moment",
    [
        pytest.param(datetime.datetime.min.replace(tzinfo=PLUS_ONE), id="before-year-1-in-utc"),
        pytest.param(datetime.datetime.max.replace(tzinfo=MINUS_ONE), id="after-9999-in-utc"),
    ],
)
def test_encoder_refuses_a_timestamp_the_decoder_cannot_read(moment):
    """Valid aware datetimes whose UTC instant is outside datetime's range: the decoder
    refuses them ("outside the datetime range"), so the encoder must too."""
    with pytest.raises(CodecError, match="outside the datetime range"):
        encode_message([("t", moment)], b"")


def test_timestamps_at_the_edges_of_the_range_round_trip():
    first = datetime.datetime.min.replace(tzinfo=UTC)
    last = datetime.datetime.max.replace(microsecond=999000, tzinfo=UTC)
    assert decode_chunks([encode_message([("a", first), ("b", last)], b"")]) == [
        Message((("a", first), ("b", last)), b"")
    ]


def test_timestamp_keeps_milliseconds_only():
    stamp = datetime.datetime(2024, 1, 1, 0, 0, 0, 123456, tzinfo=UTC)
    (message,) = decode_chunks([encode_message([("t", stamp)], b"")])
    assert message.header("t") == stamp.replace(microsecond=123000)


# --- negative vectors ---------------------------------------------------------------------


def _flip(data: bytes, index: int) -> bytes:
    return data[:index] + bytes([data[index] ^ 0x01]) + data[index + 1 :]


NEGATIVE = [
    pytest.param(_flip(SPEC_PAYLOAD_CHUNK, 8), "prelude CRC", id="bad-prelude-crc"),
    pytest.param(_flip(SPEC_PAYLOAD_CHUNK, 109), "message CRC", id="bad-message-crc"),
    pytest.param(_flip(SPEC_PAYLOAD_CHUNK, 50), "message CRC", id="corrupt-header-byte"),
    pytest.param(prelude(15, 0), "below the minimum", id="total-length-below-16"),
    pytest.param(prelude(20, 5), "overruns total", id="headers-length-exceeds-total"),
    pytest.param(
        prelude(16 + MAX_HEADERS_LENGTH + 1, MAX_HEADERS_LENGTH + 1),
        "headers length",
        id="headers-over-limit",
    ),
    pytest.param(
        prelude(16 + MAX_PAYLOAD_LENGTH + 1, 0), "payload length", id="payload-over-limit"
    ),
    pytest.param(frame(b"\x05ab"), "header name runs past", id="truncated-header-name"),
    pytest.param(frame(b"\x00\x00"), "empty header name", id="empty-header-name"),
    pytest.param(frame(b"\x01a"), "type of header", id="missing-header-type"),
    pytest.param(frame(b"\x01a\x0a"), "unknown type 10", id="unknown-header-type-10"),
    pytest.param(frame(b"\x01a\xff"), "unknown type 255", id="unknown-header-type-255"),
    pytest.param(frame(b"\x01a\x07\x00\x10abc"), "runs past", id="string-length-past-end"),
    pytest.param(frame(b"\x01a\x07\x00"), "value length runs past", id="string-length-truncated"),
    pytest.param(frame(b"\x01a\x06\x80\x00" + bytes(32768)), "exceeds", id="value-over-32767"),
    pytest.param(frame(b"\x01a\x04\x00\x00"), "INTEGER header value", id="int32-truncated"),
    pytest.param(frame(b"\x01a\x09" + bytes(15)), "UUID header value", id="uuid-truncated"),
    pytest.param(frame(b"\x01a\x00\x01a\x01"), "duplicate header 'a'", id="duplicate-header"),
    pytest.param(frame(b"\x01\xff\x00"), "not valid UTF-8", id="invalid-utf8-name"),
    pytest.param(frame(b"\x01a\x07\x00\x01\xff"), "not valid UTF-8", id="invalid-utf8-string"),
    pytest.param(
        frame(b"\x01a\x08" + struct.pack(">q", 2**62)),
        "datetime range",
        id="timestamp-out-of-range",
    ),
]


@pytest.mark.parametrize(("data", "reason"), NEGATIVE)
def test_negative_whole(data, reason):
    decoder = Decoder()
    decoder.feed(data)
    with pytest.raises(CodecError, match=reason):
        decoder.next_message()


@pytest.mark.parametrize(("data", "reason"), NEGATIVE)
def test_negative_byte_by_byte(data, reason):
    decoder = Decoder()
    with pytest.raises(CodecError, match=reason):
        for index in range(len(data)):
            decoder.feed(data[index : index + 1])
            assert decoder.next_message() is NEED_DATA


@pytest.mark.parametrize("data", [NEGATIVE[5].values[0], NEGATIVE[6].values[0]])
def test_limits_rejected_from_prelude_alone(data):
    assert len(data) == 12
    decoder = Decoder()
    decoder.feed(data[:11])
    assert decoder.next_message() is NEED_DATA
    decoder.feed(data[11:])
    with pytest.raises(CodecError):
        decoder.next_message()


def test_decoder_stays_failed():
    decoder = Decoder()
    decoder.feed(_flip(SPEC_PAYLOAD_CHUNK, 8))
    with pytest.raises(CodecError):
        decoder.next_message()
    with pytest.raises(CodecError, match="already failed"):
        decoder.next_message()
    with pytest.raises(CodecError, match="already failed"):
        decoder.feed(SPEC_PAYLOAD_CHUNK)


@pytest.mark.parametrize("cut", [1, 11, 12, 50, 109])
def test_end_of_stream_inside_message_raises_and_the_decoder_stays_failed(cut):
    """Like every other error: the rest of a message after EOF is not the same stream."""
    decoder = Decoder()
    decoder.feed(SPEC_PAYLOAD_CHUNK[:cut])
    assert decoder.next_message() is NEED_DATA
    with pytest.raises(CodecError, match="stream ended inside a message"):
        decoder.end_of_stream()
    for call in (decoder.next_message, decoder.end_of_stream, lambda: decoder.feed(b"x")):
        with pytest.raises(CodecError, match="already failed"):
            call()


def test_end_of_stream_at_boundary_is_clean():
    Decoder().end_of_stream()
    assert decode_chunks([SPEC_PAYLOAD_CHUNK, SPEC_INVOKE_COMPLETE]) == [
        Message(tuple(POSITIVE[0].values[0]), b"This"),
        Message(tuple(POSITIVE[1].values[0]), b"{}"),
    ]


@pytest.mark.parametrize(
    ("headers", "payload"),
    [
        pytest.param([("", "v")], b"", id="empty-name"),
        pytest.param([("n" * 256, "v")], b"", id="name-over-255"),
        pytest.param([("\ud800", "v")], b"", id="unencodable-name"),
        pytest.param([("n", "\ud800")], b"", id="unencodable-string"),
        pytest.param([("n", "v" * 32768)], b"", id="string-over-32767"),
        pytest.param([("n", b"v" * 32768)], b"", id="bytes-over-32767"),
        pytest.param([("n", 1)], b"", id="plain-int"),
        pytest.param([("n", 1.5)], b"", id="float"),
        pytest.param([("n", datetime.datetime(2024, 1, 1))], b"", id="naive-datetime"),
        pytest.param([("n", True), ("n", False)], b"", id="duplicate"),
        pytest.param([(f"h{i}", "v" * 30000) for i in range(5)], b"", id="headers-over-limit"),
        pytest.param([], bytes(MAX_PAYLOAD_LENGTH + 1), id="payload-over-limit"),
    ],
)
def test_encoder_refuses_bad_input(headers, payload):
    with pytest.raises(CodecError):
        encode_message(headers, payload)


@pytest.mark.parametrize(
    ("value", "kind"),
    [
        (128, HeaderType.BYTE),
        (-(2**15) - 1, HeaderType.SHORT),
        (2**31, HeaderType.INTEGER),
        (2**63, HeaderType.LONG),
        (1, HeaderType.STRING),
    ],
)
def test_int_refuses_values_that_do_not_fit(value, kind):
    with pytest.raises(CodecError):
        Int(value, kind)


# --- garbage invariant --------------------------------------------------------------------


def _random_headers(rng: random.Random) -> bytes:
    """Mostly well-formed header bytes, so the header parser is reached past the CRCs."""
    parts = []
    for _ in range(rng.randrange(4)):
        name = rng.choice([b"a", b"b", b"\xff", b"", rng.randbytes(3)])
        kind = rng.choice([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 200])
        value = rng.randbytes(rng.choice([0, 1, 2, 8, 16, 17]))
        parts.append(bytes([len(name) + rng.choice([0, 0, 0, 1])]) + name + bytes([kind]) + value)
    return b"".join(parts)


def _garbage(rng: random.Random) -> bytes:
    vectors = [SPEC_PAYLOAD_CHUNK, SPEC_INVOKE_COMPLETE, encode_message(ALL_TYPES, b"x")]
    shape = rng.randrange(5)
    if shape == 0:
        return rng.randbytes(rng.randrange(80))
    if shape == 1:
        data = bytearray(rng.choice(vectors))
        for _ in range(rng.randrange(1, 4)):
            data[rng.randrange(len(data))] = rng.randrange(256)
        return bytes(data)
    if shape == 2:
        return frame(_random_headers(rng), rng.randbytes(rng.randrange(8)))
    if shape == 3:
        return prelude(rng.randrange(2**32), rng.randrange(2**32)) + rng.randbytes(8)
    data = rng.choice(vectors)
    return data[: rng.randrange(len(data))] + rng.choice(vectors)


def test_garbage_only_yields_messages_or_codec_errors():
    rng = random.Random(20240517)
    outcomes = {"message": 0, "error": 0}
    for _ in range(4000):
        data = _garbage(rng)
        decoder = Decoder()
        try:
            while data:
                cut = rng.randrange(1, len(data) + 1)
                decoder.feed(data[:cut])
                data = data[cut:]
                outcomes["message"] += len(drain(decoder))
            decoder.end_of_stream()
        except CodecError:
            outcomes["error"] += 1
    assert outcomes["message"] > 0
    assert outcomes["error"] > 0
