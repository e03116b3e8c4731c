"""Exact, fast data mask choice: the lowest penalty under segno 1.6.6's own scoring rules.

segno (encoder.find_and_apply_best_mask / mask_scores) applies each of the 8 masks module by module and scores
the result (ISO/IEC 18004 §7.8.3, Table 11) before format and version information are drawn, so those areas and
the dark module are still light. Its rules, which we reproduce bit for bit:

* N1: every run of 5 or more same-colour modules in a row or column scores its length minus 2.
* N2: every 2×2 block of one colour scores 3.
* N3: 1:1:3:1:1 (dark-light-dark-dark-dark-light-dark) in a row or column scores 40 when the 4 modules before or
  the 4 after it are light; modules beyond the edge count as light. Matches are found left to right, and the
  search resumes 7 modules after a scoring match (so an overlapping match 4 or 6 modules later is skipped) but
  only 4 after a match that does not score.
* N4: 10 × int(|dark% − 50| / 5), computed in floating point exactly as segno does.

The lowest total wins; on a tie the lower mask number. Here each rule is a handful of big-int operations on the
whole symbol at once (see layout.py for the bit layout) instead of a Python loop per module.
"""

from __future__ import annotations

from .layout import MASKS, Layout


def _runs(same: int, step: int) -> int:
    """N1 for a map of "same colour as the next module" (`step` apart): a run of L ≥ 5 scores (L-4) + 2."""
    five = same & (same << step) & (same << 2 * step) & (same << 3 * step)  # 5 equal modules start here
    return five.bit_count() + 2 * (five & ~(same >> step)).bit_count()


def _finder_like(x: int, step: int, fits: int) -> int:
    """Number of N3 patterns that score along one direction (`step` = 1: rows, `step` = stride: columns)."""
    light = ~x
    found = (
        x
        & (light << step)
        & (x << 2 * step)
        & (x << 3 * step)
        & (x << 4 * step)
        & (light << 5 * step)
        & (x << 6 * step)
        & fits
    )
    if not found:
        return 0
    dark_before = (x >> step) | (x >> 2 * step) | (x >> 3 * step) | (x >> 4 * step)
    dark_after = (x << 7 * step) | (x << 8 * step) | (x << 9 * step) | (x << 10 * step)
    scoring = found & ~(dark_before & dark_after)
    # A scoring match hides one 4 or 6 modules later; a hidden one hides nothing. The chains are short, and the
    # fixed point of this rule is the left-to-right result because each match only depends on earlier ones.
    counted = scoring
    while True:
        kept = scoring & ~((counted >> 4 * step) | (counted >> 6 * step))
        if kept == counted:
            return counted.bit_count()
        counted = kept


def penalties(x: int, layout: Layout) -> tuple[int, int, int, int]:
    """segno's (N1, N2, N3, N4) for a masked symbol `x` without format and version information."""
    stride = layout.stride
    same_h = ~(x ^ (x << 1)) & layout.h_pair
    same_v = ~(x ^ (x << stride)) & layout.v_pair
    n1 = _runs(same_h, 1) + _runs(same_v, stride)
    n2 = 3 * (same_h & (same_h << stride) & same_v).bit_count()
    n3 = 40 * (_finder_like(x, 1, layout.h_seven) + _finder_like(x, stride, layout.v_seven))
    percent = float(x.bit_count()) / (layout.size**2)
    n4 = 10 * int(abs(percent * 100 - 50) / 5)
    return n1, n2, n3, n4


def mask_scores(unmasked: int, layout: Layout) -> list[int]:
    """The total penalty of each of the 8 masks."""
    return [sum(penalties(unmasked ^ layout.masks[mask], layout)) for mask in range(MASKS)]


def best_mask(unmasked: int, layout: Layout) -> int:
    """The mask segno would choose for this symbol: the lowest total penalty, the lower number on a tie."""
    scores = mask_scores(unmasked, layout)
    return scores.index(min(scores))
