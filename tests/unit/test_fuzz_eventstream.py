"""Property tests for the event-stream codec: what the byte vectors cannot enumerate.

The decoder sits on bytes from a socket, so it is held to the promise of its module: any
input yields messages, NEED_DATA or `CodecError`, never another exception, a hang or an
allocation sized by a length field. Examples are kept small and few; the atheris target in
`fuzz/` is where long random searches belong.
"""

from __future__ import annotations

import contextlib
import datetime
import struct
import tracemalloc
import zlib
from itertools import accumulate, pairwise

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sluice.errors import CodecError
from sluice.protocol.eventstream import (
    MAX_HEADERS_LENGTH,
    MAX_NAME_LENGTH,
    MAX_PAYLOAD_LENGTH,
    NEED_DATA,
    Decoder,
    HeaderType,
    Int,
    Message,
    encode_message,
)

UTC = datetime.UTC
PLUS_ONE = datetime.timezone(datetime.timedelta(hours=1))
MINUS_ONE = datetime.timezone(datetime.timedelta(hours=-1))
OVERHEAD = 16  # prelude + message CRC
# Bounded by example counts, not timings: CI machines are shared and timings lie.
FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
QUICK = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# --- strategies ---------------------------------------------------------------------------

INT_RANGES = {
    HeaderType.BYTE: 8,
    HeaderType.SHORT: 16,
    HeaderType.INTEGER: 32,
    HeaderType.LONG: 64,
}


def _ints(kind: HeaderType) -> st.SearchStrategy[Int]:
    half = 1 << (INT_RANGES[kind] - 1)
    return st.integers(-half, half - 1).map(lambda value: Int(value, kind))


