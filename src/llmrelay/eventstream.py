"""AWS event-stream framing (``application/vnd.amazon.eventstream``): bytes <-> messages.

The peer of ``streaming.SSEDecoder`` for streams framed this way (Bedrock's ConverseStream).
Both CRC-32s of every message are checked: a damaged or cut stream raises, never yields garbage.
"""

from __future__ import annotations

import struct
import zlib
from typing import Any, Mapping, NamedTuple

from .exceptions import APIConnectionError, APIError

__all__ = ["EventStreamDecoder", "EventStreamMessage", "HeaderValue", "encode_message"]

# Limits from the format's reference implementations (botocore ``eventstream.py``).
MAX_HEADERS_LENGTH = 128 * 1024
MAX_PAYLOAD_LENGTH = 24 * 1024 * 1024
PRELUDE_LENGTH = 12  # total length, headers length, prelude CRC: three big-endian uint32
OVERHEAD = PRELUDE_LENGTH + 4  # plus the message CRC at the end

_PRELUDE = struct.Struct(">III")
_U32 = struct.Struct(">I")
_U16 = struct.Struct(">H")
# Header value types 2-5 and 8: fixed-size integers (8 is a timestamp in ms since the epoch).
_INTS = {2: struct.Struct(">b"), 3: struct.Struct(">h"), 4: struct.Struct(">i"),
         5: struct.Struct(">q"), 8: struct.Struct(">q")}
_crc32 = zlib.crc32


class EventStreamMessage(NamedTuple):
    """One message: its typed headers (``:message-type``, ``:event-type``, ...) and payload.

    ``headers`` may be shared between messages with identical header bytes: read, never mutate.
    """

    headers: Mapping[str, Any]
    payload: bytes

    @property
    def data(self) -> str:
        """The payload as text (what an error report shows)."""
        return self.payload.decode("utf-8", "replace")


class HeaderValue(NamedTuple):
    """A header value with an explicit wire type (0-9), for the types Python values cannot
    tell apart (int8 / int16 / int32 / int64 / timestamp)."""

    type: int
    value: Any


class EventStreamDecoder:
    """Incremental decoder: ``feed`` any slice of the body, get the messages it completed.

    Bytes of an incomplete message are held as a list of pieces until the message's length is
    reached, so a large message arriving in many small reads is joined once, not per read.
    ``flush`` at end of body raises ``APIConnectionError`` if a message was cut off.
    """

    __slots__ = ("_have", "_need", "_pending")

    def __init__(self) -> None:
        self._pending: list[bytes] = []
        self._have = 0
        self._need = PRELUDE_LENGTH

    def feed(self, chunk: bytes) -> list[EventStreamMessage]:
        if self._pending:
            self._pending.append(chunk)
            self._have += len(chunk)
            if self._have < self._need:
                return []
            buf = b"".join(self._pending)
            self._pending = []
        else:
            buf = bytes(chunk)
        size = len(buf)
        pos = 0
        need = PRELUDE_LENGTH
        out: list[EventStreamMessage] = []
        view = memoryview(buf)
        while size - pos >= PRELUDE_LENGTH:
            total, headers_length, prelude_crc = _PRELUDE.unpack_from(buf, pos)
            crc = _crc32(view[pos:pos + 8])
            if crc != prelude_crc:
                raise APIError(f"Event stream message at byte {pos} of this read failed its "
                               f"prelude CRC check (0x{crc:08x} != 0x{prelude_crc:08x})")
            if (headers_length > MAX_HEADERS_LENGTH or total < headers_length + OVERHEAD
                    or total - headers_length - OVERHEAD > MAX_PAYLOAD_LENGTH):
                raise APIError(f"Event stream message with impossible lengths: total {total}, "
                               f"headers {headers_length}")
            end = pos + total
            if end > size:
                need = total
                break
            (message_crc,) = _U32.unpack_from(buf, end - 4)
            crc = _crc32(view[pos + 8:end - 4], crc)
            if crc != message_crc:
                raise APIError(f"Event stream message at byte {pos} of this read failed its "
                               f"message CRC check (0x{crc:08x} != 0x{message_crc:08x})")
            start = pos + PRELUDE_LENGTH
            raw = buf[start:start + headers_length]
            headers = _HEADER_CACHE.get(raw)
            if headers is None:
                headers = _parse_headers(raw)
            out.append(EventStreamMessage(headers, buf[start + headers_length:end - 4]))
            pos = end
        if pos < size:
            self._pending = [buf[pos:]]
            self._have = size - pos
            self._need = need
        return out

    def flush(self) -> list[EventStreamMessage]:
        if self._pending:
            have, need = self._have, self._need
            self._pending, self._have, self._need = [], 0, PRELUDE_LENGTH
            raise APIConnectionError(
                f"Event stream ended mid-message: {have} of {need} bytes arrived"
            )
        return []


