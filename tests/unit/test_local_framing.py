"""HTTP/1.1 body framing of the local server (local/framing.py): what it reads, and what it refuses at once."""

from __future__ import annotations

import io
from email.message import Message

import pytest
from nmshd_tokens_local.framing import MAX_LINE_BYTES, MAX_TRAILER_LINES, BadFraming, read_body

LIMIT = 100


def headers(*pairs: tuple[str, str]) -> Message:
    message = Message()
    for name, value in pairs:
        message[name] = value
    return message


CHUNKED = headers(("Transfer-Encoding", "chunked"))


class Tracking(io.BytesIO):
    """A stream that fails the test if it is read to the end with read(-1) or read() (what a negative size did)."""

    def read(self, size: int | None = -1, /) -> bytes:
        assert size is not None and size >= 0, f"read({size}) would read until the client closes"
        return super().read(size)


def read(message: Message, data: bytes, limit: int = LIMIT) -> bytes | None:
    return read_body(message, Tracking(data), limit)


@pytest.mark.parametrize(
    ("message", "data", "body"),
    [
        (headers(), b"ignored", b""),
        (headers(("Content-Length", "5")), b"hello, and the next request", b"hello"),
        (headers(("Content-Length", " 0 ")), b"", b""),
        (headers(("Content-Length", "007")), b"1234567", b"1234567"),
        (CHUNKED, b"5\r\nhello\r\n0\r\n\r\n", b"hello"),
        (CHUNKED, b"5;ext=1\r\nhello\r\n1 ;x\r\n!\r\n0\r\nTrailer: x\r\n\r\n", b"hello!"),
        (CHUNKED, b"A\n0123456789\n0\n\n", b"0123456789"),  # bare LF line ends, an upper-case hex digit
        (headers(("Transfer-Encoding", "Chunked")), b"0\r\n\r\n", b""),
    ],
)
def test_well_formed_bodies_are_read_exactly(message: Message, data: bytes, body: bytes) -> None:
    assert read(message, data) == body


@pytest.mark.parametrize(
    ("message", "data"),
    [
        (CHUNKED, b"-5\r\nhello"),  # not read(-5), which reads until the client closes
        (CHUNKED, b"-0\r\n\r\n"),
        (CHUNKED, b"+5\r\nhello\r\n0\r\n\r\n"),
        (CHUNKED, b"0x5\r\nhello\r\n0\r\n\r\n"),
        (CHUNKED, b" 5\r\nhello\r\n0\r\n\r\n"),
        (CHUNKED, b"\r\nhello\r\n0\r\n\r\n"),  # an empty size line is no size, not the last chunk
        (CHUNKED, b"g\r\n"),
        (CHUNKED, b"1" * 17 + b"\r\n"),
        (CHUNKED, b"5\r\nhel"),  # the stream ends inside a chunk
        (CHUNKED, b"5\r\nhelloXX\r\n0\r\n\r\n"),  # no CRLF after the data
        (CHUNKED, b"5\r\nhello\r\n0\r\n"),  # no end of the trailer section
        (CHUNKED, b"5" * (MAX_LINE_BYTES + 1) + b"\r\n"),
        (CHUNKED, b"0\r\n" + b"T: x\r\n" * (MAX_TRAILER_LINES + 1) + b"\r\n"),
        (headers(("Transfer-Encoding", "gzip, chunked")), b"0\r\n\r\n"),
        (headers(("Transfer-Encoding", "chunked, chunked")), b"0\r\n\r\n"),
        (headers(("Transfer-Encoding", "identity")), b""),
        (headers(("Transfer-Encoding", "chunked"), ("Content-Length", "5")), b"0\r\n\r\n"),
        (headers(("Content-Length", "-1")), b""),
        (headers(("Content-Length", "+5")), b"hello"),
        (headers(("Content-Length", "5 5")), b"hello"),
        (headers(("Content-Length", "abc")), b""),
        (headers(("Content-Length", "\u0665")), b"hello"),  # an Arabic-Indic 5: int() would take it
        (headers(("Content-Length", "5"), ("Content-Length", "5")), b"hello"),
        (headers(("Content-Length", "10")), b"short"),  # the body ends early
    ],
)
def test_malformed_framing_is_refused_without_reading_on(message: Message, data: bytes) -> None:
    with pytest.raises(BadFraming):
        read(message, data)


@pytest.mark.parametrize(
    ("message", "data"),
    [
        (headers(("Content-Length", str(LIMIT + 1))), b""),
        (headers(("Content-Length", "9" * 40)), b""),
        (CHUNKED, b"65\r\n"),  # 101 bytes announced
        (CHUNKED, b"32\r\n" + b"x" * 50 + b"\r\n33\r\n"),  # 50 + 51
    ],
)
def test_a_body_over_the_limit_is_none_and_not_read(message: Message, data: bytes) -> None:
    assert read(message, data) is None


def test_the_limit_is_inclusive() -> None:
    assert read(headers(("Content-Length", str(LIMIT))), b"x" * LIMIT) == b"x" * LIMIT
    chunked = b"64\r\n" + b"x" * LIMIT + b"\r\n0\r\n\r\n"
    assert read(CHUNKED, chunked) == b"x" * LIMIT
