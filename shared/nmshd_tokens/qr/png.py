"""A small, fast 1-bit greyscale PNG writer for QR code symbols.

Scanlines are made with a few string operations per module row instead of packing pixels one by one: at the usual
4 px per module each module is one hex digit (f = 4 white pixels, 0 = 4 black), so `bytes.fromhex` packs all of
them at once. Like segno, the copies of a module row use PNG filter 2 ("Up": all zero bytes after the first copy).
"""

from __future__ import annotations

import struct
import zlib
from functools import cache
from typing import Final

_SIGNATURE: Final = b"\x89PNG\r\n\x1a\n"


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


_END: Final = _chunk(b"IEND", b"")


@cache
def _module_digits(scale: int) -> dict[int, str]:
    """'1' (dark) → scale/4 hex digits of black pixels, '0' → white ones (scale a multiple of 4)."""
    return str.maketrans({"0": "f" * (scale // 4), "1": "0" * (scale // 4)})


@cache
def _module_bits(scale: int) -> dict[int, str]:
    """'1' (dark) → `scale` black pixel bits (0), '0' → white ones (1)."""
    return str.maketrans({"0": "1" * scale, "1": "0" * scale})


def _scanlines_hex(cells: str, size: int, stride: int, scale: int, border: int, line_bytes: int) -> bytes:
    digits = scale // 4
    hexed = cells.translate(_module_digits(scale))
    side = "f" * (border * digits)
    tail = "0" * (2 * line_bytes - (size + 2 * border) * digits)  # pad to the byte boundary
    copies = ("02" + "00" * line_bytes) * (scale - 1)
    quiet = ("00" + "f" * ((size + 2 * border) * digits) + tail) * (border * scale)
    span = size * digits
    rows = "".join(
        f"00{side}{hexed[start : start + span]}{side}{tail}{copies}"
        for start in range(0, size * stride * digits, stride * digits)
    )
    return bytes.fromhex(quiet + rows + quiet)


def _scanlines_bits(cells: str, size: int, stride: int, scale: int, border: int, line_bytes: int) -> bytes:
    pixels = cells.translate(_module_bits(scale))
    side = "1" * (border * scale)
    tail = "0" * (8 * line_bytes - (size + 2 * border) * scale)
    copies = ("00000010" + "0" * (8 * line_bytes)) * (scale - 1)
    quiet = ("00000000" + "1" * ((size + 2 * border) * scale) + tail) * (border * scale)
    span = size * scale
    rows = "".join(
        f"00000000{side}{pixels[start : start + span]}{side}{tail}{copies}"
        for start in range(0, size * stride * scale, stride * scale)
    )
    bits = quiet + rows + quiet
    return int(bits, 2).to_bytes(len(bits) // 8, "big")


def write_png(cells: str, size: int, stride: int, scale: int, border: int) -> bytes:
    """PNG of a `size`×`size` symbol whose row i is cells[i*stride : i*stride+size] ('1' = dark module).

    `scale` pixels per module, a light quiet zone of `border` modules, 1-bit greyscale.
    """
    if scale < 1:
        raise ValueError("scale must be at least 1 pixel per module")
    if border < 0:
        raise ValueError("border must not be negative")
    width = (size + 2 * border) * scale
    line_bytes = -(-width // 8)
    scanlines = _scanlines_hex if scale % 4 == 0 else _scanlines_bits
    raw = scanlines(cells, size, stride, scale, border, line_bytes)
    # Z_FILTERED with a 4 KiB window: measured on enmeshed references, 2-3× faster than level 9 and ~15 % smaller.
    deflate = zlib.compressobj(6, zlib.DEFLATED, 12, 8, zlib.Z_FILTERED)
    idat = deflate.compress(raw) + deflate.flush()
    header = struct.pack(">2I5B", width, width, 1, 0, 0, 0, 0)  # bit depth 1, greyscale, deflate, no interlace
    return _SIGNATURE + _chunk(b"IHDR", header) + _chunk(b"IDAT", idat) + _END