# The wire carries milliseconds, so only whole milliseconds can come back equal. Instants
# stay a day inside the datetime range, so that every one encodes: an offset can push one
# past the range in UTC, which the encoder refuses (`bad_header_values` has those).
timestamps = st.datetimes(
    min_value=datetime.datetime(2, 1, 1),
    max_value=datetime.datetime(9998, 12, 31),
    timezones=st.sampled_from([UTC, datetime.timezone(datetime.timedelta(hours=-9, minutes=-30))]),
).map(lambda moment: moment.replace(microsecond=moment.microsecond // 1000 * 1000))

# Any aware instant, often within an hour of either end of the range, where an offset of
# an hour takes it past the range in UTC.
any_instants = (
    st.one_of(
        st.datetimes(),
        st.datetimes(max_value=datetime.datetime(1, 1, 1, 1)),
        st.datetimes(min_value=datetime.datetime(9999, 12, 31, 23)),
    )
    .map(lambda moment: moment.replace(microsecond=moment.microsecond // 1000 * 1000))
    .flatmap(
        lambda moment: st.sampled_from([UTC, PLUS_ONE, MINUS_ONE]).map(
            lambda zone: moment.replace(tzinfo=zone)
        )
    )
)

header_values = st.one_of(
    st.booleans(),
    st.sampled_from(list(INT_RANGES)).flatmap(_ints),
    st.binary(max_size=40),
    st.text(max_size=20),
    timestamps,
    st.uuids(),
)
header_names = st.text(min_size=1, max_size=MAX_NAME_LENGTH // 4)  # <= 4 UTF-8 bytes a char
messages = st.builds(
    lambda headers, payload: Message(tuple(headers.items()), payload),
    st.dictionaries(header_names, header_values, max_size=6),
    st.binary(max_size=200),
)


@st.composite
def streams(draw: st.DrawFn) -> tuple[list[Message], bytes]:
    sent = draw(st.lists(messages, max_size=4))
    return sent, b"".join(encode_message(m.headers, m.payload) for m in sent)


def cut(data: bytes, points: list[int]) -> list[bytes]:
    """Split at the given offsets, in any order and with repeats (empty feeds included)."""
    edges = [0, *sorted(point % (len(data) + 1) for point in points), len(data)]
    return [data[start:end] for start, end in pairwise(edges)]


def prelude(total: int, headers_length: int) -> bytes:
    lengths = struct.pack(">II", total, headers_length)
    return lengths + struct.pack(">I", zlib.crc32(lengths))


def seal(body: bytes, headers_length: int) -> bytes:
    """A frame with correct CRCs around any body, split into headers and payload anywhere:
    garbage that reaches the header parser instead of dying at a CRC check."""
    head = prelude(OVERHEAD + len(body), headers_length) + body
    return head + struct.pack(">I", zlib.crc32(head))


def _one_header(name: str, value: object) -> bytes:
    return encode_message({name: value}, b"")[12:-4]


@st.composite
def _header_like(draw: st.DrawFn) -> bytes:
    """Header-shaped garbage: lengths that are right or lie, names that may not be UTF-8,
    type bytes mostly known, so the parser meets every kind of short read."""
    name = draw(st.binary(max_size=12))
    name_length = draw(st.one_of(st.just(len(name)), st.integers(0, 255)))
    kind = draw(st.one_of(st.integers(0, 9), st.integers(10, 255)))
    value = draw(st.binary(max_size=20))
    value_length = draw(st.one_of(st.just(len(value)), st.integers(0, 0xFFFF)))
    return bytes((name_length, *name, kind)) + struct.pack(">H", value_length) + value


_well_formed = st.builds(_one_header, header_names, header_values)
header_pieces = st.one_of(_well_formed, _well_formed, _header_like())  # 2:1 for depth


@st.composite
def sealed_frames(draw: st.DrawFn) -> bytes:
    headers = draw(st.binary(max_size=60) | st.lists(header_pieces, max_size=4).map(b"".join))
    payload = draw(st.binary(max_size=30))
    lie = draw(st.sampled_from([0, 0, 0, -1, 1, -7, 40]))  # mostly honest headers lengths
    return seal(headers + payload, max(0, len(headers) + lie))


# --- helpers ------------------------------------------------------------------------------


def drain(decoder: Decoder, fed: int) -> list[Message]:
    """Every message ready now. Each takes at least 16 bytes, so a decoder that returns more
    than fed/16 of them, or never NEED_DATA, is looping."""
    out: list[Message] = []
    for _ in range(fed // OVERHEAD + 2):
        result = decoder.next_message()
        if result is NEED_DATA:
            return out
        assert isinstance(result, Message)
        out.append(result)
    pytest.fail(f"decoder returned {len(out)} messages from {fed} bytes without NEED_DATA")


def decode_pieces(pieces: list[bytes]) -> list[Message]:
    decoder = Decoder()
    out: list[Message] = []
    fed = 0
    for piece in pieces:
        decoder.feed(piece)
        fed += len(piece)
        out += drain(decoder, fed)
    decoder.end_of_stream()
    return out


def assert_stays_failed(decoder: Decoder) -> None:
    with pytest.raises(CodecError):
        decoder.next_message()
    with pytest.raises(CodecError):
        decoder.end_of_stream()
    with pytest.raises(CodecError):
        decoder.feed(b"\x00")


# --- round trips --------------------------------------------------------------------------


@FUZZ
@given(streams(), st.lists(st.integers(0, 1 << 16), max_size=8))
def test_any_split_of_a_valid_stream_decodes_to_what_was_sent(stream, points):
    sent, data = stream
    assert decode_pieces(cut(data, points)) == sent


@QUICK
@given(streams(), st.integers(0, 1 << 16))
def test_a_stream_cut_inside_a_message_fails_only_at_end_of_stream(stream, point):
    sent, data = stream
    point %= len(data) + 1
    ends = list(accumulate(len(encode_message(m.headers, m.payload)) for m in sent))
    decoder = Decoder()
    decoder.feed(data[:point])
    assert drain(decoder, point) == [m for m, end in zip(sent, ends, strict=True) if end <= point]
    if point in {0, *ends}:
        decoder.end_of_stream()
    else:
        with pytest.raises(CodecError, match="stream ended inside a message"):
            decoder.end_of_stream()
        assert_stays_failed(decoder)


@FUZZ
@given(sealed_frames())
def test_whatever_the_decoder_accepts_the_encoder_writes_back_byte_for_byte(frame):
    """The decoder is no laxer than the encoder: an accepted frame is canonical."""
    decoder = Decoder()
    decoder.feed(frame)
    try:
        (message,) = drain(decoder, len(frame))
    except CodecError:
        assert_stays_failed(decoder)
        return
    assert encode_message(message.headers, message.payload) == frame


bad_header_values = st.one_of(
    header_values,
    st.text(st.characters(exclude_categories=()), max_size=8),  # lone surrogates
    st.datetimes(),  # naive
    any_instants,
    st.integers(),  # an int without a width
    st.none(),
    st.floats(allow_nan=False),
    st.just("x" * 40_000),
)
bad_header_names = st.one_of(
    header_names,
    st.just(""),
    st.text(st.characters(exclude_categories=()), max_size=4),
    st.text(min_size=MAX_NAME_LENGTH + 1, max_size=MAX_NAME_LENGTH + 2),
    st.binary(max_size=3),
)


@FUZZ
@given(st.lists(st.tuples(bad_header_names, bad_header_values), max_size=4))
def test_encoder_refuses_bad_headers_only_with_codec_error(headers):
    try:
        frame = encode_message(headers, b"p")
    except CodecError:
        return
    assert decode_pieces([frame]) == [Message(tuple(headers), b"p")]


@FUZZ
@given(any_instants)
def test_an_instant_is_encoded_only_if_it_decodes_back(moment):
    """The decoder reads timestamps as UTC datetimes; an aware instant whose UTC form is
    outside datetime's range must be refused when written, not when read."""
    try:
        frame = encode_message([("t", moment)], b"")
    except CodecError:
        with pytest.raises(OverflowError):
            moment.astimezone(UTC)
        return
    assert decode_pieces([frame]) == [Message((("t", moment),), b"")]


# --- hostile input ------------------------------------------------------------------------


@FUZZ
@given(st.lists(st.one_of(st.binary(max_size=40), sealed_frames()), max_size=5), st.data())
def test_arbitrary_bytes_raise_only_codec_error_and_the_decoder_stays_failed(parts, data):
    stream = b"".join(parts)
    pieces = cut(stream, data.draw(st.lists(st.integers(0, 1 << 12), max_size=4)))
    decoder = Decoder()
    fed = 0
    try:
        for piece in pieces:
            decoder.feed(piece)
            fed += len(piece)
            drain(decoder, fed)
    except CodecError:
        assert_stays_failed(decoder)
        return
    with contextlib.suppress(CodecError):  # a cut-short stream; nothing to stay failed for
        decoder.end_of_stream()


@FUZZ
@given(messages, st.data())
def test_a_single_bit_flip_anywhere_in_a_frame_is_refused(message, data):
    frame = bytearray(encode_message(message.headers, message.payload))
    bit = data.draw(st.integers(0, len(frame) * 8 - 1))
    frame[bit // 8] ^= 1 << (bit % 8)
    decoder = Decoder()
    decoder.feed(bytes(frame))
    with pytest.raises(CodecError):
        decoder.next_message()


def _within_limits(total: int, headers_length: int) -> bool:
    """The prelude rules, restated from the spec rather than from the module."""
    payload_length = total - OVERHEAD - headers_length
    return (
        total >= OVERHEAD
        and headers_length <= MAX_HEADERS_LENGTH
        and 0 <= payload_length <= MAX_PAYLOAD_LENGTH
    )


u32 = st.one_of(
    st.integers(0, 0xFFFF_FFFF),
    st.integers(0, MAX_PAYLOAD_LENGTH + MAX_HEADERS_LENGTH + 64),
    st.sampled_from([0, 15, 16, 17, MAX_HEADERS_LENGTH, MAX_HEADERS_LENGTH + 1]),
)


@FUZZ
@given(u32, u32)
def test_lengths_are_judged_from_the_prelude_alone(total, headers_length):
    decoder = Decoder()
    decoder.feed(prelude(total, headers_length))
    if _within_limits(total, headers_length):
        assert decoder.next_message() is NEED_DATA
    else:
        with pytest.raises(CodecError):
            decoder.next_message()


@QUICK
@given(
    st.integers(MAX_PAYLOAD_LENGTH // 2, MAX_PAYLOAD_LENGTH),
    st.integers(0, MAX_HEADERS_LENGTH),
    st.binary(max_size=2048),
)
def test_a_huge_declared_length_allocates_nothing_before_the_bytes_arrive(
    payload_length, headers_length, tail
):
    """Declared lengths are not trusted: memory follows the bytes fed, not the prelude."""
    head = prelude(OVERHEAD + headers_length + payload_length, headers_length)
    decoder = Decoder()
    tracemalloc.start()
    try:
        decoder.feed(head)
        for start in range(0, len(tail), 512):
            decoder.feed(tail[start : start + 512])
            assert decoder.next_message() is NEED_DATA
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 64 * 1024
