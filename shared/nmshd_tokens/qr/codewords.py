"""Codewords of a QR code symbol: standard padding, Reed-Solomon error correction and interleaving.

ISO/IEC 18004 §7.4.9 (terminator), §7.4.10 (padding), §7.5.2 (error correction codewords) and §7.6 (final message).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Final

_PAD_CODEWORDS: Final = b"\xec\x11"
_TO_CHARS: Final = bytes.maketrans(b"\x00\x01", b"01")


def data_codewords(bits: bytearray, capacity_bits: int) -> bytes:
    """The data codewords of a segment bit stream (one byte 0/1 per bit) that fits into `capacity_bits`.

    §7.4.9/§7.4.10: up to four terminator zero bits, then zero bits only up to the next byte boundary (none when the
    stream already ends on one, unlike segno 1.6.6, heuer/segno#148), then 0xEC and 0x11 alternately.
    """
    length = len(bits)
    if length > capacity_bits:
        raise ValueError("the data stream does not fit the symbol")
    value = int(bits.translate(_TO_CHARS), 2) if length else 0
    terminator = min(4, capacity_bits - length)
    zero_fill = -(length + terminator) % 8
    length += terminator + zero_fill
    body = (value << (terminator + zero_fill)).to_bytes(length // 8, "big")
    missing = capacity_bits // 8 - len(body)
    return body + _PAD_CODEWORDS * (missing // 2) + _PAD_CODEWORDS[: missing % 2]


# GF(256) with the QR code polynomial x^8 + x^4 + x^3 + x^2 + 1 (§7.5.2); exp is doubled to skip a modulo.
_EXP: Final = [0] * 512
_LOG: Final = [0] * 256
_value = 1
for _power in range(255):
    _EXP[_power] = _EXP[_power + 255] = _value
    _LOG[_value] = _power
    _value <<= 1
    if _value & 0x100:
        _value ^= 0x11D
del _value, _power


_GENERATORS: list[list[int]] = [[1]]


def _generator(ec_length: int) -> list[int]:
    """Coefficients of (x - a^0)(x - a^1)…(x - a^(ec_length-1)) below the leading 1, highest power first.

    Each generator is the previous one times (x - a^n), so all are kept and built up incrementally.
    """
    while len(_GENERATORS) <= ec_length:
        power = len(_GENERATORS) - 1
        poly = _GENERATORS[-1]
        # poly·x + a^power·poly; in GF(2^8) subtraction is XOR
        _GENERATORS.append(
            [high ^ (_EXP[_LOG[low] + power] if low else 0) for high, low in zip([*poly, 0], [0, *poly], strict=True)]
        )
    return _GENERATORS[ec_length][1:]


_STEP_TABLES: dict[int, tuple[int, ...]] = {}


def _step_table(ec_length: int) -> tuple[int, ...]:
    """For each feedback byte f, f × generator as one big-endian int of `ec_length` bytes.

    Multiplying by a constant is linear over GF(2), so the products of the 8 single-bit bytes give all 256 by XOR.
    """
    table = _STEP_TABLES.get(ec_length)
    if table is None:
        logs = [_LOG[c] if c else None for c in _generator(ec_length)]
        rows = [0]
        for bit in range(8):
            single = int.from_bytes(bytes(0 if e is None else _EXP[e + bit] for e in logs), "big")
            rows += [row ^ single for row in rows]
        table = _STEP_TABLES[ec_length] = tuple(rows)
    return table


def prepare(ec_lengths: Iterable[int]) -> None:
    """Build the Reed-Solomon tables of these block EC lengths now, so requests do not pay for them."""
    for ec_length in ec_lengths:
        _step_table(ec_length)


def error_correction(block: bytes, ec_length: int) -> bytes:
    """The `ec_length` Reed-Solomon codewords of one data block: the remainder of block·x^ec_length / generator."""
    table = _step_table(ec_length)
    top = 8 * (ec_length - 1)
    keep = (1 << top) - 1
    remainder = 0
    for byte in block:
        remainder = ((remainder & keep) << 8) ^ table[byte ^ (remainder >> top)]
    return remainder.to_bytes(ec_length, "big")


def final_message(data: bytes, blocks: tuple[tuple[int, int, int], ...]) -> bytes:
    """Split the data codewords into blocks, add their EC codewords and interleave both (§7.6)."""
    data_blocks: list[bytes] = []
    ec_blocks: list[bytes] = []
    start = 0
    for count, total, data_length in blocks:
        for _ in range(count):
            block = data[start : start + data_length]
            start += data_length
            data_blocks.append(block)
            ec_blocks.append(error_correction(block, total - data_length))
    if start != len(data):
        raise ValueError("the data codewords do not match the block structure")
    number = len(data_blocks)
    short = len(data_blocks[0])  # shorter blocks come first; longer ones have one more codeword
    message = bytearray(len(data) + number * len(ec_blocks[0]))
    for index, block in enumerate(data_blocks):
        message[index : short * number : number] = block[:short]
    message[short * number : len(data)] = bytes(block[short] for block in data_blocks if len(block) > short)
    for index, block in enumerate(ec_blocks):
        message[len(data) + index :: number] = block
    return bytes(message)
