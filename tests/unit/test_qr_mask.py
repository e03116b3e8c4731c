"""Mask choice: exactly stock segno's (encoder.find_and_apply_best_mask) on the same matrix, rule by rule.

Random payloads over all four EC levels and segno's modes (numeric, alphanumeric, byte as Latin-1 and UTF-8,
Kanji) and versions 1-20 or so; plus random symbols biased towards long runs and 1:1:3:1:1 patterns, and hand-made
rows for the subtle parts of segno's N3 rule.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager

import pytest
import segno
from nmshd_tokens.qr import layout as qr_layout
from nmshd_tokens.qr.layout import GAP, Layout
from nmshd_tokens.qr.mask import best_mask, mask_scores, penalties
from segno import encoder

LEVELS = ("L", "M", "Q", "H")
PAYLOADS_PER_CASE = 25
_ALPHANUMERIC = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:"
_PRINTABLE = "".join(chr(c) for c in range(32, 127))
_LATIN1 = _PRINTABLE + "äöüßÄÖÜéèêçñ¡¿°±µ"
_UTF8 = _PRINTABLE + "€✓→東京ąčęšž😀"
_KANJI = "日本語漢字東京大阪時間電話学校先生今週"


def _text(rng: random.Random, alphabet: str, longest: int) -> str:
    # capacity grows with the square of the version, so this spreads the versions about evenly
    length = 1 + int(longest * rng.random() ** 2)
    return "".join(rng.choice(alphabet) for _ in range(length))


MODES: dict[str, Callable[[random.Random], str]] = {
    "numeric": lambda rng: _text(rng, "0123456789", 1000),
    "alphanumeric": lambda rng: _text(rng, _ALPHANUMERIC, 600),
    "byte_ascii": lambda rng: _text(rng, _PRINTABLE, 420),
    "byte_latin1": lambda rng: _text(rng, _LATIN1, 420),
    "byte_utf8": lambda rng: _text(rng, _UTF8, 220),
    "kanji": lambda rng: _text(rng, _KANJI, 250),
}


def to_int(matrix: Sequence[bytes | bytearray], layout: Layout) -> int:
    """A segno matrix (rows of 0/1 values) in our bit layout."""
    rows = (bytes(row).translate(bytes.maketrans(b"\x00\x01", b"01")).decode() for row in matrix)
    return int("".join(row + "0" * GAP for row in rows), 2)


@contextmanager
def spy_on_segno_mask_choice(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[tuple[list[bytearray], int]]]:
    """Record the unmasked matrix stock segno hands to find_and_apply_best_mask, and the mask it chooses."""
    calls: list[tuple[list[bytearray], int]] = []
    original = encoder.find_and_apply_best_mask

    def spy(matrix, width, height, proposed_mask=None):  # type: ignore[no-untyped-def]
        snapshot = [bytearray(row) for row in matrix]
        mask, masked = original(matrix, width, height, proposed_mask)
        calls.append((snapshot, mask))
        return mask, masked

    with monkeypatch.context() as patch:
        patch.setattr(encoder, "find_and_apply_best_mask", spy)
        yield calls


def segno_rule_scores(matrix: Sequence[bytearray], version: int) -> list[tuple[int, int, int, int]]:
    """segno's own (N1, N2, N3, N4) of each mask, masked with segno's own apply_mask and encoding region."""
    size = len(matrix)
    function = encoder.make_matrix(size, size)
    encoder.add_finder_patterns(function, size, size)
    encoder.add_alignment_patterns(function, size, size)
    function[-8][8] = 0x1

    def is_encoding_region(i: int, j: int) -> bool:
        return bool(function[i][j] > 0x1)

    scores = []
    for pattern in encoder.get_data_mask_functions(False):
        masked = [bytearray(row) for row in matrix]
        encoder.apply_mask(masked, pattern, size, size, is_encoding_region)
        scores.append(tuple(encoder.mask_scores(masked, size, size)))
    return scores


def assert_same_choice(matrix: list[bytearray], version: int, segno_mask: int, rule_by_rule: bool) -> None:
    layout = qr_layout.layout(version)
    unmasked = to_int(matrix, layout)
    assert best_mask(unmasked, layout) == segno_mask
    if rule_by_rule:
        expected = segno_rule_scores(matrix, version)
        ours = [penalties(unmasked ^ layout.masks[mask], layout) for mask in range(8)]
        assert ours == expected
        assert mask_scores(unmasked, layout) == [sum(s) for s in expected]


@pytest.mark.parametrize("level", LEVELS)
@pytest.mark.parametrize("mode", sorted(MODES))
def test_mask_choice_equals_stock_segno_on_random_payloads(
    mode: str, level: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    rng = random.Random(f"{mode}/{level}")
    versions = set()
    with spy_on_segno_mask_choice(monkeypatch) as calls:
        for number in range(PAYLOADS_PER_CASE):
            text = MODES[mode](rng)
            code = segno.make(text, error=level, boost_error=False, micro=False)
            matrix, segno_mask = calls[-1]
            assert code.mask == segno_mask
            versions.add(code.version)
            # all 8 scores rule by rule on a quarter of them (segno's scoring is slow), the choice on all
            assert_same_choice(matrix, code.version, segno_mask, rule_by_rule=number % 4 == 0)
    assert len(calls) == PAYLOADS_PER_CASE
    assert len(versions) >= 5, f"payloads should cover several versions, got {sorted(versions)}"


def _random_symbol(version: int, rng: random.Random) -> list[bytearray]:
    """Function patterns plus random region modules, clumped so that long runs and 1011101 turn up often."""
    size = 4 * version + 17
    matrix = encoder.make_matrix(size, size)
    encoder.add_finder_patterns(matrix, size, size)
    encoder.add_alignment_patterns(matrix, size, size)
    stay = rng.choice((0.5, 0.7, 0.85))  # chance that a module repeats the one before it
    bit = 0
    for row in matrix:
        for j in range(size):
            if row[j] == 0x2:
                bit = bit if rng.random() < stay else rng.getrandbits(1)
                row[j] = bit
    return list(matrix)


@pytest.mark.parametrize("version", [1, 2, 3, 5, 7, 8, 9, 10, 14])
def test_mask_choice_equals_stock_segno_on_random_symbols(version: int) -> None:
    rng = random.Random(version)
    size = 4 * version + 17
    for _ in range(12):
        matrix = _random_symbol(version, rng)
        segno_mask, _ = encoder.find_and_apply_best_mask([bytearray(r) for r in matrix], size, size)
        assert_same_choice(matrix, version, segno_mask, rule_by_rule=True)


def _n3_of_row(row: str) -> int:
    """Our N3 for a version 1 symbol whose row 10 is `row` and everything else light."""
    layout = qr_layout.layout(1)
    assert len(row) == layout.size
    rows = ["0" * layout.size] * layout.size
    rows[10] = row
    return penalties(int("".join(r + "0" * GAP for r in rows), 2), layout)[2]


def _segno_n3_of_row(row: str) -> int:
    size = len(row)
    matrix = [bytearray(size) for _ in range(size)]
    matrix[10] = bytearray(int(c) for c in row)
    return int(encoder.mask_scores(matrix, size, size)[2])


@pytest.mark.parametrize(
    "row",
    [
        "000010111010000000000",  # light on both sides
        "101110100000000000000",  # at the left edge (edge counts as light)
        "000000000000001011101",  # at the right edge
        "111110111011111111111",  # dark on both sides: no score
        "000010111011101000000",  # overlap by 4, both would score alone: segno counts only the first
        "000010111010111010000",  # overlap by 6: the same
        "111110111011101000000",  # overlap by 4, first does not score: the second is found and scores
        "000010111011101110100",  # a chain: 1st scores, 2nd skipped, 3rd found again
        "101110111011101110111",  # chain across the whole row
    ],
)
def test_n3_follows_segnos_search_rule(row: str) -> None:
    assert _n3_of_row(row) == _segno_n3_of_row(row)
    column = _n3_of_column(row)
    assert column == _segno_n3_of_row(row)


def _n3_of_column(column: str) -> int:
    layout = qr_layout.layout(1)
    rows = ["0" * 10 + c + "0" * (layout.size - 11) for c in column]
    return penalties(int("".join(r + "0" * GAP for r in rows), 2), layout)[2]


def test_n3_overlap_rule_matters() -> None:
    # the reason for the fixed-point loop: counting every qualifying match would give 80 here, segno gives 40
    assert _segno_n3_of_row("000010111011101000000") == 40
