"""Reading an HTTP/1.1 request body: strict framing, a size limit, and nothing read past a malformed frame.

Anything the parser would have to guess at (a negative or non-hexadecimal chunk size, a body that ends early,
Content-Length next to Transfer-Encoding, a transfer coding other than chunked) is BadFraming: the server answers
400 and closes the connection at once, before the API key or the route is looked at.
"""

from __future__ import annotations

import re
from email.message import Message
from typing import Protocol

_CONTENT_LENGTH = re.compile(r"[0-9]+")
_CHUNK_SIZE = re.compile(rb"[0-9A-Fa-f]{1,16}")
_MAX_DIGITS = 18  # a longer Content-Length is beyond any limit (and int() of it would cost time)
MAX_LINE_BYTES = 4096  # a chunk-size line or a trailer line
MAX_TRAILER_LINES = 32


class Stream(Protocol):
    def read(self, size: int, /) -> bytes: ...

    def readline(self, size: int, /) -> bytes: ...


class BadFraming(ValueError):
    """The request's framing cannot be read safely; the message says why (it carries no request data)."""


def read_body(headers: Message, stream: Stream, limit: int) -> bytes | None:
    """The request body; None when it is larger than `limit` (the rest is not read)."""
    encodings = headers.get_all("Transfer-Encoding") or []
    lengths = headers.get_all("Content-Length") or []
    if encodings:
        if lengths:
            raise BadFraming("Content-Length and Transfer-Encoding together")
        codings = [coding.strip().lower() for value in encodings for coding in value.split(",")]
        if codings != ["chunked"]:
            raise BadFraming("the only transfer coding accepted is chunked")
        return _read_chunked(stream, limit)
    if not lengths:
        return b""
    text = lengths[0].strip()
    if len(lengths) > 1 or not _CONTENT_LENGTH.fullmatch(text):
        raise BadFraming("Content-Length must be one decimal number")
    length = int(text) if len(text) <= _MAX_DIGITS else limit + 1
    if length > limit:
        return None
    body = stream.read(length)
    if len(body) < length:
        raise BadFraming("the body ended before Content-Length bytes")
    return body


def _line(stream: Stream) -> bytes:
    """One line without its CRLF (or LF); BadFraming when it is too long or the stream ends first."""
    line = stream.readline(MAX_LINE_BYTES + 1)
    if len(line) > MAX_LINE_BYTES or not line.endswith(b"\n"):
        raise BadFraming("a chunk line is too long or the body ended inside it")
    return line[:-2] if line.endswith(b"\r\n") else line[:-1]


def _read_chunked(stream: Stream, limit: int) -> bytes | None:
    body = bytearray()
    while True:
        size_text = _line(stream).split(b";", 1)[0].rstrip(b" \t")  # chunk extensions are ignored
        if not _CHUNK_SIZE.fullmatch(size_text):
            raise BadFraming("a chunk size must be 1 to 16 hexadecimal digits")
        size = int(size_text, 16)
        if size == 0:
            _skip_trailers(stream)
            return bytes(body)
        if len(body) + size > limit:
            return None
        chunk = stream.read(size)
        if len(chunk) < size:
            raise BadFraming("the body ended inside a chunk")
        body += chunk
        end = stream.read(1)
        if end == b"\r":
            end = stream.read(1)
        if end != b"\n":  # refused at once: no waiting for a line end that may never come
            raise BadFraming("a chunk's data must be followed by CRLF")


def _skip_trailers(stream: Stream) -> None:
    for _ in range(MAX_TRAILER_LINES):
        if not _line(stream):
            return
    raise BadFraming(f"more than {MAX_TRAILER_LINES} trailer lines")
