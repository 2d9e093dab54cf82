"""RESPONSE_STREAM: the prelude parser, whatever the chunk boundaries, and every refusal."""

from __future__ import annotations

import itertools
import json

import pytest

from sluice.protocol.function_url import (
    DEFAULT_STREAM_CONTENT_TYPE,
    HTTP_INTEGRATION_CONTENT_TYPE,
    MAX_PRELUDE_BYTES,
    PRELUDE_DELIMITER,
    BodyChunk,
    MalformedResponse,
    ResponseStreamParser,
    StreamHead,
)
from sluice_runtime import HttpResponseStream

NUL8 = b"\x00" * 8
# What Node's HttpResponseStream.from writes: JSON.stringify(prelude), then new Uint8Array(8).
NODE_PRELUDE = (
    b'{"statusCode":201,"headers":{"Content-Type":"text/event-stream",'
    b'"Cache-Control":"no-cache"},"cookies":["session=abc; Path=/; HttpOnly","theme=dark"]}'
)
NODE_HEAD = StreamHead(
    201,
    (
        ("content-type", "text/event-stream"),
        ("cache-control", "no-cache"),
        ("set-cookie", "session=abc; Path=/; HttpOnly"),
        ("set-cookie", "theme=dark"),
    ),
)
BODY = b"data: one\n\n\x00data: two\n\n"
STREAM = NODE_PRELUDE + NUL8 + BODY


def integration() -> ResponseStreamParser:
    return ResponseStreamParser(HTTP_INTEGRATION_CONTENT_TYPE)


def run(parser: ResponseStreamParser, pieces: list[bytes]) -> list[list[object]]:
    """The events of each feed, then of close(), one list per call."""
    return [parser.feed(piece) for piece in pieces] + [parser.close()]


def head_and_body(results: list[list[object]]) -> tuple[object, bytes]:
    events = [event for result in results for event in result]
    heads = [event for event in events if isinstance(event, StreamHead)]
    assert len(heads) == 1
    assert isinstance(events[0], StreamHead)
    chunks = [event for event in events if isinstance(event, BodyChunk)]
    assert all(chunk.data for chunk in chunks), "no empty chunks"
    return heads[0], b"".join(chunk.data for chunk in chunks)


# --- without a prelude ----------------------------------------------------------------------


def test_plain_stream_head_then_every_piece_as_it_came():
    parser = ResponseStreamParser("text/plain")
    assert run(parser, [b"a", b"bc", b"", b"d"]) == [
        [StreamHead(200, (("content-type", "text/plain"),)), BodyChunk(b"a")],
        [BodyChunk(b"bc")],
        [],
        [BodyChunk(b"d")],
        [],
    ]


def test_plain_stream_keeps_the_content_type_as_given():
    parser = ResponseStreamParser("Text/Event-Stream; charset=utf-8")
    assert parser.feed(b"x")[0] == StreamHead(
        200, (("content-type", "Text/Event-Stream; charset=utf-8"),)
    )


def test_plain_stream_without_content_type():
    parser = ResponseStreamParser(None)
    assert DEFAULT_STREAM_CONTENT_TYPE == "application/octet-stream"
    assert parser.feed(b"x")[0] == StreamHead(200, (("content-type", "application/octet-stream"),))


def test_plain_stream_head_on_an_empty_feed():
    parser = ResponseStreamParser("text/plain")
    assert parser.feed(b"") == [StreamHead(200, (("content-type", "text/plain"),))]
    assert parser.head_done


def test_empty_plain_stream_still_gets_a_head():
    parser = ResponseStreamParser("application/json")
    assert not parser.head_done
    assert parser.close() == [StreamHead(200, (("content-type", "application/json"),))]
    assert parser.head_done


def test_plain_stream_passes_prelude_lookalikes_through():
    parser = ResponseStreamParser("application/octet-stream")
    _, body = head_and_body(run(parser, [NODE_PRELUDE + NUL8, b"rest"]))
    assert body == NODE_PRELUDE + NUL8 + b"rest"
    assert not parser.has_prelude


# --- with a prelude -------------------------------------------------------------------------


def test_node_prelude_in_one_piece():
    parser = integration()
    assert parser.has_prelude
    assert run(parser, [STREAM]) == [[NODE_HEAD, BodyChunk(BODY)], []]


def test_node_prelude_as_node_writes_it():
    """Node writes the JSON, then the eight NULs, then each body write: three pieces and more."""
    parser = integration()
    assert run(parser, [NODE_PRELUDE, NUL8, b"data: one\n\n", b"data: two\n\n"]) == [
        [],
        [NODE_HEAD],
        [BodyChunk(b"data: one\n\n")],
        [BodyChunk(b"data: two\n\n")],
        [],
    ]


