"""The content of an own token (POST /Tokens/Own): what upstream's `Serializable.fromUnknown` accepts, and the
exact text it encrypts (SPEC §14).

Learnt by running `@js-soft/ts-serval` 2.0.14 (code identical to 2.0.17, which Connector 7.4.6 runs) on a table
of contents (tests/unit/test_token_content.py compares this module with it):
- a value without `@type` is wrapped in a `JSONWrapper` as `{...value}`: an object stays itself, an array becomes
  `{"0": …, "1": …}`, a string one entry per UTF-16 unit, a number or a boolean `{}`; `null` is refused;
- `@type` must be a string naming a registered class: `JSONWrapper` (version 1) is the only one this service
  knows (the Connector also knows its own content classes: a deliberate difference, in the README);
- the wrapper drops `@type` and `@version` (and, by the deep clone it makes, a top-level `__proto__`);
- an object with a `hasOwnProperty` key is refused (the JavaScript call fails on it);
- what is encrypted and answered is the wrapped value as JavaScript writes it: array-index keys first, numbers as
  doubles (`1.0` is `1`, `-0` is `0`, an overflow is `null`).
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

from .errors import DomainError, ErrorKind, validation_error
from .password_protection import is_unicode_text

JSON_WRAPPER = "JSONWrapper"
MAX_DEPTH = 100  # nesting levels; deeper content is refused rather than risk Python's recursion limit
MSG_CONTENT_NOT_UNICODE = "content must be valid Unicode text (no unpaired surrogates)"
_MAX_SAFE_INTEGER = 2**53
_MAX_ARRAY_INDEX = 2**32 - 2
_JS_WHITESPACE = "\t\n\v\f\r \u00a0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a" + (
    "\u2028\u2029\u202f\u205f\u3000\ufeff"
)
_JS_PARSE_INT_RE = re.compile(r"([+-]?)(?:(0[xX])([0-9a-fA-F]+)|([0-9]+))")


def own_token_content(value: object) -> dict[str, Any]:
    """The content as upstream keeps it, or DomainError: invalidTokenContent, or the Unicode rule."""
    if value is None:
        raise DomainError(ErrorKind.INVALID_TOKEN_CONTENT)
    if isinstance(value, dict):
        if "hasOwnProperty" in value:
            raise DomainError(ErrorKind.INVALID_TOKEN_CONTENT)
        if "@type" in value and not _is_json_wrapper(value["@type"], value.get("@version")):
            raise DomainError(ErrorKind.INVALID_TOKEN_CONTENT)
        wrapped = {key: item for key, item in value.items() if key not in ("@type", "@version", "__proto__")}
    elif isinstance(value, list):
        wrapped = {str(index): item for index, item in enumerate(value)}
    elif isinstance(value, str):
        wrapped = {str(index): unit for index, unit in enumerate(_utf16_units(value))}
    else:  # a number or a boolean: spread, it has no own properties
        wrapped = {}
    content = _as_javascript(wrapped, 0)
    if not _is_unicode(content):
        raise validation_error(MSG_CONTENT_NOT_UNICODE)
    assert isinstance(content, dict)
    return content


def _is_json_wrapper(type_name: object, version: object) -> bool:
    """`SerializableBase.getModule(type, version)` finds the wrapper: version is parseInt(@version) when truthy."""
    if type_name != JSON_WRAPPER:
        return False
    if not _js_truthy(version):
        return True
    return _js_parse_int(_js_string(version)) == 1


def _utf16_units(text: str) -> list[str]:
    """A JavaScript string's indices: UTF-16 code units (a character beyond the BMP is two lone surrogates)."""
    encoded = text.encode("utf-16-le", "surrogatepass")
    return [encoded[i : i + 2].decode("utf-16-le", "surrogatepass") for i in range(0, len(encoded), 2)]


def _is_array_index(key: str) -> bool:
    return key.isdigit() and key.isascii() and str(int(key)) == key and int(key) <= _MAX_ARRAY_INDEX


