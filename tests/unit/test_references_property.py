"""Property tests for references: build -> parse round trips, and parsing junk never raises anything but
ReferenceError (and whatever it accepts is a valid reference that survives another round trip)."""

from __future__ import annotations

import contextlib
import string

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from nmshd_tokens.domain import references
from nmshd_tokens.domain.encoding import b64_encode, b64url_decode, b64url_encode
from nmshd_tokens.domain.references import (
    LEGACY_QR_PREFIX,
    Reference,
    SharedPasswordProtection,
    parse_reference,
    parse_truncated,
    parse_url,
)

RefError = references.ReferenceError

PROPERTY_SETTINGS = settings(
    max_examples=400,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)

ALNUM = string.ascii_letters + string.digits

# ---------------------------------------------------------------------------------------------------------------------
# strategies

ids = st.one_of(
    st.text(ALNUM, min_size=17, max_size=17).map(lambda tail: "TOK" + tail),
    st.text(ALNUM, min_size=1, max_size=40),
)
keys = st.binary(min_size=32, max_size=32)
salts = st.binary(min_size=16, max_size=16)
hex4 = st.text("0123456789abcdef", min_size=4, max_size=4)

_label = st.from_regex(r"[a-z0-9]([a-z0-9-]{0,10}[a-z0-9])?", fullmatch=True)
hosts = st.one_of(
    st.just("localhost"),
    st.builds(lambda a, b, c, d: f"{a}.{b}.{c}.{d}", *[st.integers(0, 255)] * 4),
    st.lists(_label, min_size=1, max_size=4).map(lambda labels: ".".join([*labels, "example"])),
    st.just("[::1]"),
)
ports = st.one_of(st.just(""), st.integers(1, 65535).map(lambda port: f":{port}"))
# path characters a real deployment may use; never '#', '?', '|' or whitespace (they cannot be in a base URL)
# No '@': upstream splits the truncated form's head at every '@', so a base URL must not contain one.
_segment = st.text(ALNUM + "-._~%!$&'()*+,;=:", min_size=1, max_size=12)
paths = st.lists(st.one_of(_segment, st.just("backbone")), max_size=4).map(
    lambda segments: "".join("/" + segment for segment in segments)
)
base_urls = st.builds(
    lambda scheme, host, port, path: f"{scheme}://{host}{port}{path}",
    st.sampled_from(["http", "https"]),
    hosts,
    ports,
    paths,
)
password_types = st.one_of(st.just("pw"), st.integers(4, 16).map(lambda digits: f"pin{digits}"))
indicators = st.one_of(st.none(), st.integers(0, 99))
password_protections = st.one_of(
    st.none(),
    st.builds(SharedPasswordProtection, password_types, salts, indicators),
)
references_with_base = st.builds(
    Reference,
    id=ids,
    key=keys,
    backbone_base_url=base_urls,
    for_identity_truncated=st.one_of(st.none(), hex4),
    password_protection=password_protections,
)
references_any = st.one_of(
    references_with_base,
    st.builds(
        Reference,
        id=ids,
        key=keys,
        for_identity_truncated=st.one_of(st.none(), hex4),
        password_protection=password_protections,
    ),
)
app_ids = st.text(ALNUM + ".-_", min_size=1, max_size=30)


def _secret_text(reference: Reference) -> str:
    """SPEC §5, written independently of the module under test."""
    password = ""
    if reference.password_protection is not None:
        protection = reference.password_protection
        password = f"{protection.password_type}&{b64_encode(protection.salt)}"
        if protection.location_indicator is not None:
            password += f"&{protection.location_indicator}"
    return f"3|{b64url_encode(reference.key)}|{reference.for_identity_truncated or ''}|{password}"


def _assert_valid(reference: Reference) -> None:
    """Whatever a parser accepts is a well-formed reference that round-trips again."""
    assert isinstance(reference, Reference)
    assert reference.id.isascii() and reference.id.isalnum()
    assert len(reference.key) == 32
    assert reference.algorithm == 3
    base = reference.backbone_base_url
    assert parse_truncated(reference.truncated) == reference
    if base is not None:
        assert parse_url(reference.url) == reference


def _parse_or_reject(text: object) -> Reference | None:
    try:
        reference = parse_reference(text)
    except RefError as error:
        assert str(error)
        return None
    _assert_valid(reference)
    return reference


# ---------------------------------------------------------------------------------------------------------------------
# round trips


@PROPERTY_SETTINGS
@given(references_any)
def test_truncated_round_trip(reference: Reference) -> None:
    truncated = reference.truncated
    assert "=" not in truncated
    head = f"{reference.id}@{reference.backbone_base_url}" if reference.backbone_base_url else reference.id
    assert b64url_decode(truncated).decode("utf-8") == f"{head}|{_secret_text(reference)}"
    assert parse_truncated(truncated) == reference
    assert parse_reference(truncated) == reference
    assert parse_reference(reference.legacy_qr_payload) == reference
    assert reference.legacy_qr_payload == LEGACY_QR_PREFIX + truncated


@PROPERTY_SETTINGS
@given(references_with_base, st.one_of(st.none(), app_ids))
def test_url_round_trip(reference: Reference, app_id: str | None) -> None:
    url = reference.url
    base, _, fragment = url.partition("#")
    assert base == f"{reference.backbone_base_url}/r/{reference.id}"
    assert b64url_decode(fragment).decode("utf-8") == _secret_text(reference)
    assert "=" not in fragment
    assert parse_url(url) == reference
    assert parse_reference(url) == reference
    assert parse_reference(f" {url}\n") == reference
    if app_id is not None:  # upstream Reference.toUrl(appId)
        assert parse_reference(f"{base}?app={app_id}#{fragment}") == reference