@pytest.mark.parametrize("cut", range(len(STREAM) + 1))
def test_split_at_every_byte_offset(cut):
    parser = integration()
    first, second = parser.feed(STREAM[:cut]), parser.feed(STREAM[cut:])
    end = len(NODE_PRELUDE) + len(NUL8)
    if cut < end:
        assert first == []
        assert second == [NODE_HEAD, BodyChunk(STREAM[end:])]
    else:
        expected_body = [BodyChunk(STREAM[end:cut])] if cut > end else []
        assert first == [NODE_HEAD, *expected_body]
        assert second == ([BodyChunk(STREAM[cut:])] if cut < len(STREAM) else [])
    assert parser.close() == []


@pytest.mark.parametrize("first", range(len(NODE_PRELUDE) - 4, len(NODE_PRELUDE) + 10))
@pytest.mark.parametrize("second", range(1, 12))
def test_three_way_splits_around_the_delimiter(first, second):
    pieces = [STREAM[:first], STREAM[first : first + second], STREAM[first + second :]]
    head, body = head_and_body(run(integration(), pieces))
    assert (head, body) == (NODE_HEAD, BODY)


def test_byte_by_byte():
    parser = integration()
    results = run(parser, [bytes([b]) for b in STREAM])
    end = len(NODE_PRELUDE) + len(NUL8)
    assert all(result == [] for result in results[: end - 1])
    assert results[end - 1] == [NODE_HEAD]
    assert results[end:-1] == [[BodyChunk(bytes([b]))] for b in BODY]


def test_pieces_are_never_merged_after_the_head():
    parser = integration()
    parser.feed(NODE_PRELUDE + NUL8)
    for piece in (b"x", b"\x00" * 8, b"y" * 100_000, b"\x00"):
        assert parser.feed(piece) == [BodyChunk(piece)]


TEXT_PLAIN = ("content-type", "text/plain")
PRELUDE_FIELDS = [
    ({}, StreamHead(200, ())),
    ({"statusCode": 404}, StreamHead(404, ())),
    ({"statusCode": "503"}, StreamHead(503, ())),
    ({"statusCode": None, "headers": None, "cookies": None}, StreamHead(200, ())),
    ({"headers": {"X-A": "1", "x-b": 2}}, StreamHead(200, (("x-a", "1"), ("x-b", "2")))),
    ({"cookies": ["a=1", "b=2"]}, StreamHead(200, (("set-cookie", "a=1"), ("set-cookie", "b=2")))),
    # LocalStack's AWS-validated test writes `status`, a key Lambda does not read: 200.
    ({"status": 404, "headers": {"Content-Type": "text/plain"}}, StreamHead(200, (TEXT_PLAIN,))),
    ({"statusCode": 200, "multiValueHeaders": {"X": ["a"]}, "body": "x"}, StreamHead(200, ())),
    ({"headers": {"Content-Length": "5", "Transfer-Encoding": "chunked"}}, StreamHead(200, ())),
]


@pytest.mark.parametrize(("metadata", "head"), PRELUDE_FIELDS)
def test_prelude_fields(metadata, head):
    parser = integration()
    assert parser.feed(json.dumps(metadata).encode() + NUL8 + b"body") == [head, BodyChunk(b"body")]


def test_escaped_nul_inside_the_json_is_not_the_delimiter():
    """JSON escapes NUL as \\u0000, so eight escaped NULs are just text (in an unknown key)."""
    prelude = b'{"note":"' + b"\\u0000" * 8 + b'","statusCode":202}'
    head, body = head_and_body(run(integration(), [prelude, NUL8, b"ok"]))
    assert (head, body) == (StreamHead(202, ()), b"ok")


def test_a_header_holding_nul_is_refused():
    with pytest.raises(MalformedResponse, match="control character"):
        integration().feed(b'{"headers":{"X-A":"a\\u0000b"}}' + NUL8)


def test_body_may_start_with_nul_bytes():
    parser = integration()
    assert parser.feed(b"{}" + NUL8 + b"\x00\x00abc") == [
        StreamHead(200, ()),
        BodyChunk(b"\x00\x00abc"),
    ]


@pytest.mark.parametrize("cut", range(1, 14))
def test_body_of_nul_bytes_split_anywhere(cut):
    stream = b"{}" + NUL8 + b"\x00" * 9
    head, body = head_and_body(run(integration(), [stream[:cut], stream[cut:]]))
    assert (head, body) == (StreamHead(200, ()), b"\x00" * 9)


def test_prelude_ending_the_stream_gives_an_empty_body():
    assert run(integration(), [b'{"statusCode":204}' + NUL8]) == [[StreamHead(204, ())], []]


@pytest.mark.parametrize(
    "content_type",
    [
        "application/vnd.awslambda.http-integration-response",
        "Application/Vnd.AwsLambda.Http-Integration-Response",
        "application/vnd.awslambda.http-integration-response; charset=utf-8",
    ],
)
def test_prelude_content_type_spellings(content_type):
    assert ResponseStreamParser(content_type).has_prelude


