"""The query language of GET /Tokens/Own and /Tokens/Peer (SPEC §13), as the Connector's runtime reads it.

A query maps keys to one or more text values (a repeated key gives several). Generic keys take operators:
`v` equals, `` (empty) present, `!` absent, `!v` not equal, `>v` `>=v` `<v` `<=v` compare as text (ISO dates sort
as text), `^v` / `$v` / `~re` match case-insensitively at the start / at the end / anywhere (a regular
expression, as upstream, run on RE2: linear time, no backreferences or lookaround). Repeated plain values are
alternatives (OR), repeated `!v` all excluded, and operator values combine (`expiresAt=>A&expiresAt=<B` is the
range between). The `passwordProtection…` keys are custom.

`parse_token_query` checks a query with the runtime's exact messages; the `TokenQuery` it returns tells whether
a token matches, and the `createdAt` bounds a store can narrow its search with.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import Enum
from types import MappingProxyType
from typing import Any

from .clock import format_timestamp
from .errors import DomainError, validation_error
from .password_protection import LocationIndicator, is_unicode_text
from .tokens import Token


class QueryKind(Enum):
    """How a query key's values are read."""

    GENERIC = "generic"  # the operators above; a token's value of the same name
    ENUMERATED = "enumerated"  # exactly one value, one of the key's `values`
    EQUALITY = "equality"  # any of the values, compared as given
    LOCATION_INDICATOR = "locationIndicator"  # a number, or a name for its number
    OVERRIDDEN = "overridden"  # accepted; the route decides (isOwn)


@dataclass(frozen=True)
class QueryKey:
    kind: QueryKind
    values: tuple[str, ...] = ()  # the allowed values of an ENUMERATED key


_PROTECTION = "passwordProtection"
_PASSWORD = "passwordProtection.password"  # noqa: S105 - a query key, not a secret
_IS_PIN = "passwordProtection.passwordIsPin"
_INDICATOR = "passwordProtection.passwordLocationIndicator"
# Every key the query language accepts, one table: the parser below and the OpenAPI document read it (SPEC §13).
QUERY_KEYS: Mapping[str, QueryKey] = MappingProxyType(
    {
        "createdAt": QueryKey(QueryKind.GENERIC),
        "createdBy": QueryKey(QueryKind.GENERIC),
        "createdByDevice": QueryKey(QueryKind.GENERIC),
        "expiresAt": QueryKey(QueryKind.GENERIC),
        "forIdentity": QueryKey(QueryKind.GENERIC),
        "isOwn": QueryKey(QueryKind.OVERRIDDEN),
        _PROTECTION: QueryKey(QueryKind.ENUMERATED, ("", "!")),  # "" protected, "!" unprotected
        _PASSWORD: QueryKey(QueryKind.EQUALITY),
        _IS_PIN: QueryKey(QueryKind.ENUMERATED, ("true", "!")),  # "true" a PIN, "!" a password
        _INDICATOR: QueryKey(QueryKind.LOCATION_INDICATOR),
    }
)
_COMPARISONS: dict[str, Callable[[str, str], bool]] = {
    ">=": lambda value, bound: value >= bound,
    "<=": lambda value, bound: value <= bound,
    ">": lambda value, bound: value > bound,
    "<": lambda value, bound: value < bound,
}
MAX_PATTERN_LENGTH = 200  # characters of a pattern, checked before it is compiled
# What RE2's time per value grows with, beside the value's length (at most 80 characters): the size of the
# program a pattern compiles to. The patterns of one query together get this many instructions (`enmeshed\.eu`
# takes 17, `.{100}` 804, `\pL` 1,201). Measured over 2,000 tokens: about 10 µs per token for the slowest single
# pattern tried, 40 µs for seven `.{0,60}` (tests/reliability/test_query_fuzz.py reports the worst it meets).
MAX_QUERY_PROGRAM_SIZE = 4_000
# RE2's memory for one pattern, its program and the DFA it builds while it searches (with less, the DFA runs out
# and RE2 falls back to its NFA: linear still, but 30 times slower for the largest programs). RE2 stops compiling
# a pattern that outgrows it (within about 15 ms), and keeps its last 128 patterns: at most 128 MiB together.
PATTERN_MEMORY_BYTES = 1024 * 1024
MAX_BOUND_LENGTH = 64  # characters of a createdAt bound given to a store: at most 256 bytes, above a createdAt's 24
MAX_NUMBER_DIGITS = 10  # a location indicator is 0-99; any number this long is still exact

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


@dataclass
class _ProgramBudget:
    """The instructions left for a query's patterns (MAX_QUERY_PROGRAM_SIZE)."""

    left: int = MAX_QUERY_PROGRAM_SIZE


def _too_large(key: str) -> DomainError:
    return validation_error(
        f"query/{key} must be a valid regular expression of a size RE2 runs quickly: the patterns of a query "
        f"together compile to at most {MAX_QUERY_PROGRAM_SIZE} instructions (use smaller repeat counts)"
    )


