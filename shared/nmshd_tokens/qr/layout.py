"""Per-version geometry of a QR code symbol (ISO/IEC 18004 §6.3, §7.7, §7.9, §7.10), built for bit arithmetic.

A symbol of `size` modules a side is held as one string of '0'/'1' (and as the int of that string): `size` rows,
each `size` modules followed by GAP light cells, so row i, column j is index k = i * stride + j. Read as an int
(`int(cells, 2)`), cell k is bit `cells - 1 - k`; `x << d` therefore lines cell k + d up with cell k. The gap keeps
rows apart when runs are counted and is the light area beyond the symbol edge that the penalty rules assume.

A layout takes a few hundred microseconds to build (slices and C-level calls, no loop per module), so layouts are
cached per version and the package builds the usual ones at import (__init__.py).
"""

from __future__ import annotations

import sys
from array import array
from collections.abc import Callable, Iterable
from itertools import product
from operator import itemgetter
from typing import Final

from . import segno_internals

GAP: Final = 4
MASKS: Final = 8
# `place` reads from PLACE_PREFIX + codeword bits, so codeword bit r is at index 1 + r.
PLACE_PREFIX: Final = "0"
assert array("H").itemsize == 2


def _mask_condition(mask: int, i: int, j: int) -> bool:
    """ISO/IEC 18004 Table 10: where mask pattern `mask` inverts the module in row i, column j."""
    if mask == 0:
        return (i + j) % 2 == 0
    if mask == 1:
        return i % 2 == 0
    if mask == 2:
        return j % 3 == 0
    if mask == 3:
        return (i + j) % 3 == 0
    if mask == 4:
        return (i // 2 + j // 3) % 2 == 0
    if mask == 5:
        return (i * j) % 2 + (i * j) % 3 == 0
    if mask == 6:
        return ((i * j) % 2 + (i * j) % 3) % 2 == 0
    return ((i + j) % 2 + (i * j) % 3) % 2 == 0


# Every mask repeats every 6 columns and every _MASK_PERIODS rows (all within 12), so 12 six-module units per mask
# describe it for any size.
_MASK_UNITS: Final = tuple(
    tuple("".join("1" if _mask_condition(mask, i, j) else "0" for j in range(6)) for i in range(12))
    for mask in range(MASKS)
)
_MASK_PERIODS: Final = (2, 2, 1, 3, 4, 6, 6, 6)
_FINDER: Final = (b"1111111", b"1000001", b"1011101", b"1011101", b"1011101", b"1000001", b"1111111")
_FINDER_TOP_LEFT: Final = tuple(row + b"0" for row in _FINDER) + (b"0" * 8,)  # with the separator
_FINDER_TOP_RIGHT: Final = tuple(b"0" + row for row in _FINDER) + (b"0" * 8,)
_FINDER_BOTTOM_LEFT: Final = (b"0" * 8,) + tuple(row + b"0" for row in _FINDER)
_ALIGNMENT: Final = (b"11111", b"10001", b"10101", b"10001", b"11111")
# Cell codes while building: R = encoding region, 0/1 = light/dark function module (reserved areas light).
_TEMPLATE: Final = bytes.maketrans(b"R", b"0")
_REGION: Final = bytes.maketrans(b"R01", b"100")
_REGION_FLAGS: Final = bytes.maketrans(b"R01", b"\x01\x00\x00")


class Layout:
    """Everything about one version that does not depend on the data."""

    __slots__ = (
        "_format_cache",
        "capacity_bits",
        "cells",
        "fixed",
        "format_cells",
        "h_pair",
        "h_seven",
        "masks",
        "place",
        "region",
        "size",
        "stride",
        "template_bits",
        "v_pair",
        "v_seven",
        "version",
    )

    def __init__(self, version: int) -> None:
        self.version = version
        self.size = size = 4 * version + 17
        self.stride = stride = size + GAP
        self.cells = cells = size * stride
        code = _function_patterns(version, size, stride)
        region = int(code.translate(_REGION), 2)
        # Placement (§7.7.3): two-module columns from the right, alternately upwards and downwards, skipping the
        # timing column 6; in each row the right module first. `place` gathers the codeword bits, and the function
        # modules, into row-major order in one C-level call.
        pairs = []
        right, upwards = size - 1, True
        while right > 0:
            right = 5 if right == 6 else right
            pairs.append((right, upwards))
            right, upwards = right - 2, not upwards
        zigzag = bytearray(2 * size * len(pairs))
        for index, (right, upwards) in enumerate(pairs):
            step = -1 if upwards else 1
            zigzag[2 * size * index : 2 * size * (index + 1) : 2] = code[right::stride][::step]
            zigzag[2 * size * index + 1 : 2 * size * (index + 1) : 2] = code[right - 1 :: stride][::step]
        # Region cell t reads codeword bit (number of region cells before t); function cells read some bit too,
        # which `unmasked` clears again and replaces with the template.
        ranks = _prefix_counts(zigzag.translate(_REGION_FLAGS))
        self.capacity_bits = ranks[-1]
        gather = array("H", bytes(2 * cells))
        for index, (right, upwards) in enumerate(pairs):
            for offset in (0, 1):
                first = 2 * size * index + offset  # zigzag position of this column's module in the first step
                if upwards:  # the last step is the top row
                    steps = slice(first + 2 * size - 2, first - 1 if first else None, -2)
                else:
                    steps = slice(first, first + 2 * size, 2)
                gather[right - offset :: stride] = ranks[steps]
        self.place: Callable[[str], tuple[str, ...]] = itemgetter(*gather)

        # Periodic patterns as one short block times a "repunit" (a 1 every `period` bits) instead of long strings.
        gap = "0" * GAP
        masks = []
        for units, period in zip(_MASK_UNITS, _MASK_PERIODS, strict=True):
            count = -(-size // period)
            block = int(gap.join([(unit * (size // 6 + 1))[:size] for unit in units[:period]]) + gap, 2)
            masks.append((block * _repunit(period * stride, count)) >> (period * count - size) * stride & region)
        self.masks = tuple(masks)
        every_row = _repunit(stride, size)
        modules = int("1" * size + gap, 2) * every_row
        self.h_pair = int("1" * (size - 1) + "0" + gap, 2) * every_row
        self.v_pair = modules >> stride << stride
        self.h_seven = int("1" * (size - 6) + "0" * 6 + gap, 2) * every_row
        self.v_seven = modules >> 6 * stride << 6 * stride

        def bit(i: int, j: int) -> int:
            return cells - 1 - (i * stride + j)

        fixed = 1 << bit(size - 8, 8)  # the dark module
        if version >= 7:
            info = segno_internals.version_information(version)
            for b in range(18):
                if info >> b & 1:
                    i, t = divmod(b, 3)
                    fixed |= 1 << bit(size - 11 + t, i) | 1 << bit(i, size - 11 + t)
        self.fixed = fixed
        first_copy = [(b, 8) for b in range(6)] + [(7, 8), (8, 8), (8, 7)] + [(8, 14 - b) for b in range(9, 15)]
        second_copy = [(8, size - 1 - b) for b in range(8)] + [(size - 15 + b, 8) for b in range(8, 15)]
        self.format_cells = tuple((bit(*a), bit(*b)) for a, b in zip(first_copy, second_copy, strict=True))
        self._format_cache: dict[int, int] = {}
        # function patterns; format and version information and the dark module stay light until the mask is chosen
        self.template_bits = int(code.translate(_TEMPLATE), 2)
        self.region = region

    def unmasked(self, codeword_bits: str) -> int:
        """The symbol before masking, from the final message bits (§7.6, remainder bits included)."""
        return int("".join(self.place(PLACE_PREFIX + codeword_bits)), 2) & self.region | self.template_bits

    def format_bits(self, format_information: int) -> int:
        """The 15 format bits (bit 14 first) placed in both copies; cached, there are only 32 values."""
        bits = self._format_cache.get(format_information)
        if bits is None:
            bits = 0
            for bit, (first, second) in enumerate(self.format_cells):
                if format_information >> bit & 1:
                    bits |= 1 << first | 1 << second
            self._format_cache[format_information] = bits
        return bits


def _prefix_counts(flags: bytes | bytearray) -> array[int]:
    """Running totals of a 0/1 sequence (flags[0] + … + flags[t] at t), computed on 16-bit digits of one int.

    Shift-and-add doubling takes log2(len) big-int additions instead of one Python step per element; no digit
    overflows, as symbols have fewer than 2^16 modules.
    """
    digits = bytearray(2 * len(flags))
    digits[0::2] = flags  # little-endian 16-bit digits
    total = int.from_bytes(digits, "little")
    shift = 16
    while shift < 16 * len(flags):
        total += total << shift
        shift *= 2
    counts = array("H")
    counts.frombytes((total & ((1 << 16 * len(flags)) - 1)).to_bytes(2 * len(flags), sys.byteorder))
    return counts


def _repunit(period: int, count: int) -> int:
    """`count` one bits, `period` bits apart, the lowest at bit 0."""
    return ((1 << period * count) - 1) // ((1 << period) - 1)


def _function_patterns(version: int, size: int, stride: int) -> bytearray:
    """All cells, row-major with gaps: R for the encoding region, 0/1 for function modules and reserved areas."""
    code = bytearray((b"R" * size + b"0" * GAP) * size)

    def put(top: int, left: int, rows: Iterable[bytes]) -> None:
        for r, row in enumerate(rows, top):
            code[r * stride + left : r * stride + left + len(row)] = row  # same length: never resizes

    # Format information (§7.9.1) around the finders, including the dark module at (size - 8, 8): light for now.
    code[8 * stride : 8 * stride + 9] = b"0" * 9
    code[8 * stride + size - 8 : 8 * stride + size] = b"0" * 8
    code[8 : 9 * stride : stride] = b"0" * 9
    code[(size - 8) * stride + 8 :: stride] = b"0" * 8
    if version >= 7:  # version information (§7.10)
        put(0, size - 11, [b"000"] * 6)
        put(size - 11, 0, [b"000000"] * 3)
    # Timing patterns (§6.3.5), dark on even indexes; they cross the format areas at (6, 8) and (8, 6).
    timing = (b"10" * size)[: size - 16]
    code[6 * stride + 8 : 6 * stride + size - 8] = timing
    code[8 * stride + 6 : (size - 8) * stride : stride] = timing
    # Finder patterns with their light separators (§6.3.3, §6.3.4).
    put(0, 0, _FINDER_TOP_LEFT)
    put(0, size - 8, _FINDER_TOP_RIGHT)
    put(size - 8, 0, _FINDER_BOTTOM_LEFT)
    # Alignment patterns (§6.3.6), except the three that would overlap a finder.
    positions = segno_internals.alignment_positions(version)
    if positions:
        first, last = positions[0], positions[-1]
        for row, column in product(positions, repeat=2):
            if (row, column) not in ((first, first), (first, last), (last, first)):
                put(row - 2, column - 2, _ALIGNMENT)
    return code


_LAYOUTS: dict[int, Layout] = {}


def layout(version: int) -> Layout:
    """The cached layout of a version (1 … 40)."""
    found = _LAYOUTS.get(version)
    if found is None:
        found = _LAYOUTS[version] = Layout(version)
    return found


def prepare(versions: Iterable[int]) -> None:
    """Build the layouts of `versions` now, so requests do not pay for them."""
    for version in versions:
        layout(version)
