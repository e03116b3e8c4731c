"""QR code symbols: segno's data encoding with standard padding, our fast Reed-Solomon, placement and mask choice."""

from __future__ import annotations

from collections.abc import Iterable

from . import codewords, segno_internals
from .layout import layout as layout_of
from .mask import best_mask


class Symbol:
    """A finished symbol; row i is cells[i*stride : i*stride+size], '1' for a dark module."""

    __slots__ = ("cells", "error", "mask", "size", "stride", "version")

    def __init__(self, version: int, error: str, mask: int, size: int, stride: int, cells: str) -> None:
        self.version = version
        self.error = error
        self.mask = mask
        self.size = size
        self.stride = stride
        self.cells = cells

    def rows(self) -> list[str]:
        return [self.cells[start : start + self.size] for start in range(0, self.size * self.stride, self.stride)]


def encode(text: str, error: str = "M") -> Symbol:
    """The QR code symbol (never Micro QR) of `text` at error level `error` exactly, in the smallest version.

    The same symbol as `segno.make(text, error=error, boost_error=False, micro=False)`, mask included, except for
    the padding, which follows ISO/IEC 18004 §7.4.10 (segno 1.6.6 adds a superfluous 0x00 codeword when the data
    ends on a byte boundary, heuer/segno#148).
    """
    level = segno_internals.ERROR_LEVELS[error.upper()]
    version, stream = segno_internals.data_stream(text, level)
    layout = layout_of(version)
    data = codewords.data_codewords(stream, segno_internals.data_capacity_bits(version, level))
    message = codewords.final_message(data, segno_internals.ec_blocks(version, level))
    # the final message bits, then zero remainder bits up to the capacity of the encoding region (§7.6)
    bits = f"{int.from_bytes(message, 'big'):0{8 * len(message)}b}".ljust(layout.capacity_bits, "0")
    unmasked = layout.unmasked(bits)
    mask = best_mask(unmasked, layout)
    format_bits = layout.format_bits(segno_internals.format_information(level, mask))
    final = unmasked ^ layout.masks[mask] | format_bits | layout.fixed
    return Symbol(version, error.upper(), mask, layout.size, layout.stride, f"{final:0{layout.cells}b}")


def prepare(versions: Iterable[int], error: str = "M") -> None:
    """Build the per-version tables (layouts, Reed-Solomon) of `versions` at `error` now instead of on first use."""
    level = segno_internals.ERROR_LEVELS[error.upper()]
    for version in versions:
        layout_of(version)
        codewords.prepare(total - data for _, total, data in segno_internals.ec_blocks(version, level))
