"""RESP2 encoding and decoding: every reply type, replies cut at any byte, bad streams."""

from __future__ import annotations

from typing import Any

import pytest

from llmrelay.redis_link.resp import ReplyError, _Parser, pack

STREAM = (b"+OK\r\n-ERR wrong number of arguments\r\n:42\r\n:-7\r\n$5\r\nhello\r\n$-1\r\n"
          b"$0\r\n\r\n$4\r\na\r\nb\r\n*2\r\n$1\r\na\r\n:1\r\n*-1\r\n*0\r\n"
          b"*2\r\n*1\r\n+x\r\n$3\r\n\x00\xff\n\r\n")


def normal(replies: list[Any]) -> list[Any]:
    return [f"error: {r}" if isinstance(r, ReplyError) else r for r in replies]


EXPECTED = [b"OK", "error: ERR wrong number of arguments", 42, -7, b"hello", None, b"",
            b"a\r\nb", [b"a", 1], None, [], [[b"x"], b"\x00\xff\n"]]


def test_pack_writes_every_argument_as_a_bulk_string() -> None:
    assert pack(["SET", "k", b"\x00\r\n", 12, 1.5]) == (
        b"*5\r\n$3\r\nSET\r\n$1\r\nk\r\n$3\r\n\x00\r\n\r\n$2\r\n12\r\n$3\r\n1.5\r\n")
    assert pack(["É"]) == b"*1\r\n$2\r\n\xc3\x89\r\n"  # length in bytes, not characters


def test_every_reply_type_at_once() -> None:
    assert normal(_Parser().replies(STREAM)) == EXPECTED


@pytest.mark.parametrize("size", [1, 2, 3, 5, 7, 11])
def test_replies_split_across_reads_at_any_byte(size: int) -> None:
    parser = _Parser()
    got: list[Any] = []
    for start in range(0, len(STREAM), size):
        got += parser.replies(STREAM[start:start + size])
    assert normal(got) == EXPECTED
    assert not parser.buf  # nothing left over


def test_a_reply_cut_inside_an_array_waits_for_the_rest() -> None:
    parser = _Parser()
    assert parser.replies(b"*3\r\n:1\r\n$3\r\nab") == []
    assert parser.replies(b"c\r\n") == []
    assert parser.replies(b":3\r\n+next") == [[1, b"abc", 3]]
    assert parser.replies(b"\r\n") == [b"next"]


def test_an_unknown_reply_type_is_an_error() -> None:
    with pytest.raises(ReplyError, match="unexpected reply type"):
        _Parser().replies(b"?what\r\n")


def test_a_bad_length_is_an_error() -> None:
    with pytest.raises(ValueError):
        _Parser().replies(b"$abc\r\n")
