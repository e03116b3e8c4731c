"""Accept negotiation as Express `req.accepts(["application/json", "image/png"])` does it (SPEC §7)."""

from __future__ import annotations

from dataclasses import dataclass

JSON = "application/json"
PNG = "image/png"
OFFERED = (JSON, PNG)


@dataclass(frozen=True)
class _Range:
    type: str
    subtype: str
    q: float
    order: int


def _parse(header: str) -> list[_Range]:
    ranges: list[_Range] = []
    for order, part in enumerate(header.split(",")):
        media, *params = (piece.strip() for piece in part.split(";"))
        if "/" not in media:
            continue
        type_, _, subtype = media.lower().partition("/")
        q = 1.0
        for param in params:
            name, _, value = param.partition("=")
            if name.strip().lower() == "q":
                try:
                    q = float(value.strip())
                except ValueError:
                    q = 0.0
        ranges.append(_Range(type_.strip(), subtype.strip(), min(max(q, 0.0), 1.0), order))
    return ranges


def _priority(offer: str, ranges: list[_Range]) -> tuple[float, int, int] | None:
    """Best (q, specificity, -order) of the ranges that match `offer`, as the `negotiator` package ranks them."""
    offer_type, _, offer_subtype = offer.partition("/")
    best: tuple[int, float, int] | None = None
    for accepted in ranges:
        specificity = 0
        if accepted.type == offer_type:
            specificity |= 4
        elif accepted.type != "*":
            continue
        if accepted.subtype == offer_subtype:
            specificity |= 2
        elif accepted.subtype != "*":
            continue
        candidate = (specificity, accepted.q, -accepted.order)
        if best is None or candidate > best:
            best = candidate
    if best is None:
        return None
    return best[1], best[0], best[2]


def negotiate(accept_header: str | None, offered: tuple[str, ...] = OFFERED) -> str | None:
    """The representation to answer with, or None when nothing `offered` is acceptable (→ 406).

    Media-type parameters other than q are ignored (Express would refuse `application/json;charset=utf-8`).
    """
    if not accept_header or not accept_header.strip():
        return offered[0]
    ranges = _parse(accept_header)
    ranked = []
    for index, offer in enumerate(offered):
        priority = _priority(offer, ranges)
        if priority is not None and priority[0] > 0:
            q, specificity, negative_order = priority
            ranked.append(((-q, -specificity, -negative_order, index), offer))
    return min(ranked)[1] if ranked else None