# Identical header blocks recur on every delta of a stream: parse each distinct one once.
_HEADER_CACHE: dict[bytes, Mapping[str, Any]] = {}
_HEADER_CACHE_SIZE = 512


def _parse_headers(raw: bytes) -> Mapping[str, Any]:
    headers: dict[str, Any] = {}
    pos, end = 0, len(raw)
    try:
        while pos < end:
            name_length = raw[pos]
            name = raw[pos + 1:pos + 1 + name_length].decode("utf-8")
            pos += 1 + name_length
            kind = raw[pos]
            pos += 1
            value: Any
            if kind in (6, 7):
                (length,) = _U16.unpack_from(raw, pos)
                pos += 2
                value = raw[pos:pos + length]
                if len(value) != length:
                    raise ValueError("value runs past the headers")
                pos += length
                if kind == 7:
                    value = value.decode("utf-8")
            elif kind in (0, 1):
                value = kind == 0
            elif kind in _INTS:
                unpacker = _INTS[kind]
                (value,) = unpacker.unpack_from(raw, pos)
                pos += unpacker.size
                if kind == 8:
                    import datetime

                    value = datetime.datetime.fromtimestamp(value / 1000, datetime.timezone.utc)
            elif kind == 9:
                import uuid

                if pos + 16 > end:
                    raise ValueError("UUID runs past the headers")
                value = uuid.UUID(bytes=raw[pos:pos + 16])
                pos += 16
            else:
                raise ValueError(f"unknown header value type {kind}")
            headers[name] = value
    except (IndexError, ValueError, struct.error) as exc:
        raise APIError(f"Event stream message has malformed headers: {exc}") from exc
    if len(raw) <= 1024:  # the usual three or four headers; a huge block is not worth keeping
        if len(_HEADER_CACHE) >= _HEADER_CACHE_SIZE:
            _HEADER_CACHE.clear()
        _HEADER_CACHE[raw] = headers
    return headers


def encode_message(headers: Mapping[str, Any], payload: bytes = b"") -> bytes:
    """One message with both CRCs, as a server sends it (emulators and tests use this).

    Header values: ``bool``, ``int`` (int32, or int64 when larger), ``str``, ``bytes``,
    ``datetime`` (timestamp), ``uuid.UUID``, or a ``HeaderValue`` for an explicit type.
    """
    encoded = b"".join(_encode_header(name, value) for name, value in headers.items())
    total = OVERHEAD + len(encoded) + len(payload)
    prelude = struct.pack(">II", total, len(encoded))
    head = prelude + _U32.pack(_crc32(prelude))
    body = head + encoded + payload
    return body + _U32.pack(_crc32(body))


def _encode_header(name: str, value: Any) -> bytes:
    raw_name = name.encode("utf-8")
    out = bytes([len(raw_name)]) + raw_name
    kind, value = _wire_type(value)
    if kind in (0, 1):
        return out + bytes([kind])
    if kind in _INTS:
        if kind == 8 and not isinstance(value, int):
            value = round(value.timestamp() * 1000)
        return out + bytes([kind]) + _INTS[kind].pack(value)
    if kind == 9:
        return out + bytes([9]) + (value if isinstance(value, bytes) else value.bytes)
    data = value.encode("utf-8") if kind == 7 else bytes(value)
    return out + bytes([kind]) + _U16.pack(len(data)) + data


def _wire_type(value: Any) -> tuple[int, Any]:
    if isinstance(value, HeaderValue):
        return value.type, value.value
    if isinstance(value, bool):
        return (0 if value else 1), value
    if isinstance(value, int):
        return (4 if -(2**31) <= value < 2**31 else 5), value
    if isinstance(value, str):
        return 7, value
    if isinstance(value, (bytes, bytearray)):
        return 6, value
    import datetime
    import uuid

    if isinstance(value, datetime.datetime):
        return 8, value
    if isinstance(value, uuid.UUID):
        return 9, value
    raise TypeError(f"cannot encode a header value of type {type(value).__name__}")
