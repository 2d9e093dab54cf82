"""Coverage-guided fuzzing of the event-stream `Decoder` with atheris (libFuzzer).

The decoder reads bytes a peer chose, so its promise is tested with bytes a fuzzer chose:
only `CodecError` may escape, feeding the same bytes in two pieces decodes exactly as in
one, and whatever it accepts is canonical (the encoder writes it back byte for byte). A
crash is any other exception, a broken equality, or libFuzzer's own -timeout/-rss_limit_mb.

Random bytes almost never pass a CRC, so the first input byte can ask for the CRCs to be
fixed up before decoding; that lets the search reach the header parser.

Input: byte 0 flags (bit 0: fix CRCs), bytes 1-2 the split offset, the rest the stream.

Run (an empty corpus directory is first filled with valid frames as seeds):

    mkdir -p /tmp/corpus
    .venv/bin/python fuzz/eventstream_decoder.py /tmp/corpus -max_total_time=60

tests/integration/test_atheris.py runs it for a bounded time in CI.
"""

from __future__ import annotations

import datetime
import struct
import sys
import uuid
import zlib
from pathlib import Path

import atheris

with atheris.instrument_imports(include=["sluice"]):
    from sluice.errors import CodecError
    from sluice.protocol.eventstream import (
        NEED_DATA,
        Decoder,
        HeaderType,
        Int,
        Message,
        encode_message,
        invoke_complete,
        payload_chunk,
    )

_U32 = struct.Struct(">I")
_FIX_CRCS = 0x01
_HEADER = 3  # flags + split offset


def fix_crcs(stream: bytes) -> bytes:
    """Rewrite both CRCs of every frame whose declared length fits in the stream."""
    data = bytearray(stream)
    pos = 0
    while pos + 12 <= len(data):
        data[pos + 8 : pos + 12] = _U32.pack(zlib.crc32(data[pos : pos + 8]))
        total = _U32.unpack_from(data, pos)[0]
        if total < 16 or pos + total > len(data):
            break
        end = pos + total - 4
        data[end : end + 4] = _U32.pack(zlib.crc32(data[pos:end]))
        pos += total
    return bytes(data)


def decode(pieces: list[bytes]) -> tuple[list[Message], bool]:
    """The messages decoded, and whether the stream was refused (not merely cut short)."""
    decoder = Decoder()
    messages: list[Message] = []
    try:
        for piece in pieces:
            decoder.feed(piece)
            while (message := decoder.next_message()) is not NEED_DATA:
                messages.append(message)
    except CodecError:
        return messages, True
    return messages, False


def fuzz_one_input(data: bytes) -> None:
    if len(data) < _HEADER:
        return
    flags, split = data[0], int.from_bytes(data[1:_HEADER], "big")
    stream = data[_HEADER:]
    if flags & _FIX_CRCS:
        stream = fix_crcs(stream)
    split %= len(stream) + 1
    whole = decode([stream])
    assert decode([stream[:split], stream[split:]]) == whole, f"split at {split} differs"
    messages, _ = whole
    written = b"".join(encode_message(m.headers, m.payload) for m in messages)
    assert stream.startswith(written), "an accepted message is not canonical"


def seeds() -> list[bytes]:
    """Valid streams, framed for `fuzz_one_input`, to start the search from real messages."""
    every_type = encode_message(
        [
            ("true", True),
            ("false", False),
            ("byte", Int(-1, HeaderType.BYTE)),
            ("short", Int(300, HeaderType.SHORT)),
            ("int", Int(-70000, HeaderType.INTEGER)),
            ("long", Int(2**40, HeaderType.LONG)),
            ("bytes", b"\x00\xff"),
            ("string", "h\u00e9llo"),
            ("time", datetime.datetime(2024, 5, 17, 12, 30, 1, tzinfo=datetime.UTC)),
            ("uuid", uuid.UUID(int=0x1234)),
        ],
        b"payload",
    )
    streams = [
        payload_chunk(b"This") + invoke_complete(),
        invoke_complete("Unhandled", "boom", "bG9n"),
        every_type,
        encode_message([], b""),
    ]
    return [bytes((flags, 0, split)) + s for s in streams for flags, split in ((0, 7), (1, 0))]


def _plant_seeds(directory: Path) -> None:
    if directory.is_dir() and not any(directory.iterdir()):
        for number, seed in enumerate(seeds()):
            (directory / f"seed-{number}").write_bytes(seed)


def main() -> None:
    for arg in sys.argv[1:]:
        if not arg.startswith("-"):
            _plant_seeds(Path(arg))
    atheris.Setup(sys.argv, fuzz_one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