def test_python_runtime_prelude():
    """sluice_runtime's HttpResponseStream.prelude chunks parse to the metadata they carry."""
    metadata = {"statusCode": 202, "headers": {"X-Id": "7"}, "cookies": ["a=b"]}
    json_chunk, delimiter = HttpResponseStream.prelude(metadata).chunks()
    assert delimiter == PRELUDE_DELIMITER == NUL8
    parser = integration()
    assert parser.feed(json_chunk) == []
    assert parser.feed(delimiter) == [StreamHead(202, (("x-id", "7"), ("set-cookie", "a=b")))]


def test_non_ascii_prelude():
    prelude = json.dumps({"headers": {"X-Name": "café"}}, ensure_ascii=False).encode()
    assert integration().feed(prelude + NUL8)[0] == StreamHead(200, (("x-name", "café"),))


# --- refusals -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("prelude", "match"),
    [
        (b"", "not JSON"),
        (b"not json", "not JSON"),
        (b'{"statusCode":200', "not JSON"),
        (b"\xff{}", "not JSON"),
        (b"NaN", "not JSON"),
        (b"[]", "JSON object"),
        (b'"text"', "JSON object"),
        (b"null", "JSON object"),
        (b'{"statusCode":"abc"}', "statusCode"),
        (b'{"statusCode":700}', "statusCode"),
        (b'{"statusCode":true}', "statusCode"),
        (b'{"headers":["a"]}', "JSON object"),
        (b'{"headers":{"X":"a\\r\\nb"}}', "control character"),
        (b'{"headers":{"a b":"x"}}', "token"),
        (b'{"cookies":"a=1"}', "array of strings"),
        (b"[" * 100_000, "not JSON"),
    ],
)
def test_malformed_prelude(prelude, match):
    parser = integration()
    with pytest.raises(MalformedResponse, match=match):
        parser.feed(prelude + NUL8 + b"body")
    assert not parser.head_done
    with pytest.raises(MalformedResponse, match="already failed"):
        parser.feed(b"more")
    assert parser.close() == []


def test_stream_that_ends_inside_the_prelude():
    parser = integration()
    assert parser.feed(NODE_PRELUDE[:10]) == []
    with pytest.raises(MalformedResponse, match="after 10 bytes, before the 8 NUL bytes"):
        parser.close()


def test_stream_that_ends_inside_the_delimiter():
    parser = integration()
    parser.feed(NODE_PRELUDE + b"\x00" * 7)
    with pytest.raises(MalformedResponse, match="before the 8 NUL bytes"):
        parser.close()


def test_stream_that_writes_nothing():
    """On AWS the client waits until the timeout (Node RIC issue #95); sluice refuses at once."""
    with pytest.raises(MalformedResponse, match="without a prelude"):
        integration().close()


def test_default_prelude_cap():
    assert MAX_PRELUDE_BYTES == 1024 * 1024
    parser = integration()
    with pytest.raises(MalformedResponse, match="longer than 1048576 bytes"):
        for _ in range(17):
            parser.feed(b" " * 65536)


def test_prelude_of_exactly_the_cap_is_accepted():
    prelude = b"{}" + b" " * 14
    parser = ResponseStreamParser(HTTP_INTEGRATION_CONTENT_TYPE, max_prelude=16)
    assert parser.feed(prelude + NUL8) == [StreamHead(200, ())]


@pytest.mark.parametrize("cut", range(0, 26))
def test_prelude_one_byte_over_the_cap_is_refused_however_split(cut):
    stream = b"{}" + b" " * 15 + NUL8  # 17 bytes of JSON
    parser = ResponseStreamParser(HTTP_INTEGRATION_CONTENT_TYPE, max_prelude=16)
    with pytest.raises(MalformedResponse, match="longer than 16 bytes"):
        parser.feed(stream[:cut])
        parser.feed(stream[cut:])


def test_cap_is_enforced_before_the_delimiter_arrives():
    """Without a delimiter, the error comes as soon as the prelude must be over the cap."""
    parser = ResponseStreamParser(HTTP_INTEGRATION_CONTENT_TYPE, max_prelude=16)
    assert parser.feed(b"{" + b" " * 22) == []  # 23 bytes: the delimiter may still start at 16
    with pytest.raises(MalformedResponse, match="longer than 16 bytes"):
        parser.feed(b" ")


def test_feed_after_close_is_a_bug():
    parser = ResponseStreamParser("text/plain")
    parser.close()
    with pytest.raises(RuntimeError):
        parser.feed(b"x")
    assert parser.close() == []


def test_head_done_follows_the_prelude():
    parser = integration()
    parser.feed(NODE_PRELUDE)
    assert not parser.head_done
    parser.feed(NUL8)
    assert parser.head_done
    parser.close()
    assert parser.head_done


def test_garbage_never_raises_anything_else():
    """Whatever the bytes and splits: events or MalformedResponse, nothing else."""
    pieces = [b"{", b"}", b"\x00", b"\x00" * 8, b'"a"', b"[1]", b'{"statusCode":99}', b"\xff"]
    for combo in itertools.product(pieces, repeat=3):
        parser = integration()
        try:
            for piece in combo:
                parser.feed(piece)
            parser.close()
        except MalformedResponse:
            pass