def _as_javascript(value: Any, depth: int) -> Any:
    """The value as JSON.parse then JSON.stringify give it back (keys in JavaScript's order, numbers as doubles)."""
    if depth > MAX_DEPTH:
        raise validation_error(f"content must not be nested more than {MAX_DEPTH} levels deep")
    if isinstance(value, dict):
        indices = sorted((key for key in value if _is_array_index(key)), key=int)
        others = [key for key in value if not _is_array_index(key)]
        return {key: _as_javascript(value[key], depth + 1) for key in (*indices, *others)}
    if isinstance(value, list):
        return [_as_javascript(item, depth + 1) for item in value]
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    return _js_double(value)


def _js_double(number: int | float) -> int | float | None:
    """A JSON number as a JavaScript double, in the Python type that writes like it: integral and below 1e21 as an
    int (JSON.stringify writes 1.0 as 1), infinite (an overflow) as None (written null)."""
    try:
        double = float(number)
    except OverflowError:
        return None
    if math.isinf(double) or math.isnan(double):
        return None
    if double.is_integer() and abs(double) < 1e21:
        return int(double)
    return double


def _is_unicode(value: Any) -> bool:
    if isinstance(value, str):
        return is_unicode_text(value)
    if isinstance(value, dict):
        return all(is_unicode_text(key) and _is_unicode(item) for key, item in value.items())
    if isinstance(value, list):
        return all(_is_unicode(item) for item in value)
    return True


def javascript_json(value: Any) -> str:
    """JSON.stringify of a content made by own_token_content: the exact plaintext upstream encrypts."""
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, str):
        return _json_string(value)
    if isinstance(value, (int, float)):
        exact_integer = isinstance(value, int) and abs(value) <= _MAX_SAFE_INTEGER
        return str(value) if exact_integer else js_number_string(float(value))
    if isinstance(value, dict):
        return "{" + ",".join(f"{_json_string(key)}:{javascript_json(item)}" for key, item in value.items()) + "}"
    return "[" + ",".join(javascript_json(item) for item in value) + "]"


def _json_string(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)


def js_number_string(number: float) -> str:
    """Number.prototype.toString (ECMAScript Number::toString): Python's repr gives the same shortest digits."""
    if number == 0:
        return "0"
    if math.isnan(number):
        return "NaN"
    if math.isinf(number):
        return "Infinity" if number > 0 else "-Infinity"
    from decimal import Decimal  # only a float needs it: not loaded at init

    sign = "-" if number < 0 else ""
    _, digit_tuple, exponent = Decimal(repr(abs(number))).normalize().as_tuple()
    digits = "".join(map(str, digit_tuple))
    k, n = len(digits), len(digits) + int(exponent)
    if k <= n <= 21:
        return sign + digits + "0" * (n - k)
    if 0 < n <= 21:
        return sign + digits[:n] + "." + digits[n:]
    if -6 < n <= 0:
        return sign + "0." + "0" * -n + digits
    e = n - 1
    mantissa = digits[0] + ("." + digits[1:] if k > 1 else "")
    return f"{sign}{mantissa}e{'+' if e >= 0 else '-'}{abs(e)}"


def _js_truthy(value: object) -> bool:
    if value is None or value is False or value == "":
        return False
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return value != 0 and not (isinstance(value, float) and math.isnan(value))
    return True


def _js_string(value: object) -> str:
    """String(value) of a JSON value."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value
    if isinstance(value, (int, float)):
        double = _js_double(value)
        return "Infinity" if double is None else js_number_string(float(double))
    if isinstance(value, list):
        return ",".join("" if item is None else _js_string(item) for item in value)
    return "[object Object]"


def _js_parse_int(text: str) -> int | None:
    """parseInt(text) without a radix; None for NaN."""
    match = _JS_PARSE_INT_RE.match(text.lstrip(_JS_WHITESPACE))
    if match is None:
        return None
    sign, _, hex_digits, decimal_digits = match.groups()
    number = int(hex_digits, 16) if hex_digits else int(decimal_digits)
    return -number if sign == "-" else number
