"""Property-based fuzzing of the query language's parser (SPEC §13, §16): any keys and values are either a checked
query or a 400 (the domain's validation error), never another exception; an accepted query evaluates over any
token; and every regular expression it accepts runs over a token's value in far less than the SPEC's few
milliseconds. Bounded by example counts; the time of each example is measured, never cut off.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from nmshd_tokens.domain.errors import DomainError, ErrorKind
from nmshd_tokens.domain.ids import MAX_ADDRESS_LENGTH
from nmshd_tokens.domain.token_query import QUERY_KEYS, QueryKind, TokenQuery, parse_token_query
from nmshd_tokens.domain.tokens import Token, TokenDetails, TokenPassword

FUZZ = settings(max_examples=400, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
GENERIC_KEYS = [key for key, spec in QUERY_KEYS.items() if spec.kind is QueryKind.GENERIC]
# "A few milliseconds per token" (SPEC §16) as a generous net: each value takes microseconds (measured below).
PER_TOKEN_SAFETY_NET_S = 0.005

# Regular expressions built from the pieces that make a backtracking engine slow or its parser fail: nested and
# adjacent quantifiers, escaped brackets in classes, huge repeat counts, deep groups, lookaround, backreferences.
# Most patterns are made of valid pieces only, so that they reach the engine; the others may mix in any piece.
VALID_ATOMS = st.sampled_from(
    [".", "a", "A", "!", "0", ":", "\\d", "\\w", "\\s", "\\b", "\\pL", "\\p{Greek}", "\\z", "^", "$", "[\\])]",
     "[^!]", "[a-z]", "[0-9a-f]", "[\x00-\U0010ffff]", "[[:alpha:]]", "\\x{10FFFF}", "\\Q.*\\E", "(?i)", "é", ""]
)  # fmt: skip
ODD_ATOMS = st.sampled_from(["\\Z", "\\1", "\\", "[", "]", ")", "{", "}", "|", "(?<n>"]) | st.text(max_size=3)
VALID_QUANTIFIERS = st.sampled_from(["", "", "*", "+", "?", "*?", "+?", "{2}", "{2,}", "{0,3}", "{20,40}", "{1000}"])
ODD_QUANTIFIERS = st.sampled_from(["*+", "{,3}", "{3,2}", "{1001}"]) | st.builds(
    lambda low, high: f"{{{low},{high}}}", st.integers(0, 10**12), st.integers(0, 10**12) | st.just("")
)
VALID_OPENINGS = st.sampled_from(["(", "(?:", "(?i:"])
ODD_OPENINGS = st.sampled_from(["(?P<n>", "(?=", "(?<=", "(?!", "("])


def _regexes(
    atoms: st.SearchStrategy[str], quantifiers: st.SearchStrategy[str], openings: st.SearchStrategy[str]
) -> st.SearchStrategy[str]:
    def extend(inner: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
        group = st.builds(lambda start, body, repeat: f"{start}{body}){repeat}", openings, inner, quantifiers)
        sequence = st.lists(inner, min_size=2, max_size=6).map("".join)
        alternation = st.lists(inner, min_size=2, max_size=4).map("|".join)
        return group | sequence | alternation

    return st.recursive(st.builds(str.__add__, atoms, quantifiers), extend, max_leaves=24)


VALID = _regexes(VALID_ATOMS, VALID_QUANTIFIERS, VALID_OPENINGS)
ODD = _regexes(VALID_ATOMS | ODD_ATOMS, VALID_QUANTIFIERS | ODD_QUANTIFIERS, VALID_OPENINGS | ODD_OPENINGS)
REPEATED = st.builds(
    lambda piece, count: piece * count,
    st.sampled_from([".*", "(", ")", "(a+)+", "(.*.*)*", "[\x00-\U0010ffff]", "\\pL", "a?", ".{0,30}"]),
    st.integers(1, 100) | st.integers(1, 600),
)
REGEXES = st.one_of(VALID, VALID, VALID, ODD, REPEATED, st.text(max_size=250))
OPERATORS = st.sampled_from(["", "!", ">", ">=", "<", "<=", "^", "$", "~"])
VALUES = (
    st.builds(str.__add__, OPERATORS, st.text(max_size=30) | REGEXES)
    | st.sampled_from(["true", "!", "", "Letter", "RecoveryKit", "2", "99", "0" * 10, "1" * 4301, "\u00b2", "\u2460"])
    | st.sampled_from([">", ">=", "<", "<="]).map(lambda operator: operator + "2\U0010ffff" * 600)
    | st.text(max_size=12)
)
KEYS = st.sampled_from(list(QUERY_KEYS)) | st.text(max_size=12)


def _token(index: int, text: str) -> Token:
    """A kept token whose generic values are `text` (as long as any real one) where a value may be any text."""
    password = TokenPassword("secret", b"s" * 16, is_pin=index % 2 == 0, location_indicator=index % 7)
    details = TokenDetails(
        content={"@type": "TokenContentFile"},
        secret_key=b"k" * 32,
        created_by=text,
        created_by_device=text,
        expires_at=datetime(2031, 1, 1, tzinfo=UTC) + timedelta(days=index),
        backbone_base_url="https://backbone.example.com",
        ephemeral=False,
        for_identity=text if index % 3 else None,
        password=password if index % 4 else None,
    )
    return Token(f"TOK{index:017d}", datetime(2026, 1, 1, tzinfo=UTC) + timedelta(seconds=index), details)


# Values as long as an address may be: those a backtracking engine chokes on, and addresses, each different (a
# DFA meets new states on each).
_RANDOM = random.Random(21)
TEXTS = [
    "a" * (MAX_ADDRESS_LENGTH - 1) + "!",
    "x" * MAX_ADDRESS_LENGTH,
    ")]" * (MAX_ADDRESS_LENGTH // 2),
    "\U0010ffff\x00é" * (MAX_ADDRESS_LENGTH // 3),
    "",
    *(f"did:e:pilot.enmeshed.eu:dids:{_RANDOM.getrandbits(88):022x}" for _ in range(45)),
]
TOKENS = [_token(index, text) for index, text in enumerate(TEXTS)]


def _parsed(query: dict[str, list[str]]) -> TokenQuery | None:
    """The checked query, or None when it was refused with the validation error of a 400."""
    try:
        return parse_token_query(query)
    except DomainError as error:
        assert error.kind is ErrorKind.INVALID_PROPERTY_VALUE and error.status == 400
        assert error.message.startswith("query") and "\n" not in error.message, error.message
        return None


@FUZZ
@given(query=st.dictionaries(KEYS, st.lists(VALUES, min_size=1, max_size=3), max_size=5))
def test_any_query_is_checked_or_refused_with_a_400(query: dict[str, list[str]]) -> None:
    checked = _parsed(query)
    if checked is None:
        return
    matched = [token for token in TOKENS if checked.matches(token)]
    bounds = checked.created_at_range
    if bounds is not None:
        assert "" not in bounds  # a store is never asked for an empty bound, nor for one over DynamoDB's key size
        assert all(len(bound.encode("utf-8")) <= 1024 for bound in bounds if bound is not None)
    assert len(matched) <= len(TOKENS)


def _seconds_per_token(checked: TokenQuery) -> float:
    """The best of three runs over all tokens: a pattern that is slow is slow in each, a busy machine in one."""
    runs = []
    for _ in range(3):
        started = time.perf_counter()
        for token in TOKENS:
            checked.matches(token)
        runs.append(time.perf_counter() - started)
    return min(runs) / len(TOKENS)


PATTERN_VALUES = st.builds(str.__add__, st.sampled_from(["~", "^", "$"]), REGEXES)


def test_every_accepted_pattern_runs_in_microseconds_per_token(figures: Callable[[str, Any], None]) -> None:
    worst: dict[str, Any] = {"seconds": 0.0, "query": {}}
    accepted = []

    @FUZZ
    @given(
        query=st.dictionaries(
            st.sampled_from(GENERIC_KEYS), st.lists(PATTERN_VALUES, min_size=1, max_size=2), max_size=2
        )
    )
    def run(query: dict[str, list[str]]) -> None:
        checked = _parsed(query)
        if checked is None or not query:
            return
        accepted.append(query)
        per_token = _seconds_per_token(checked)
        if per_token > worst["seconds"]:
            worst.update(seconds=per_token, query=query)
        assert per_token < PER_TOKEN_SAFETY_NET_S, f"{per_token * 1e3:.1f} ms per token for {query!r}"

    run()
    figures("query_regex_worst_microseconds_per_token", round(worst["seconds"] * 1e6, 1))
    figures("query_regex_worst_query", repr(worst["query"])[:300])
    assert len(accepted) > 100  # the strategies reach the engine, not only its refusals
