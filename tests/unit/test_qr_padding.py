"""Padding per ISO/IEC 18004 §7.4.9-7.4.10, read back out of the PNG by an independent reader.

The reader here un-masks the symbol (mask and level from the format information, BCH-checked), reads the
modules in placement order, de-interleaves the blocks, checks every block's Reed-Solomon codewords and parses the
data bit stream: mode, count, data, terminator, zero bits up to the byte boundary, then 0xEC 0x11 alternately.
segno 1.6.6 adds a whole 0x00 codeword when the stream already ends on a byte boundary (heuer/segno#148), which
every byte-mode enmeshed reference does; the last test shows this reader catches that.
"""

from __future__ import annotations

import io

import pytest
import segno
from nmshd_tokens.qr import qr_png
from segno import consts

from .test_qr import PAYLOADS, png_modules

_LEVEL_BITS = {0b01: "L", 0b00: "M", 0b11: "Q", 0b10: "H"}
_LEVEL_CONSTANTS = {
    "L": consts.ERROR_LEVEL_L,
    "M": consts.ERROR_LEVEL_M,
    "Q": consts.ERROR_LEVEL_Q,
    "H": consts.ERROR_LEVEL_H,
}
_ALPHANUMERIC = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:"


def _gf_multiply(a: int, b: int) -> int:
    product = 0
    while b:
        if b & 1:
            product ^= a
        a <<= 1
        if a & 0x100:
            a ^= 0x11D
        b >>= 1
    return product


def _is_rs_codeword(block: bytes, ec_length: int) -> bool:
    """All syndromes zero: the block polynomial vanishes at a^0 … a^(ec_length-1)."""
    root = 1
    for _ in range(ec_length):
        value = 0
        for byte in block:
            value = _gf_multiply(value, root) ^ byte
        if value:
            return False
        root = _gf_multiply(root, 2)
    return True


def _is_function_module(version: int, size: int) -> list[list[bool]]:
    function = [[False] * size for _ in range(size)]

    def mark(top: int, left: int, height: int, width: int) -> None:
        for i in range(top, top + height):
            for j in range(left, left + width):
                function[i][j] = True

    mark(0, 0, 9, 9)  # finder, separator, format information
    mark(0, size - 8, 9, 8)
    mark(size - 8, 0, 8, 9)  # including the dark module
    mark(6, 0, 1, size)  # timing
    mark(0, 6, size, 1)
    if version >= 2:
        positions = consts.ALIGNMENT_POS[version - 2]
        corners = {(positions[0], positions[0]), (positions[0], positions[-1]), (positions[-1], positions[0])}
        for row in positions:
            for column in positions:
                if (row, column) not in corners:  # those would overlap a finder pattern
                    mark(row - 2, column - 2, 5, 5)
    if version >= 7:
        mark(0, size - 11, 6, 3)
        mark(size - 11, 0, 3, 6)
    return function


def _format_information(modules: list[str]) -> tuple[str, int]:
    size = len(modules)
    first = [modules[i][8] for i in (0, 1, 2, 3, 4, 5, 7, 8)] + [modules[8][j] for j in (7, 5, 4, 3, 2, 1, 0)]
    second = [modules[8][size - 1 - i] for i in range(8)] + [modules[size - 7 + i][8] for i in range(7)]
    assert first == second, "the two copies of the format information differ"
    value = sum(int(bit) << i for i, bit in enumerate(first)) ^ 0b101010000010010
    remainder = value
    for shift in range(4, -1, -1):  # BCH(15,5), generator x^10 + x^8 + x^5 + x^4 + x^2 + x + 1
        if remainder >> (10 + shift) & 1:
            remainder ^= 0b10100110111 << shift
    assert remainder == 0, "format information fails its BCH check"
    return _LEVEL_BITS[value >> 13], value >> 10 & 0b111