def _compiled(key: str, pattern: str, budget: _ProgramBudget) -> Any:
    """A case-insensitive pattern on RE2, which runs in time linear in the text: it cannot backtrack (and so has no
    backreferences and no lookaround)."""
    # Imported on first use: the operator is rare, and the import costs about 1 % of a read function's cold start.
    import re2

    options = re2.Options()
    options.case_sensitive = False
    options.never_capture = True  # only whether it matches counts; groups would cost a slower engine
    options.log_errors = False  # a refused pattern is the caller's, answered with a 400, not logged
    options.max_mem = PATTERN_MEMORY_BYTES
    try:
        compiled = re2.compile(pattern, options)
    except re2.error as refused:
        if "too large" in str(refused):
            raise _too_large(key) from None
        raise validation_error(
            f"query/{key} must be a valid regular expression (RE2 syntax: no backreferences, no lookaround)"
        ) from None
    budget.left -= compiled.programsize
    if budget.left < 0:
        raise _too_large(key)
    return compiled


def _present(value: str | None) -> bool:
    return value is not None


def _absent(value: str | None) -> bool:
    return value is None


def _comparison(compare: Callable[[str, str], bool], bound: str) -> Condition:
    return lambda value: value is not None and compare(value, bound)


def _search(pattern: Any) -> Condition:
    return lambda value: value is not None and pattern.search(value) is not None


_PATTERNS: dict[str, Callable[[str], str]] = {
    "^": lambda text: "^" + text,  # at the start
    "$": lambda text: text + "$",  # at the end
    "~": lambda text: text,  # anywhere
}


def _operator_condition(key: str, value: str, budget: _ProgramBudget) -> Condition | None:
    """The condition of one operator value, or None for a plain (equality) or `!v` value."""
    if value == "":
        return _present
    if value == "!":
        return _absent
    for operator, compare in _COMPARISONS.items():
        if value.startswith(operator):
            return _comparison(compare, value[len(operator) :])
    pattern = _PATTERNS.get(value[0])
    if pattern is None:
        return None
    text = value[1:]
    if len(text) > MAX_PATTERN_LENGTH:  # before compiling: that is work too
        raise validation_error(
            f"query/{key} must be a valid regular expression of at most {MAX_PATTERN_LENGTH} characters"
        )
    return _search(_compiled(key, pattern(text), budget))


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


def _generic_filter(key: str, values: Sequence[str], budget: _ProgramBudget) -> _GenericFilter:
    equal_to: set[str] = set()
    not_equal_to: set[str] = set()
    conditions: list[Condition] = []
    for value in values:
        condition = _operator_condition(key, value, budget)
        if condition is not None:
            conditions.append(condition)
        elif value.startswith("!"):
            not_equal_to.add(value[1:])
        else:
            equal_to.add(value)
    return _GenericFilter(key, frozenset(equal_to), frozenset(not_equal_to), tuple(conditions))


def _indicator_number(value: str) -> int:
    """A number, or a name (RecoveryKit included); any other text is -1, which no token has (as upstream).

    A number is ASCII digits, at most MAX_NUMBER_DIGITS of them: other digits (`²`, `①`, `٢`) are a 400.
    """
    if value.isnumeric():
        if not value.isascii() or len(value) > MAX_NUMBER_DIGITS:
            raise validation_error(
                f"query/{_INDICATOR} must be a number of at most {MAX_NUMBER_DIGITS} ASCII digits (0-9)"
            )
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
        token can match: a store may search only these. Never an empty bound (a createdAt is never empty text),
        nor one longer than MAX_BOUND_LENGTH characters (a store's key has a size limit: DynamoDB's is 1 kB)."""
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
        # Cut to a prefix no shorter than any createdAt: the upper bound stays exact, the lower one only widens
        # (and `matches` still checks the whole of it).
        return (low[:MAX_BOUND_LENGTH] if low else None), (None if high is None else high[:MAX_BOUND_LENGTH])


def _keys_of(kind: QueryKind) -> tuple[str, ...]:
    return tuple(key for key, spec in QUERY_KEYS.items() if spec.kind is kind)


_GENERIC_KEYS = _keys_of(QueryKind.GENERIC)
_ENUMERATED_KEYS = _keys_of(QueryKind.ENUMERATED)


def parse_token_query(query: Mapping[str, Sequence[str]]) -> TokenQuery:
    """Check a query (each key with its values, in the order given); the first failure is a 400."""
    if not set(query) <= QUERY_KEYS.keys():
        raise validation_error("query must NOT have additional properties")
    for key in _ENUMERATED_KEYS:
        values = query.get(key)
        if values is None:
            continue
        if len(values) != 1:
            raise validation_error(f"query/{key} must be string")
        if values[0] not in QUERY_KEYS[key].values:
            raise validation_error(f"query/{key} must be equal to one of the allowed values")
    for key in QUERY_KEYS:
        if not all(is_unicode_text(value) for value in query.get(key) or ()):
            raise validation_error(f"query/{key} must be valid Unicode text (no unpaired surrogates)")
    protection = query.get(_PROTECTION)
    is_pin = query.get(_IS_PIN)
    created_at = query.get("createdAt") or ()
    budget = _ProgramBudget()
    return TokenQuery(
        generic=tuple(_generic_filter(key, query[key], budget) for key in _GENERIC_KEYS if key in query),
        protected=None if protection is None else protection[0] == "",
        passwords=frozenset(query.get(_PASSWORD) or ()),
        is_pin=None if is_pin is None else is_pin[0] == "true",
        indicators=frozenset(_indicator_number(value) for value in query.get(_INDICATOR) or ()),
        _created_at=tuple(created_at),
    )
