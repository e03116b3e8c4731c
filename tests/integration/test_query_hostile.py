"""Hostile query values through the real handler on moto (SPEC §13, §16): each is answered quickly, with a 400 for
what cannot run and never a 5xx, on /Tokens/Own and /Tokens/Peer of both route families.

The regular expression operators (`~re`, `^v`, `$v`) run on RE2, which cannot backtrack. Every request here runs
under a safety net: the function's timeout, far above the milliseconds each answer takes.
"""

from __future__ import annotations

import signal
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from nmshd_tokens.domain.ids import make_address

from tests.integration.test_kept_tokens import INVALID, V6, create, error_of, ids, own
from tests.support import V7, Functions, future, json_body

Factory = Callable[..., Any]
FUNCTION_TIMEOUT_S = 10  # template.yaml's Timeout: an answer must come within it
KEPT_TOKENS = 10
WHOLE_UNICODE = "[\x00-\U0010ffff]"  # a class of every code point, as the characters themselves


class SafetyNetReached(BaseException):  # not caught by the handler as an unexpected error
    pass


@contextmanager
def safety_net(seconds: float = FUNCTION_TIMEOUT_S) -> Iterator[None]:
    """Interrupts the request when it outlasts `seconds`: a hang fails the test (Python's `re` checks for signals
    while it backtracks; RE2 never needs it)."""

    def reached(*_: Any) -> None:
        raise SafetyNetReached(f"no answer within {seconds} s")

    previous = signal.signal(signal.SIGALRM, reached)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


@pytest.fixture
def kept(functions: Functions, make_file: Factory) -> list[str]:
    """Ten kept tokens, half of them for an identity: values of 20 to 50 characters for the patterns to scan."""
    file = make_file(future(400))
    made = [
        create(
            functions, file.id, {"forIdentity": make_address("pilot.enmeshed.eu", f"{index:020x}")} if index % 2 else {}
        )
        for index in range(KEPT_TOKENS)
    ]
    return [dto["id"] for dto in made]


def found(response: dict[str, Any]) -> set[str]:
    """The ids listed (tokens created within one millisecond list in id order, not creation order)."""
    return set(ids(response))


def answer(functions: Functions, key: str, value: str, route: str, prefix: str = V6) -> dict[str, Any]:
    with safety_net():
        return own(functions, prefix, route, **{key: value})


ROUTES = [(V6, "Own"), (V7, "Own"), (V6, "Peer"), (V7, "Peer")]

# Patterns that backtrack for seconds to forever on a backtracking engine (or overflow it) and match nothing here.
BACKTRACKING = {
    "a repeat count too large to be one (RE2 reads it as text)": ("createdAt", "~a{99999999999}"),
    "adjacent quantifiers": ("createdBy", "~" + ".*" * 30 + "!"),
    "a nested quantifier behind an escaped bracket": ("createdAt", r"~([\])]?.+)+!"),
    "nested quantifiers": ("forIdentity", "~(a|aa|.)*!"),
    "alternation under a repeat": ("createdByDevice", "~(\\w|\\w\\w)+!"),
    "a prefix that backtracks": ("forIdentity", "^(.*.*)*!"),
    "a suffix that backtracks": ("createdBy", "$(.+)+!"),
}


@pytest.mark.parametrize(("key", "value"), BACKTRACKING.values(), ids=BACKTRACKING.keys())
def test_a_pattern_that_would_backtrack_runs_in_linear_time(
    functions: Functions, kept: list[str], key: str, value: str
) -> None:
    for prefix, route in ROUTES:
        assert ids(answer(functions, key, value, route, prefix)) == []


def test_patterns_that_match_still_find_their_tokens(functions: Functions, kept: list[str]) -> None:
    personal = set(kept[1::2])
    assert found(answer(functions, "forIdentity", "~" + ".*" * 30 + "0{18}", "Own")) == personal
    assert found(answer(functions, "forIdentity", r"~([\])]?.+)+9..$", "Own")) == {kept[9]}
    assert found(answer(functions, "forIdentity", "^DID:E:PILOT", "Own")) == personal  # case-insensitive
    assert found(answer(functions, "forIdentity", "$0009..", "Own")) == {kept[9]}
    assert found(answer(functions, "createdBy", "~" + WHOLE_UNICODE * 12, "Own")) == set(kept)


