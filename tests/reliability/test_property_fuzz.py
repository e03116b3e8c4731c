"""Property-based fuzzing of the request path: body parsing and validation refuse anything with a
DomainError (400/413) and never raise anything else; what they accept is consistent.

The reference parser has its own property tests (tests/unit/test_references_property.py); here only the CLI's
`read_reference` on top of it, which also decides between a path and a reference.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import tempfile
from typing import Any

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from nmshd_tokens.domain.errors import DomainError
from nmshd_tokens.domain.validation import (
    MSG_INDICATOR,
    MSG_ISO,
    MSG_PIN,
    TokenRequest,
    collect_failures,
    parse_iso_datetime,
    parse_token_request,
)
from nmshd_tokens.http.body import MAX_BODY_BYTES, parse_json_object
from nmshd_tokens_local.errors import InputError
from nmshd_tokens_local.peer import read_reference

FUZZ = settings(max_examples=500, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])

json_scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=30)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=12,
)
KNOWN = ["expiresAt", "ephemeral", "forIdentity", "passwordProtection", "newQRCodeFormat", "fileId", "templateId"]
PROTECTION_KEYS = ["password", "passwordIsPin", "passwordLocationIndicator"]

# Values that are close to valid, so that the checks past the first ones run too.
near_valid = {
    "expiresAt": st.sampled_from(
        [
            "2099-01-01T00:00:00Z",
            "2000-01-01T00:00:00Z",
            "2099-02-30T00:00",
            "9999-12-31T23:59:59-01:00",
            "2099-01-01T24:00:00+25:00",
            "",
        ]
    ),
    "forIdentity": st.sampled_from(
        ["did:e:localhost:dids:0123456789abcdef012357", "did:e:a.bc:dids:" + "0" * 22, "did:e:x:dids:0"]
    ),
    "password": st.text(max_size=20) | st.sampled_from(["1234", "١٢٣٤", "0" * 17, "x" * 1001]),
    "passwordLocationIndicator": st.sampled_from(
        ["Self", "RecoveryKit", 0, 1, 49, 50, 99, 100, 50.0, 50.5, "50", True]
    ),
    "fileId": st.sampled_from(["FILabcdefghij0123456", "FILabcdefghij012345", "FIL" + "a" * 17 + "\n"])
    | st.text(max_size=25),
    "templateId": st.sampled_from(["RLTabcdefghij0123456", "RLT"]) | st.text(max_size=25),
}


@st.composite
def protections(draw: st.DrawFn) -> Any:
    if draw(st.booleans()):
        return draw(json_values)
    keys = draw(st.lists(st.sampled_from([*PROTECTION_KEYS, "extra"]), unique=True, max_size=4))
    value: dict[str, Any] = {}
    for key in keys:
        value[key] = draw(st.one_of(json_values, near_valid.get(key, st.just(True))))
    return value


@st.composite
def commands(draw: st.DrawFn) -> dict[str, Any]:
    keys = draw(st.lists(st.sampled_from([*KNOWN, "unknown"]), unique=True, max_size=7))
    command: dict[str, Any] = {}
    for key in keys:
        if key == "passwordProtection":
            command[key] = draw(protections())
        elif key in near_valid and draw(st.booleans()):
            command[key] = draw(near_valid[key])
        else:
            command[key] = draw(json_values)
    return command


FIXED_MESSAGES = {
    MSG_ISO,
    MSG_PIN,
    MSG_INDICATOR,
    "'expiresAt' must be in the future",
    "ephemeral must be boolean",
    "forIdentity must be string",
    "passwordProtection must be object",
    "passwordProtection must have required property 'password'",
    "passwordProtection must NOT have additional properties",
    "passwordProtection/password must be string",
    "passwordProtection/password must NOT have fewer than 1 characters",
    "passwordProtection/password must NOT have more than 1000 characters",
    "passwordProtection/passwordIsPin must be equal to constant",
    "newQRCodeFormat must be boolean",
}


@FUZZ
@given(command=commands(), id_field=st.sampled_from(["fileId", "templateId"]), wants_png=st.booleans())
def test_validation_raises_only_domain_errors_with_a_known_message(
    command: dict[str, Any], id_field: Any, wants_png: bool
) -> None:
    failures = collect_failures(id_field, command, wants_png=wants_png)
    try:
        request = parse_token_request(id_field, command, wants_png=wants_png)
    except DomainError as error:
        assert error.status == 400 and error.code == "error.runtime.validation.invalidPropertyValue"
        assert error.message == failures[0]
        assert (
            error.message in FIXED_MESSAGES
            or error.message.startswith(("fileId must match pattern", "templateId must match pattern"))
            or error.message.startswith(("forIdentity must match pattern", "must have required property"))
        ), error.message
        return
    assert failures == []
    assert isinstance(request, TokenRequest)
    assert request.target_id == command[id_field]
    if request.password_protection is not None:
        assert 1 <= len(request.password_protection.password) <= 1000
    assert request.ephemeral is True or not wants_png


def _strict_object(text: str) -> dict[str, Any] | None:
    """An independent oracle: RFC 8259 whitespace means {}; else one object without duplicate keys or
    NaN/Infinity, and no U+FFFD (the mark of undecodable bytes). None: must be refused."""
    if text.strip(" \t\n\r") == "":
        return {}
    if "\ufffd" in text:
        return None

    def no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        if len({key for key, _ in pairs}) != len(pairs):
            raise ValueError("duplicate")
        return dict(pairs)

    def no_constants(name: str) -> Any:
        raise ValueError(name)

    try:
        value = json.loads(text, object_pairs_hook=no_duplicates, parse_constant=no_constants)
    except (ValueError, RecursionError):
        return None
    return value if isinstance(value, dict) else None


def _check_body(parse: Any, text: str | None = None) -> None:
    try:
        result = parse()
    except DomainError as error:
        assert (error.status, error.code) in {
            (400, "error.connector.validation.invalidJsonInPayload"),
            (413, "error.connector.validation.payloadTooLarge"),
        }
        if text is not None and len(text.encode("utf-8", "surrogatepass")) <= MAX_BODY_BYTES:
            assert _strict_object(text) is None, f"a JSON object was refused: {text!r}"
        return
    assert isinstance(result, dict)
    if text is not None:
        assert result == _strict_object(text), f"accepted, but not one JSON object: {text!r}"


@FUZZ
@given(text=st.text(max_size=200))
def test_any_text_body_is_an_object_or_a_400(text: str) -> None:
    _check_body(lambda: parse_json_object(text), text)


@FUZZ
@given(text=st.text(alphabet=" \t\n\r\x0b\x0c\x1c\x1d\x1e\x1f\x85\xa0\u2028\u3000{}", max_size=8))
def test_whitespace_of_every_kind_is_json_whitespace_or_a_400(text: str) -> None:
    _check_body(lambda: parse_json_object(text), text)


@FUZZ
@given(data=st.binary(max_size=300))
def test_any_binary_body_is_an_object_or_a_400(data: bytes) -> None:
    _check_body(lambda: parse_json_object(base64.b64encode(data).decode(), True))
    _check_body(lambda: parse_json_object(data.decode("latin-1")), data.decode("latin-1"))


@FUZZ
@given(text=st.text(alphabet=st.characters(codec="ascii"), max_size=80))
def test_any_base64_flagged_text_is_an_object_or_a_400(text: str) -> None:
    _check_body(lambda: parse_json_object(text, True))


@st.composite
def mutated_json(draw: st.DrawFn) -> str:
    """Valid JSON objects, then cut, spliced or sprinkled with JSON's own syntax characters."""
    text = json.dumps(draw(st.dictionaries(st.sampled_from(KNOWN), json_values, max_size=4)))
    for _ in range(draw(st.integers(0, 3))):
        position = draw(st.integers(0, len(text)))
        insert = draw(
            st.sampled_from(['"', "{", "}", "[", "]", ",", ":", "\\", "\\u", "\\ud800", "\x00", " ", "1e999", "-"])
        )
        cut = draw(st.integers(0, 3))
        text = text[:position] + insert + text[position + cut :]
    return text


@FUZZ
@given(text=mutated_json())
def test_mutated_json_is_an_object_or_a_400(text: str) -> None:
    _check_body(lambda: parse_json_object(text), text)


@FUZZ
@given(value=json_values | st.text(max_size=40))
def test_iso_parser_returns_a_utc_datetime_or_none(value: Any) -> None:
    moment = parse_iso_datetime(value)
    assert moment is None or moment.utcoffset() is not None and moment.utcoffset().total_seconds() == 0  # type: ignore[union-attr]


@settings(max_examples=300, deadline=None, derandomize=True)
@given(text=st.text(max_size=120))
def test_read_reference_refuses_with_input_errors_only(text: str) -> None:
    assume("\x00" not in text)  # argv cannot carry a NUL byte
    with tempfile.TemporaryDirectory() as empty, contextlib.chdir(empty):
        assert os.listdir(".") == []
        with contextlib.suppress(InputError):
            read_reference(text)


def test_limits_are_what_the_readme_says() -> None:
    assert MAX_BODY_BYTES == 64 * 1024
