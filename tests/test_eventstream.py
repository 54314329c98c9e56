"""The AWS event-stream decoder: every header type, any chunking, and no damage let through.

Streams are built with ``encode_message`` and checked against a plain reference parser written
from the format's description (PROVIDERS.md §9.5), split at random places; every single-byte
corruption and every truncation of a stream must raise, never yield a message or hang.
"""

from __future__ import annotations

import base64
import datetime
import json
import random
import struct
import uuid
import zlib
from typing import Any

import pytest

from llmrelay.eventstream import (
    MAX_HEADERS_LENGTH,
    EventStreamDecoder,
    EventStreamMessage,
    HeaderValue,
    encode_message,
)
from llmrelay.exceptions import APIConnectionError, APIError
from tests.conftest import load, recorded

STAMP = datetime.datetime(2026, 1, 1, 12, 0, 0, 123000, tzinfo=datetime.timezone.utc)
ID = uuid.UUID("12345678-1234-5678-1234-567812345678")
EVERY_TYPE: dict[str, Any] = {
    "true": True,
    "false": False,
    "byte": HeaderValue(2, -7),
    "short": HeaderValue(3, -300),
    "integer": 2**31 - 1,
    "long": 2**40,
    "bytes": b"\x00\xffraw",
    "string": "caf\u00e9 \u2615",
    "timestamp": STAMP,
    "uuid": ID,
}
DECODED_EVERY_TYPE = {**EVERY_TYPE, "byte": -7, "short": -300}


def reference(data: bytes) -> list[tuple[dict[str, Any], bytes]]:
    """A plain, whole-buffer parser of the format, for comparison."""
    out = []
    pos = 0
    while pos < len(data):
        total, hlen = struct.unpack(">II", data[pos:pos + 8])
        assert zlib.crc32(data[pos:pos + 8]) == struct.unpack(">I", data[pos + 8:pos + 12])[0]
        assert zlib.crc32(data[pos:pos + total - 4]) == struct.unpack(">I", data[pos + total - 4:pos + total])[0]
        headers: dict[str, Any] = {}
        h = pos + 12
        while h < pos + 12 + hlen:
            name = data[h + 1:h + 1 + data[h]].decode()
            h += 1 + data[h]
            kind = data[h]
            h += 1
            if kind == 7:
                n = struct.unpack(">H", data[h:h + 2])[0]
                headers[name] = data[h + 2:h + 2 + n].decode()
                h += 2 + n
            elif kind == 4:
                headers[name] = struct.unpack(">i", data[h:h + 4])[0]
                h += 4
            else:
                raise AssertionError(f"reference handles strings and int32 only, not {kind}")
        out.append((headers, data[pos + 12 + hlen:pos + total - 4]))
        pos += total
    return out


def random_stream(rng: random.Random, count: int) -> bytes:
    frames = []
    for i in range(count):
        headers = {":message-type": "event", ":event-type": rng.choice(["a", "contentBlockDelta", "x" * 40]),
                   ":content-type": "application/json", "n": i}
        payload = bytes(rng.randrange(256) for _ in range(rng.choice([0, 1, 5, 100, 3000])))
        frames.append(encode_message(headers, payload))
    return b"".join(frames)


def decode_in_chunks(data: bytes, sizes: list[int]) -> list[EventStreamMessage]:
    decoder = EventStreamDecoder()
    out: list[EventStreamMessage] = []
    pos, i = 0, 0
    while pos < len(data):
        size = sizes[i % len(sizes)]
        out += decoder.feed(data[pos:pos + size])
        pos, i = pos + size, i + 1
    return out + decoder.flush()


def test_every_header_type_round_trips() -> None:
    data = encode_message(EVERY_TYPE, b'{"ok":true}')
    (message,) = decode_in_chunks(data, [3])
    assert dict(message.headers) == DECODED_EVERY_TYPE
    assert message.payload == b'{"ok":true}' and message.data == '{"ok":true}'


@pytest.mark.parametrize("seed", range(20))
def test_random_streams_split_at_random_places_match_the_reference(seed: int) -> None:
    rng = random.Random(seed)
    data = random_stream(rng, rng.randrange(1, 12))
    sizes = [rng.choice([1, 2, 3, 7, 11, 12, 13, 64, 500, 10_000]) for _ in range(50)]
    got = [(dict(m.headers), m.payload) for m in decode_in_chunks(data, sizes)]
    assert got == reference(data)


def test_one_big_message_in_many_small_reads() -> None:
    payload = bytes(range(256)) * 8192  # 2 MiB
    data = encode_message({":message-type": "event"}, payload)
    (message,) = decode_in_chunks(data, [4096])
    assert message.payload == payload


@pytest.mark.parametrize("path", [p for p in recorded("bedrock") if p.name.startswith("stream_")],
                         ids=lambda p: p.stem)
def test_recorded_streams_decode_at_odd_boundaries(path: Any) -> None:
    rec = load(path)["response"]
    data = base64.b64decode(rec["body_base64"])
    for sizes in ([1], [7], [13, 1, 64], [len(data)]):
        got = [{"headers": dict(m.headers), "payload": json.loads(m.payload)}
               for m in decode_in_chunks(data, sizes)]
        assert got == rec["eventstream_decoded"]


def test_every_single_byte_corruption_raises() -> None:
    data = encode_message({":message-type": "event", ":event-type": "a"}, b'{"x":1}') * 2
    for at in range(len(data)):
        damaged = data[:at] + bytes([data[at] ^ 0x01]) + data[at + 1:]
        with pytest.raises(APIError) as info:
            decode_in_chunks(damaged, [5])
        assert "CRC" in info.value.message or "ended mid-message" in info.value.message, at


def test_every_truncation_raises_at_the_end() -> None:
    data = encode_message({":message-type": "event"}, b'{"x":1}') * 2
    one = len(data) // 2
    for cut in range(1, len(data)):
        if cut == one:
            assert len(decode_in_chunks(data[:cut], [3])) == 1  # a whole message, then nothing
            continue
        with pytest.raises(APIConnectionError, match="ended mid-message"):
            decode_in_chunks(data[:cut], [3])


def test_impossible_lengths_with_a_valid_prelude_crc_raise_at_once() -> None:
    for total, hlen in ((10, 0), (100, 200), (16 + MAX_HEADERS_LENGTH + 1, MAX_HEADERS_LENGTH + 1),
                        (2**31, 0)):
        prelude = struct.pack(">II", total, hlen)
        data = prelude + struct.pack(">I", zlib.crc32(prelude))
        with pytest.raises(APIError, match="impossible lengths"):
            EventStreamDecoder().feed(data)


def test_malformed_headers_raise() -> None:
    headers = b"\x01a\x0a"  # a header of unknown type 10
    total = 16 + len(headers)
    prelude = struct.pack(">II", total, len(headers))
    body = prelude + struct.pack(">I", zlib.crc32(prelude)) + headers
    data = body + struct.pack(">I", zlib.crc32(body))
    with pytest.raises(APIError, match="malformed headers"):
        EventStreamDecoder().feed(data)


def test_a_decoder_can_be_fed_nothing_and_flush_empty() -> None:
    decoder = EventStreamDecoder()
    assert decoder.feed(b"") == [] and decoder.flush() == []