INVALID_PATTERNS = {
    "a repeat count above 1,000": "~a{1001}",
    "a repeat count the engine refuses": "~(.{1000}){1000}",
    "a program too large to run": "~" + ".{1000}" * 25,
    "deep groups": "~" + "(" * 500 + ")" * 500,
    "an unbalanced group": "~(",
    "a backreference": "~(a)\\1",
    "lookahead": "~a(?=b)",
    "an escape the engine does not know": "~a\\Z",
    "300 classes of every code point": "~" + WHOLE_UNICODE * 300,
    "3,000 of them: refused before they are compiled": "~" + WHOLE_UNICODE * 3000,
    "a pattern of 201 characters": "~" + "a" * 201,
}


@pytest.mark.parametrize("value", INVALID_PATTERNS.values(), ids=INVALID_PATTERNS.keys())
def test_a_pattern_that_cannot_run_is_a_clear_400(functions: Functions, value: str) -> None:
    for prefix, route in ROUTES:
        response = answer(functions, "createdAt", value, route, prefix)
        assert response["statusCode"] == 400, response["body"]
        assert error_of(response)["code"] == INVALID
        assert error_of(response)["message"].startswith("query/createdAt must be a valid regular expression")
        assert "\n" not in error_of(response)["message"]


def test_a_pattern_of_200_characters_runs(functions: Functions, kept: list[str]) -> None:
    assert found(answer(functions, "createdBy", "~" + "a?" * 100, "Own")) == set(kept)


INDICATOR = "passwordProtection.passwordLocationIndicator"
ODD_NUMBERS = {
    "a superscript two": "\u00b2",
    "a circled one": "\u2460",
    "arabic-indic digits": "\u0662",
    "fullwidth digits": "\uff12",
    "4,301 ASCII digits": "1" * 4301,
    "11 ASCII digits": "2" * 11,
}


@pytest.mark.parametrize("value", ODD_NUMBERS.values(), ids=ODD_NUMBERS.keys())
def test_a_location_indicator_number_is_ascii_digits_of_bounded_length(functions: Functions, value: str) -> None:
    for prefix, route in ROUTES:
        response = answer(functions, INDICATOR, value, route, prefix)
        assert response["statusCode"] == 400, response["body"]
        assert error_of(response)["message"] == f"query/{INDICATOR} must be a number of at most 10 ASCII digits (0-9)"


def test_a_location_indicator_of_ten_digits_is_a_number(functions: Functions, make_file: Factory) -> None:
    protection = {"password": "x", "passwordLocationIndicator": "Letter"}  # stored as 2
    letter = create(functions, make_file(future(400)).id, {"passwordProtection": protection})
    assert ids(answer(functions, INDICATOR, "0000000002", "Own")) == [letter["id"]]
    assert ids(answer(functions, INDICATOR, "9999999999", "Own")) == []


@pytest.mark.parametrize("key", ["createdAt", "createdBy", "forIdentity", "passwordProtection.password", INDICATOR])
def test_a_value_that_is_not_unicode_text_is_a_400(functions: Functions, key: str) -> None:
    for value in ("\ud800", ">\udfff", "~a\ud800"):
        response = answer(functions, key, value, "Own")
        assert response["statusCode"] == 400, response["body"]
        assert (
            json_body(response)["error"]["message"]
            == f"query/{key} must be valid Unicode text (no unpaired surrogates)"
        )


def test_the_patterns_of_one_query_share_one_size_budget(functions: Functions, kept: list[str]) -> None:
    within = {"createdBy": "~.{0,200}", "forIdentity": "~.{0,200}"}  # 1,804 RE2 instructions each
    assert found(own(functions, **within)) == set(kept[1::2])
    with safety_net():
        response = own(functions, **within, createdByDevice="~.{0,100}")  # 904 more
    assert response["statusCode"] == 400
    assert error_of(response)["message"].startswith(
        "query/forIdentity must be a valid regular expression of a size RE2 runs quickly"
    )


def test_a_long_created_at_bound_still_narrows_exactly(functions: Functions, kept: list[str]) -> None:
    """A store's key bound has a size limit (DynamoDB: 1,024 bytes): the bound it gets is cut, the answer is not."""
    created = {dto["id"]: dto["createdAt"] for dto in json_body(own(functions))["result"]}
    middle = sorted(created.values())[len(created) // 2]
    for bound in ("<=" + middle + "\U0010ffff" * 2000, ">" + middle + "\x00" * 2000, ">=" + middle + "0" * 2000):
        operator = bound[: 2 if bound[1] == "=" else 1]
        expected = {token for token, at in created.items() if _compare(operator, at, bound[len(operator) :])}
        assert found(answer(functions, "createdAt", bound, "Own")) == expected


def _compare(operator: str, value: str, bound: str) -> bool:
    return {"<=": value <= bound, ">": value > bound, ">=": value >= bound}[operator]
