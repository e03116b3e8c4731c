"""The query language of GET /Tokens/Own and /Tokens/Peer (SPEC §13), as the Connector's runtime reads it.

A query maps keys to one or more text values (a repeated key gives several). Generic keys take operators:
`v` equals, `` (empty) present, `!` absent, `!v` not equal, `>v` `>=v` `<v` `<=v` compare as text (ISO dates sort
as text), `^v` / `$v` / `~re` match case-insensitively at the start / at the end / anywhere (a regular
expression, as upstream). Repeated plain values are alternatives (OR), repeated `!v` all excluded, and operator
values combine (`expiresAt=>A&expiresAt=<B` is the range between). The `passwordProtection…` keys are custom.

`parse_token_query` checks a query with the runtime's exact messages; the `TokenQuery` it returns tells whether
a token matches, and the `createdAt` bounds a store can narrow its search with.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from .clock import format_timestamp
from .errors import validation_error
from .password_protection import LocationIndicator
from .tokens import Token

_GENERIC_KEYS = ("createdAt", "createdBy", "createdByDevice", "expiresAt", "forIdentity")
_PROTECTION = "passwordProtection"
_PASSWORD = "passwordProtection.password"  # noqa: S105 - a query key, not a secret
_IS_PIN = "passwordProtection.passwordIsPin"
_INDICATOR = "passwordProtection.passwordLocationIndicator"
_ALLOWED = frozenset({*_GENERIC_KEYS, _PROTECTION, _PASSWORD, _IS_PIN, _INDICATOR, "isOwn"})
_ENUMERATED = {_PROTECTION: ("", "!"), _IS_PIN: ("true", "!")}
_COMPARISONS: dict[str, Callable[[str, str], bool]] = {
    ">=": lambda value, bound: value >= bound,
    "<=": lambda value, bound: value <= bound,
    ">": lambda value, bound: value > bound,
    "<": lambda value, bound: value < bound,
}
MAX_PATTERN_LENGTH = 200

Condition = Callable[[str | None], bool]


def _generic_value(token: Token, key: str) -> str | None:
    details = token.details
    if key == "createdAt":
        return format_timestamp(token.created_at)
    if key == "expiresAt":
        return format_timestamp(details.expires_at)
    if key == "createdBy":
        return details.created_by
    if key == "createdByDevice":
        return details.created_by_device
    return details.for_identity  # forIdentity, the last generic key


def _safe_pattern(key: str, pattern: str) -> re.Pattern[str]:
    """A case-insensitive search pattern, refused when it could backtrack for ages (a repeat inside a repeat)."""
    try:
        compiled = re.compile(pattern, re.IGNORECASE)
    except re.error:
        raise validation_error(f"query/{key} must be a valid regular expression") from None
    if len(pattern) > MAX_PATTERN_LENGTH or _nested_repeat(pattern):
        raise validation_error(
            f"query/{key} must be a simple regular expression: at most {MAX_PATTERN_LENGTH} characters and no "
            "repeated group that itself repeats or alternates"
        )
    return compiled


_REPEAT = re.compile(r"[*+?]|\{\d*,?\d*\}")


def _nested_repeat(pattern: str) -> bool:
    """True when a group that contains a quantifier or `|` is itself quantified: `(a+)+`, `(a|aa)*`, `(\\w+\\s?)*`.

    Those are what make a backtracking engine exponential; everything else stays polynomial on our short values.
    """
    stack: list[bool] = []  # per open group: does it contain a quantifier or an alternation?
    index = 0
    while index < len(pattern):
        char = pattern[index]
        if char == "\\":
            index += 2
            continue
        if char == "[":  # a character class: no groups or quantifiers inside
            end = pattern.find("]", index + 2)
            index = len(pattern) if end < 0 else end + 1
            continue
        if char == "(":
            stack.append(False)
        elif char == ")":
            risky = stack.pop() if stack else False
            quantified = _REPEAT.match(pattern, index + 1) is not None
            if risky and quantified:
                return True
            if stack and (risky or quantified):
                stack[-1] = True
        elif (char == "|" or _REPEAT.match(pattern, index)) and stack:
            stack[-1] = True
        index += 1
    return False


def _present(value: str | None) -> bool:
    return value is not None


def _absent(value: str | None) -> bool:
    return value is None


def _comparison(compare: Callable[[str, str], bool], bound: str) -> Condition:
    return lambda value: value is not None and compare(value, bound)


def _search(pattern: re.Pattern[str]) -> Condition:
    return lambda value: value is not None and pattern.search(value) is not None


def _operator_condition(key: str, value: str) -> Condition | None:
    """The condition of one operator value, or None for a plain (equality) or `!v` value."""
    if value == "":
        return _present
    if value == "!":
        return _absent
    for operator, compare in _COMPARISONS.items():
        if value.startswith(operator):
            return _comparison(compare, value[len(operator) :])
    if value[0] == "^":
        return _search(_safe_pattern(key, value))
    if value[0] == "$":
        return _search(_safe_pattern(key, value[1:] + "$"))
    if value[0] == "~":
        return _search(_safe_pattern(key, value[1:]))
    return None


@dataclass(frozen=True)
class _GenericFilter:
    key: str
    equal_to: frozenset[str] = frozenset()  # plain values: any of them (OR)
    not_equal_to: frozenset[str] = frozenset()  # `!v` values: none of them
    conditions: tuple[Condition, ...] = ()  # operator values: all of them

    def matches(self, token: Token) -> bool:
        value = _generic_value(token, self.key)
        if self.equal_to and value not in self.equal_to:
            return False
        if value is not None and value in self.not_equal_to:
            return False
        return all(condition(value) for condition in self.conditions)


def _generic_filter(key: str, values: Sequence[str]) -> _GenericFilter:
    equal_to: set[str] = set()
    not_equal_to: set[str] = set()
    conditions: list[Condition] = []
    for value in values:
        condition = _operator_condition(key, value)
        if condition is not None:
            conditions.append(condition)
        elif value.startswith("!"):
            not_equal_to.add(value[1:])
        else:
            equal_to.add(value)
    return _GenericFilter(key, frozenset(equal_to), frozenset(not_equal_to), tuple(conditions))


def _indicator_number(value: str) -> int:
    """A number, or a name (RecoveryKit included); anything else is -1, which no token has (as upstream)."""
    if value.isdigit():
        return int(value)
    member = LocationIndicator.__members__.get(value)
    return int(member) if member is not None else -1


@dataclass(frozen=True)
class TokenQuery:
    """A checked query. An empty one matches every token."""

    generic: tuple[_GenericFilter, ...] = ()
    protected: bool | None = None  # passwordProtection: "" protected, "!" unprotected
    passwords: frozenset[str] = frozenset()
    is_pin: bool | None = None  # passwordIsPin: "true" a PIN, "!" a password (unprotected tokens match neither)
    indicators: frozenset[int] = frozenset()
    _created_at: tuple[str, ...] = field(default=())

    def matches(self, token: Token) -> bool:
        password = token.details.password
        if self.protected is not None and (password is not None) != self.protected:
            return False
        if self.passwords and (password is None or password.password not in self.passwords):
            return False
        if self.is_pin is not None and (password is None or password.is_pin != self.is_pin):
            return False
        if self.indicators and (password is None or password.location_indicator not in self.indicators):
            return False
        return all(generic.matches(token) for generic in self.generic)

    @property
    def created_at_range(self) -> tuple[str | None, str | None] | None:
        """Inclusive text bounds on createdAt that every match lies within (None: unbounded), or None when no
        token can match: a store may search only these. Never an empty bound (a createdAt is never empty text)."""
        low: str | None = None
        high: str | None = None
        for value in self._created_at:
            for operator in (">=", ">", "<=", "<"):
                if value.startswith(operator):
                    bound = value[len(operator) :]
                    if operator.startswith(">"):
                        low = bound if low is None else max(low, bound)
                    else:
                        high = bound if high is None else min(high, bound)
                    break
        if high == "" or (low is not None and high is not None and low > high):
            return None
        return (low or None), high


def parse_token_query(query: Mapping[str, Sequence[str]]) -> TokenQuery:
    """Check a query (each key with its values, in the order given); the first failure is a 400."""
    if set(query) - _ALLOWED:
        raise validation_error("query must NOT have additional properties")
    for key, allowed in _ENUMERATED.items():
        values = query.get(key)
        if values is None:
            continue
        if len(values) != 1:
            raise validation_error(f"query/{key} must be string")
        if values[0] not in allowed:
            raise validation_error(f"query/{key} must be equal to one of the allowed values")
    protection = query.get(_PROTECTION)
    is_pin = query.get(_IS_PIN)
    created_at = query.get("createdAt") or ()
    return TokenQuery(
        generic=tuple(_generic_filter(key, query[key]) for key in _GENERIC_KEYS if key in query),
        protected=None if protection is None else protection[0] == "",
        passwords=frozenset(query.get(_PASSWORD) or ()),
        is_pin=None if is_pin is None else is_pin[0] == "true",
        indicators=frozenset(_indicator_number(value) for value in query.get(_INDICATOR) or ()),
        _created_at=tuple(created_at),
    )


def query_from_event_parameters(parameters: Mapping[str, Any] | None) -> dict[str, list[str]]:
    """API Gateway's multiValueQueryStringParameters as key → values (an absent query is {})."""
    return {str(key): [str(value) for value in values or [""]] for key, values in (parameters or {}).items()}
