"""Our symbols are segno's, module for module, once segno's padding is fixed (heuer/segno#148).

Also the parts one by one against segno 1.6.6: function patterns and codeword placement for all 40 versions,
Reed-Solomon codewords and interleaving for every version and level, and the mask pattern tables.
"""

from __future__ import annotations

import random
from collections.abc import Iterator

import pytest
import segno
from nmshd_tokens.qr import codewords as qr_codewords
from nmshd_tokens.qr import layout as qr_layout
from nmshd_tokens.qr import segno_internals as qr_segno
from nmshd_tokens.qr.layout import GAP, _mask_condition
from nmshd_tokens.qr.symbol import encode
from segno import consts, encoder

from .test_qr import enmeshed_payloads


@pytest.fixture
def segno_with_standard_padding(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """segno with the one-line fix proposed in heuer/segno#148: zero bits only up to the byte boundary."""

    def write_padding_bits(buff, version, length):  # type: ignore[no-untyped-def]
        if version not in (consts.VERSION_M1, consts.VERSION_M3):
            buff.extend([0] * (-length % 8))

    monkeypatch.setattr(encoder, "write_padding_bits", write_padding_bits)
    yield


def _segno_rows(text: str, level: str) -> tuple[int, int, list[str]]:
    code = segno.make(text, error=level, boost_error=False, micro=False)
    return code.version, code.mask, ["".join(map(str, row)) for row in code.matrix]


@pytest.mark.usefixtures("segno_with_standard_padding")
def test_enmeshed_references_equal_segno_with_standard_padding() -> None:
    rng = random.Random(3)
    hosts = ["https://pilot.enmeshed.eu", "https://prod.enmeshed.eu", "https://backbone.example-company.de"]
    for seed in range(40):
        for text in enmeshed_payloads(seed, rng.choice(hosts)).values():
            symbol = encode(text, "M")
            assert (symbol.version, symbol.mask, symbol.rows()) == _segno_rows(text, "M")


@pytest.mark.usefixtures("segno_with_standard_padding")
@pytest.mark.parametrize("level", ["L", "M", "Q", "H"])
def test_random_texts_equal_segno_with_standard_padding(level: str) -> None:
    rng = random.Random(level)
    alphabets = ["0123456789", "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:", "abcdefXYZ019-_#/?=&", "äöü€✓東"]
    for _ in range(40):
        alphabet = rng.choice(alphabets)
        text = "".join(rng.choice(alphabet) for _ in range(1 + int(300 * rng.random() ** 2)))
        symbol = encode(text, level)
        assert (symbol.version, symbol.mask, symbol.rows()) == _segno_rows(text, level)


def test_stock_segno_differs_only_by_its_padding() -> None:
    # without the fix, segno's 0x00 codeword changes the data and so (here) the symbol
    text = enmeshed_payloads()["plain_url"]
    assert encode(text, "M").rows() != _segno_rows(text, "M")[2]


@pytest.mark.parametrize("version", range(1, 41))
def test_function_patterns_and_placement_equal_segnos(version: int) -> None:
    layout = qr_layout.layout(version)
    size = layout.size
    matrix = encoder.make_matrix(size, size)
    encoder.add_finder_patterns(matrix, size, size)
    encoder.add_alignment_patterns(matrix, size, size)
    assert sum(row.count(0x2) for row in matrix) == layout.capacity_bits
    bits = [random.Random(version).getrandbits(1) for _ in range(layout.capacity_bits)]
    encoder.add_codewords(matrix, bits, version)
    cells = f"{layout.unmasked(''.join(map(str, bits))):0{layout.cells}b}"
    starts = range(0, layout.cells, layout.stride)
    assert [cells[start : start + size] for start in starts] == ["".join(map(str, row)) for row in matrix]
    assert all(cells[start + size : start + layout.stride] == "0" * GAP for start in starts)


@pytest.mark.parametrize("version", range(1, 41))
def test_error_correction_and_interleaving_equal_segnos(version: int) -> None:
    rng = random.Random(version)
    for level in (consts.ERROR_LEVEL_L, consts.ERROR_LEVEL_M, consts.ERROR_LEVEL_Q, consts.ERROR_LEVEL_H):
        data = rng.randbytes(consts.SYMBOL_CAPACITY[version][level] // 8)
        buffer = encoder.Buffer()
        for byte in data:
            buffer.append_bits(byte, 8)
        expected = "".join(map(str, encoder.make_final_message(version, level, buffer).getbits()))
        message = qr_codewords.final_message(data, qr_segno.ec_blocks(version, level))
        bits = f"{int.from_bytes(message, 'big'):0{8 * len(message)}b}"
        assert expected == bits.ljust(len(expected), "0")  # segno also appends the remainder bits


@pytest.mark.parametrize("version", [1, 2, 6, 7, 9, 13, 21, 40])
def test_mask_tables(version: int) -> None:
    layout = qr_layout.layout(version)
    size = layout.size

    def cells(where) -> int:  # type: ignore[no-untyped-def]
        rows = ("".join("1" if where(i, j) else "0" for j in range(size)) + "0" * GAP for i in range(size))
        return int("".join(rows), 2)

    for mask in range(8):
        assert layout.masks[mask] == cells(lambda i, j, m=mask: _mask_condition(m, i, j)) & layout.region
    assert layout.h_pair == cells(lambda i, j: j < size - 1)
    assert layout.v_pair == cells(lambda i, j: i < size - 1)
    assert layout.h_seven == cells(lambda i, j: j <= size - 7)
    assert layout.v_seven == cells(lambda i, j: i <= size - 7)


def test_data_codewords_padding() -> None:
    def stream(bits: str) -> bytearray:
        return bytearray(int(b) for b in bits)

    # byte aligned after the terminator: straight to the pad codewords (segno 1.6.6 inserts 0x00 here)
    assert qr_codewords.data_codewords(stream("0100" + "00000001" + "01000001"), 40) == b"\x40\x14\x10\xec\x11"
    # 2 zero bits up to the boundary
    assert qr_codewords.data_codewords(stream("1" * 10), 32) == b"\xff\xc0\xec\x11"
    # a terminator shortened to the 3 bits left, no padding
    assert qr_codewords.data_codewords(stream("1" * 13), 16) == b"\xff\xf8"
    assert qr_codewords.data_codewords(stream(""), 24) == b"\x00\xec\x11"
    with pytest.raises(ValueError, match="does not fit"):
        qr_codewords.data_codewords(stream("1" * 17), 16)
