"""The one place that reaches into segno's internals (pinned to segno 1.6.6).

segno stays our QR encoder for everything that decides *what* is encoded: the mode and character set of the
segments, the segment bits, the smallest version, and the ISO/IEC 18004 tables (EC blocks, capacities, alignment
positions, format and version information). Our own code only does the mechanical, slow parts faster.

`segno.encoder` and `segno.consts` are not public API, so any other segno version is refused at import with a
clear message; tests/unit/test_qr_segno_guard.py also pins the source of every internal used here.
"""

from __future__ import annotations

from typing import Any, Final, cast

import segno
from segno import consts as _consts
from segno import encoder as _encoder

SEGNO_VERSION: Final = "1.6.6"

if segno.__version__ != SEGNO_VERSION:  # pragma: no cover - only with a different segno installed
    raise ImportError(
        f"nmshd_tokens.qr uses segno internals and are pinned to segno {SEGNO_VERSION}, "
        f"but segno {segno.__version__} is installed: re-check the internals (tests/unit/test_qr_segno_guard.py) "
        "before moving the pin"
    )

# The internals we use, by name; the guard test hashes their source.
INTERNALS: Final = (
    "encoder.prepare_data",
    "encoder.find_version",
    "encoder.version_range",
    "encoder.write_segment",
    "encoder.Buffer",
    "encoder.calc_format_info",
    "consts.ECC",
    "consts.SYMBOL_CAPACITY",
    "consts.ALIGNMENT_POS",
    "consts.VERSION_INFO",
    "consts.ERROR_MAPPING",
)

# untyped modules: keep the Any in this one module
_any_encoder = cast(Any, _encoder)
_any_consts = cast(Any, _consts)

# segno's error level constants by name (M is 0, not 1: segno orders them by format-information bits).
ERROR_LEVELS: Final[dict[str, int]] = {name: int(value) for name, value in _any_consts.ERROR_MAPPING.items()}


def data_stream(text: str, error: int) -> tuple[int, bytearray]:
    """segno's smallest version for `text` at `error` and the segment bits (one byte 0/1 per bit), no padding."""
    segments = _any_encoder.prepare_data(text, None, None)
    version = int(_any_encoder.find_version(segments, error, eci=False, micro=False))
    buffer = _any_encoder.Buffer()
    version_range = _any_encoder.version_range(version)
    for segment in segments:
        _any_encoder.write_segment(buffer, segment, None, version_range, False)
    return version, cast(bytearray, buffer.getbits())


def data_capacity_bits(version: int, error: int) -> int:
    """Number of data bits (data codewords × 8) of a version and error level."""
    return int(_any_consts.SYMBOL_CAPACITY[version][error])


def ec_blocks(version: int, error: int) -> tuple[tuple[int, int, int], ...]:
    """(number of blocks, codewords per block, data codewords per block), shorter blocks first."""
    return tuple((int(b.num_blocks), int(b.num_total), int(b.num_data)) for b in _any_consts.ECC[version][error])


def alignment_positions(version: int) -> tuple[int, ...]:
    """Row/column centres of the alignment patterns (none below version 2)."""
    return tuple(int(p) for p in _any_consts.ALIGNMENT_POS[version - 2]) if version >= 2 else ()


def format_information(error: int, mask: int) -> int:
    """The 15 format bits (BCH code, already XORed with 101010000010010), bit 14 first."""
    return int(_any_encoder.calc_format_info(1, error, mask))


def version_information(version: int) -> int:
    """The 18 version bits (versions 7 and up), bit 17 first."""
    return int(_any_consts.VERSION_INFO[version - 7])