@PROPERTY_SETTINGS
@given(references_with_base)
def test_url_and_truncated_forms_agree(reference: Reference) -> None:
    from_url = parse_url(reference.url)
    from_truncated = parse_truncated(reference.truncated)
    assert from_url == from_truncated
    assert from_url.url == reference.url
    assert from_truncated.truncated == reference.truncated


# ---------------------------------------------------------------------------------------------------------------------
# robustness: nothing but ReferenceError


@PROPERTY_SETTINGS
@given(st.text(max_size=300))
def test_random_text_never_raises_anything_else(text: str) -> None:
    _parse_or_reject(text)
    _parse_or_reject(LEGACY_QR_PREFIX + text)
    _parse_or_reject("https://backbone.example.com/r/TOK1#" + text)


@PROPERTY_SETTINGS
@given(st.binary(max_size=300))
def test_random_bytes_base64url_encoded_never_raise_anything_else(data: bytes) -> None:
    encoded = b64url_encode(data)
    _parse_or_reject(encoded)
    _parse_or_reject(LEGACY_QR_PREFIX + encoded)
    _parse_or_reject("https://backbone.example.com/r/TOK1#" + encoded)
    with contextlib.suppress(RefError):
        parse_truncated(encoded)


# pieces from which plausible-but-wrong references are assembled
_PIECES = st.one_of(
    st.sampled_from(
        [
            "",
            "3",
            "2",
            "03",
            "TOK1",
            "TOK1@https://x.example",
            "TOK1@",
            "@https://x.example",
            "1234",
            "abcd",
            "ABCD",
            "pw",
            "pin4",
            "pin17",
            "&",
            "=",
            "YTE2Ynl0ZXNsb25nc2FsdA==",
            "YTE2Ynl0ZXNsb25nc2FsdA",
            "pw&YTE2Ynl0ZXNsb25nc2FsdA==",
            "pw&YTE2Ynl0ZXNsb25nc2FsdA==&4",
            "pw&YTE2Ynl0ZXNsb25nc2FsdA==&",
            "pin6&YTE2Ynl0ZXNsb25nc2FsdA==&99&x",
            "lerJyX8ydJDEXowq2PMMntRXXA27wgHJYA_BjnFx55Y",
            "lerJyX8ydJDEXowq2PMMntRXXA27wgHJYA_BjnFx55",
        ]
    ),
    keys.map(b64url_encode),
    st.text(max_size=8),
)


@PROPERTY_SETTINGS
@given(st.lists(_PIECES, max_size=7), st.sampled_from(["|", "&", "@"]))
def test_assembled_parts_never_raise_anything_else(pieces: list[str], separator: str) -> None:
    secret = separator.join(pieces)
    _parse_or_reject(b64url_encode(secret.encode("utf-8", "surrogatepass")))
    _parse_or_reject(f"https://backbone.example.com/r/TOK1#{b64url_encode(secret.encode('utf-8', 'surrogatepass'))}")


def _mutate(text: str, edits: list[tuple[int, int, str]]) -> str:
    for kind, position, char in edits:
        if not text and kind != 0:
            continue
        index = position % (len(text) + 1) if kind == 0 else position % len(text)
        if kind == 0:  # insert
            text = text[:index] + char + text[index:]
        elif kind == 1:  # delete
            text = text[:index] + text[index + 1 :]
        else:  # replace
            text = text[:index] + char + text[index + 1 :]
    return text


_edits = st.lists(
    st.tuples(
        st.integers(0, 2),
        st.integers(0, 10_000),
        st.one_of(st.sampled_from(list("|&@=#?/:+-_ 0123AZaz\n")), st.characters()),
    ),
    min_size=1,
    max_size=4,
)


@settings(PROPERTY_SETTINGS, max_examples=500)
@given(references_with_base, _edits, st.sampled_from(["decoded-truncated", "decoded-fragment", "truncated", "url"]))
def test_mutated_references_never_raise_anything_else(
    reference: Reference, edits: list[tuple[int, int, str]], where: str
) -> None:
    if where == "decoded-truncated":
        mutated = b64url_decode(reference.truncated).decode("utf-8")
        candidate = b64url_encode(_mutate(mutated, edits).encode("utf-8", "surrogatepass"))
    elif where == "decoded-fragment":
        base, _, fragment = reference.url.partition("#")
        mutated = _mutate(b64url_decode(fragment).decode("utf-8"), edits)
        candidate = f"{base}#{b64url_encode(mutated.encode('utf-8', 'surrogatepass'))}"
    elif where == "truncated":
        candidate = _mutate(reference.truncated, edits)
    else:
        candidate = _mutate(reference.url, edits)
    _parse_or_reject(candidate)
    with contextlib.suppress(RefError):
        parse_truncated(candidate)
    with contextlib.suppress(RefError):
        parse_url(candidate)


@PROPERTY_SETTINGS
@given(references_with_base, st.sampled_from(["http://", "https://"]), st.text(max_size=30))
def test_arbitrary_base_urls_never_raise_anything_else(reference: Reference, scheme: str, rest: str) -> None:
    secret = b64url_decode(reference.url.partition("#")[2]).decode("utf-8")
    _parse_or_reject(b64url_encode(f"{reference.id}@{scheme}{rest}|{secret}".encode("utf-8", "surrogatepass")))
    _parse_or_reject(f"{scheme}{rest}/r/{reference.id}#{b64url_encode(secret.encode())}")


@PROPERTY_SETTINGS
@given(st.one_of(st.none(), st.integers(), st.floats(), st.binary(), st.lists(st.text()), st.booleans()))
def test_non_strings_are_rejected(value: object) -> None:
    try:
        parse_reference(value)
    except RefError:
        return
    raise AssertionError("accepted a non-string")
