"""QR code PNGs of token references (error correction M, quiet zone 4, 1-bit PNG).

segno 1.6.6 chooses mode, character set and version; the standard padding, error correction, placement, the mask
choice (exactly segno's, without its per-module Python loops) and the PNG are ours: see the modules of this package.
"""

from __future__ import annotations

from .png import write_png
from .symbol import encode, prepare

DEFAULT_SCALE = 4
QUIET_ZONE = 4

# Token references (about 100-210 bytes) need versions 6-11 at level M: build their tables now, not per request.
prepare(range(6, 12), "M")


def qr_png(text: str, scale: int = DEFAULT_SCALE, border: int = QUIET_ZONE) -> bytes:
    """A 1-bit PNG of a QR code (EC level M, never boosted) that encodes `text` exactly."""
    symbol = encode(text, "M")
    return write_png(symbol.cells, symbol.size, symbol.stride, scale, border)
