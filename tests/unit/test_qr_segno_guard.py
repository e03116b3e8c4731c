"""Guard for the segno internals behind our QR codes: pinned to segno 1.6.6, and each one fingerprinted.

If this fails, segno changed: re-check nmshd_tokens/qr/segno_internals.py against the new segno (and the mask rules
in nmshd_tokens/qr/mask.py against its encoder.mask_scores) before updating the pin and the fingerprints below.
"""

from __future__ import annotations

import hashlib
import inspect
import subprocess
import sys

import segno
from nmshd_tokens.qr import segno_internals as qr_segno
from segno import consts, encoder

# sha256 (first 16 hex digits) of the source of each encoder function or class we call, directly or through them
ENCODER_SOURCES = {
    "prepare_data": "732151fd66d0a43b",
    "make_segment": "0c76f1ecde1b7560",
    "data_to_bytes": "b3fa057932058ca5",
    "find_mode": "9d56748a3d74c014",
    "is_alphanumeric": "8d9b63c8cbdf08c5",
    "is_kanji": "8bdd9050c1437f18",
    "find_version": "1b6b40607b490a79",
    "version_range": "9c72a1a6c01486ad",
    "write_segment": "f2861224a72f2908",
    "calc_format_info": "fd212ff59b5485df",
    "Buffer": "50157d776452066c",
    "Segments": "c9b1b55d070b720a",
    "_Segment": "8ac5bf8a2cb40695",
}
# sha256 (first 16 hex digits) of repr() of each table or constant we read, directly or through the functions above
CONSTS_VALUES = {
    "ECC": "0a819eb3d1f40e10",
    "SYMBOL_CAPACITY": "16538cc2e9359916",
    "ALIGNMENT_POS": "4806c5263abed8a1",
    "VERSION_INFO": "6b310c242f0c1e5f",
    "FORMAT_INFO": "4429bfe36ac27eba",
    "ERROR_MAPPING": "7d974c2e99d2fa1c",
    "CHAR_COUNT_INDICATOR_LENGTH": "58e3e56ab5ddf0a9",
    "ALPHANUMERIC_CHARS": "344c6a9a9bee453d",
    "DEFAULT_BYTE_ENCODING": "709379158242c051",
    "KANJI_ENCODING": "f34871d68371c3f2",
    "MODE_NUMERIC": "6b86b273ff34fce1",
    "MODE_ALPHANUMERIC": "d4735e3a265e16ee",
    "MODE_BYTE": "4b227777d4dd1fc6",
    "MODE_KANJI": "2c624232cdd22177",
    "MODE_HANZI": "3fdba35f04dc8c46",
    "VERSION_RANGE_01_09": "6b86b273ff34fce1",
    "VERSION_RANGE_10_26": "d4735e3a265e16ee",
    "VERSION_RANGE_27_40": "4e07408562bedb8b",
}
# the scoring rules qr_mask reproduces, and what the mask test compares against
MASK_RULE_SOURCES = {
    "mask_scores": "5b5600b2dbd95280",
    "find_and_apply_best_mask": "8a756d73a8f59a0f",
    "apply_mask": "e074b229016fc6fb",
    "get_data_mask_functions": "c598572c15f85e8e",
}


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def test_segno_is_the_pinned_version() -> None:
    assert segno.__version__ == qr_segno.SEGNO_VERSION == "1.6.6", (
        f"segno {segno.__version__} is installed, but our QR code uses segno 1.6.6 internals "
        "(nmshd_tokens/qr/segno_internals.py): re-check them before moving the pin"
    )


def test_every_internal_we_use_is_fingerprinted() -> None:
    fingerprinted = {f"encoder.{name}" for name in ENCODER_SOURCES} | {f"consts.{name}" for name in CONSTS_VALUES}
    assert set(qr_segno.INTERNALS) <= fingerprinted


def test_encoder_internals_are_unchanged() -> None:
    changed = [
        name
        for name, expected in ENCODER_SOURCES.items()
        if not hasattr(encoder, name) or _digest(inspect.getsource(getattr(encoder, name))) != expected
    ]
    assert not changed, f"segno.encoder internals changed or missing: {changed}; re-check qr/segno_internals.py"


def test_consts_tables_are_unchanged() -> None:
    changed = [
        name
        for name, expected in CONSTS_VALUES.items()
        if not hasattr(consts, name) or _digest(repr(getattr(consts, name))) != expected
    ]
    assert not changed, f"segno.consts tables changed or missing: {changed}; re-check qr/segno_internals.py"


def test_mask_rules_are_unchanged() -> None:
    changed = [
        name
        for name, expected in MASK_RULE_SOURCES.items()
        if not hasattr(encoder, name) or _digest(inspect.getsource(getattr(encoder, name))) != expected
    ]
    assert not changed, f"segno's mask scoring changed: {changed}; re-check nmshd_tokens/qr/mask.py against it"


def test_another_segno_version_is_refused_at_import() -> None:
    script = "import segno; segno.__version__ = '1.6.7'; import nmshd_tokens.qr"
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=False)
    assert result.returncode != 0
    assert "pinned to segno 1.6.6, but segno 1.6.7 is installed" in result.stderr