def _mask_inverts(mask: int, i: int, j: int) -> bool:
    return [
        (i + j) % 2 == 0,
        i % 2 == 0,
        j % 3 == 0,
        (i + j) % 3 == 0,
        (i // 2 + j // 3) % 2 == 0,
        (i * j) % 2 + (i * j) % 3 == 0,
        ((i * j) % 2 + (i * j) % 3) % 2 == 0,
        ((i + j) % 2 + (i * j) % 3) % 2 == 0,
    ][mask]


def read_data_codewords(modules: list[str]) -> tuple[int, str, bytes]:
    """(version, EC level, data codewords) of a symbol, after checking its error correction codewords."""
    size = len(modules)
    version = (size - 17) // 4
    level, mask = _format_information(modules)
    function = _is_function_module(version, size)
    bits = []
    right = size - 1
    upwards = True
    while right > 0:
        if right == 6:  # the vertical timing pattern is not part of any column pair
            right -= 1
        for i in range(size - 1, -1, -1) if upwards else range(size):
            for j in (right, right - 1):
                if not function[i][j]:
                    bits.append(int(modules[i][j]) ^ _mask_inverts(mask, i, j))
        right -= 2
        upwards = not upwards
    blocks = [
        (data, total - data)
        for count, total, data in consts.ECC[version][_LEVEL_CONSTANTS[level]]
        for _ in range(count)
    ]
    total = sum(data + ec for data, ec in blocks)
    assert not any(bits[8 * total :]), "remainder bits must be zero"
    codewords = iter(int("".join(map(str, bits[k : k + 8])), 2) for k in range(0, 8 * total, 8))
    data_blocks: list[list[int]] = [[] for _ in blocks]
    ec_blocks: list[list[int]] = [[] for _ in blocks]
    for position in range(max(data for data, _ in blocks)):
        for index, (data, _) in enumerate(blocks):
            if position < data:
                data_blocks[index].append(next(codewords))
    for _ in range(blocks[0][1]):
        for index in range(len(blocks)):
            ec_blocks[index].append(next(codewords))
    for data_block, ec_block in zip(data_blocks, ec_blocks, strict=True):
        assert _is_rs_codeword(bytes(data_block + ec_block), len(ec_block))
    return version, level, bytes(sum(data_blocks, []))


def check_stream(version: int, data: bytes, mode: str, text: str) -> int:
    """Parse and check the bit stream; returns the number of zero bits added up to the byte boundary."""
    bits = "".join(f"{byte:08b}" for byte in data)
    indicator = {"byte": "0100", "alphanumeric": "0010", "numeric": "0001"}[mode]
    count_length = {"byte": (8, 16, 16), "alphanumeric": (9, 11, 13), "numeric": (10, 12, 14)}[mode][
        0 if version < 10 else 1 if version < 27 else 2
    ]
    assert bits[:4] == indicator
    assert int(bits[4 : 4 + count_length], 2) == len(text)
    position = 4 + count_length
    if mode == "byte":
        payload = bytes(int(bits[position + k : position + k + 8], 2) for k in range(0, 8 * len(text), 8))
        assert payload == text.encode("ascii")
        position += 8 * len(text)
    elif mode == "alphanumeric":
        decoded = ""
        for _ in range(len(text) // 2):
            pair = int(bits[position : position + 11], 2)
            decoded += _ALPHANUMERIC[pair // 45] + _ALPHANUMERIC[pair % 45]
            position += 11
        if len(text) % 2:
            decoded += _ALPHANUMERIC[int(bits[position : position + 6], 2)]
            position += 6
        assert decoded == text
    else:
        decoded = ""
        for k in range(0, len(text), 3):
            digits = len(text[k : k + 3])
            width = 3 * digits + 1
            decoded += f"{int(bits[position : position + width], 2):0{digits}d}"
            position += width
        assert decoded == text
    terminator = min(4, len(bits) - position)  # §7.4.9: shorter only when the symbol is full
    assert bits[position : position + terminator] == "0" * terminator
    position += terminator
    fill = -position % 8  # §7.4.10: zero bits only up to the next codeword boundary
    assert bits[position : position + fill] == "0" * fill
    position += fill
    pads = data[position // 8 :]
    assert pads == (b"\xec\x11" * len(data))[: len(pads)], f"pad codewords must alternate EC 11, got {pads.hex()}"
    return fill


@pytest.mark.parametrize("name", sorted(PAYLOADS))
def test_enmeshed_references_are_padded_as_the_standard_says(name: str) -> None:
    text = PAYLOADS[name]
    version, level, data = read_data_codewords(png_modules(qr_png(text), 4, 4))
    assert level == "M"
    fill = check_stream(version, data, "byte", text)
    # byte mode: 4 + 8 + 8n + 4 bits end on a byte boundary, so no fill bits and no 0x00 codeword (segno adds one)
    assert fill == 0


@pytest.mark.parametrize(
    ("text", "mode"),
    [
        ("HELLO WORLD", "alphanumeric"),  # 74 bits + terminator: 2 fill bits, then 6 pad codewords
        ("0123456789012", "numeric"),  # 58 bits + terminator: 2 fill bits
        ("1" * 34, "numeric"),  # fills version 1-M to the last bit: no room for a terminator
        ("A" * 38, "alphanumeric"),  # 222 of 224 bits in version 2-M: a 2-bit terminator
        ("x" * 14, "byte"),  # 124 of 128 bits: terminator, then full
        ("x" * 13, "byte"),  # terminator, one pad codeword
        ("HTTPS://PILOT.ENMESHED.EU/R/TOKWK59PFKL0JFI2YYVL", "alphanumeric"),
    ],
)
def test_other_streams_are_padded_as_the_standard_says(text: str, mode: str) -> None:
    version, level, data = read_data_codewords(png_modules(qr_png(text), 4, 4))
    assert level == "M"
    check_stream(version, data, mode, text)


def test_the_reader_catches_segnos_superfluous_zero_codeword() -> None:
    text = PAYLOADS["plain_url"]
    out = io.BytesIO()
    segno.make(text, error="m", boost_error=False, micro=False).save(out, kind="png", scale=4, border=4)
    version, _, data = read_data_codewords(png_modules(out.getvalue(), 4, 4))
    end = 2 + len(text)  # mode (4 bits) + count (8), the data, the terminator (4): a whole number of bytes
    assert data[end : end + 2] == b"\x00\xec"  # stock segno: 0x00, then the pad codewords
    with pytest.raises(AssertionError, match="pad codewords must alternate"):
        check_stream(version, data, "byte", text)
