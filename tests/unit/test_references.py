"""SPEC §5 reference vectors in both directions, and malformed references.

The encoded literals below were produced by the upstream libraries (@nmshd/core-types 7.0.0 `Reference.truncate()`
/ `toUrl()`), see tests/upstream/crosscheck.mjs.
"""

from __future__ import annotations

import builtins
import re

import pytest
from nmshd_tokens.domain import references
from nmshd_tokens.domain.encoding import (
    EncodingError,
    b64_decode,
    b64_encode,
    b64url_decode,
    b64url_encode,
)
from nmshd_tokens.domain.references import (
    LEGACY_QR_PREFIX,
    Reference,
    SharedPasswordProtection,
    parse_reference,
    parse_truncated,
    parse_url,
)

RefError = references.ReferenceError  # the module's ReferenceError, not the builtin one

ID = "ANID1234"
BASE = "https://backbone.example.com"
KEY_TEXT = "lerJyX8ydJDEXowq2PMMntRXXA27wgHJYA_BjnFx55Y"
KEY = b64url_decode(KEY_TEXT)
SALT = b"a16byteslongsalt"
SALT_B64 = "YTE2Ynl0ZXNsb25nc2FsdA=="

PLAIN_URL = "https://backbone.example.com/r/ANID1234#M3xsZXJKeVg4eWRKREVYb3dxMlBNTW50UlhYQTI3d2dISllBX0JqbkZ4NTVZfHw"
PLAIN_TRUNCATED = (
    "QU5JRDEyMzRAaHR0cHM6Ly9iYWNrYm9uZS5leGFtcGxlLmNvbXwzfGxlckp5WDh5ZEpERVhvd3EyUE1NbnRSWFhBMjd3Z0hKWUFfQmpuRng1NVl8fA"
)

# forIdentity ending 1234, type pw, salt a16byteslongsalt
PW_FRAGMENT_TEXT = f"3|{KEY_TEXT}|1234|pw&{SALT_B64}"
PW_URL = (
    "https://backbone.example.com/r/ANID1234#"
    "M3xsZXJKeVg4eWRKREVYb3dxMlBNTW50UlhYQTI3d2dISllBX0JqbkZ4NTVZfDEyMzR8cHcmWVRFMllubDBaWE5zYjI1bmMyRnNkQT09"
)
PW_TRUNCATED = (
    "QU5JRDEyMzRAaHR0cHM6Ly9iYWNrYm9uZS5leGFtcGxlLmNvbXwzfGxlckp5WDh5ZEpERVhvd3EyUE1NbnRSWFhBMjd3Z0hKWUFfQmpuRng1NVl8"
    "MTIzNHxwdyZZVEUyWW5sMFpYTnNiMjVuYzJGc2RBPT0"
)
# ... plus location indicator 4
PW4_FRAGMENT_TEXT = f"3|{KEY_TEXT}|1234|pw&{SALT_B64}&4"
PW4_URL = (
    "https://backbone.example.com/r/ANID1234#"
    "M3xsZXJKeVg4eWRKREVYb3dxMlBNTW50UlhYQTI3d2dISllBX0JqbkZ4NTVZfDEyMzR8cHcmWVRFMllubDBaWE5zYjI1bmMyRnNkQT09JjQ"
)
PW4_TRUNCATED = (
    "QU5JRDEyMzRAaHR0cHM6Ly9iYWNrYm9uZS5leGFtcGxlLmNvbXwzfGxlckp5WDh5ZEpERVhvd3EyUE1NbnRSWFhBMjd3Z0hKWUFfQmpuRng1NVl8"
    "MTIzNHxwdyZZVEUyWW5sMFpYTnNiMjVuYzJGc2RBPT0mNA"
)
# the upstream test's variant: indicator 4, no personalisation
PW4_NOPERS_FRAGMENT_TEXT = f"3|{KEY_TEXT}||pw&{SALT_B64}&4"
PW4_NOPERS_URL = (
    "https://backbone.example.com/r/ANID1234#"
    "M3xsZXJKeVg4eWRKREVYb3dxMlBNTW50UlhYQTI3d2dISllBX0JqbkZ4NTVZfHxwdyZZVEUyWW5sMFpYTnNiMjVuYzJGc2RBPT0mNA"
)
PW4_NOPERS_TRUNCATED = (
    "QU5JRDEyMzRAaHR0cHM6Ly9iYWNrYm9uZS5leGFtcGxlLmNvbXwzfGxlckp5WDh5ZEpERVhvd3EyUE1NbnRSWFhBMjd3Z0hKWUFfQmpuRng1NVl8"
    "fHB3JllURTJZbmwwWlhOc2IyNW5jMkZzZEE9PSY0"
)

PLAIN_REF = Reference(ID, KEY, BASE)
PW_REF = Reference(ID, KEY, BASE, "1234", SharedPasswordProtection("pw", SALT))
PW4_REF = Reference(ID, KEY, BASE, "1234", SharedPasswordProtection("pw", SALT, 4))
PW4_NOPERS_REF = Reference(ID, KEY, BASE, None, SharedPasswordProtection("pw", SALT, 4))

VECTORS = [
    pytest.param(PLAIN_REF, PLAIN_URL, PLAIN_TRUNCATED, f"3|{KEY_TEXT}||", id="plain"),
    pytest.param(PW_REF, PW_URL, PW_TRUNCATED, PW_FRAGMENT_TEXT, id="forIdentity-pw"),
    pytest.param(PW4_REF, PW4_URL, PW4_TRUNCATED, PW4_FRAGMENT_TEXT, id="forIdentity-pw-indicator4"),
    pytest.param(PW4_NOPERS_REF, PW4_NOPERS_URL, PW4_NOPERS_TRUNCATED, PW4_NOPERS_FRAGMENT_TEXT, id="pw-indicator4"),
]


def _encode(text: str) -> str:
    return b64url_encode(text.encode("utf-8"))


def _decode(text: str) -> str:
    return b64url_decode(text).decode("utf-8")


def _truncated(secret_parts: str, head: str = f"{ID}@{BASE}") -> str:
    return _encode(f"{head}|{secret_parts}")


def _url(secret_parts: str, base: str = BASE, reference_id: str = ID) -> str:
    return f"{base}/r/{reference_id}#{_encode(secret_parts)}"


# --------------------------------------------------------------------------------------------------------------------
# build -> exact strings


@pytest.mark.parametrize(("reference", "url", "truncated", "fragment_text"), VECTORS)
def test_build_gives_the_exact_spec_strings(reference: Reference, url: str, truncated: str, fragment_text: str) -> None:
    assert reference.url == url
    assert reference.truncated == truncated
    assert reference.legacy_qr_payload == "nmshd://tr#" + truncated
    assert _decode(reference.url.split("#", 1)[1]) == fragment_text
    assert _decode(reference.truncated) == f"{ID}@{BASE}|{fragment_text}"
    assert "=" not in reference.truncated
    assert "=" not in reference.url.split("#", 1)[1]


def test_plain_truncated_reference_ends_in_two_pipes() -> None:
    assert _decode(PLAIN_REF.truncated) == f"ANID1234@https://backbone.example.com|3|{KEY_TEXT}||"


def test_truncate_address_takes_the_last_four_characters() -> None:
    address = "did:e:example.com:dids:0123456789abcdef001234"
    assert Reference.truncate_address(address) == "1234"
    assert Reference.truncate_address(None) is None
    assert Reference.truncate_address("") is None
    assert Reference(ID, KEY, BASE, Reference.truncate_address(address)).url == Reference(ID, KEY, BASE, "1234").url


def test_password_part_serialization() -> None:
    assert SharedPasswordProtection("pw", SALT).serialize() == "pw&YTE2Ynl0ZXNsb25nc2FsdA=="
    assert SharedPasswordProtection("pw", SALT, 4).serialize() == "pw&YTE2Ynl0ZXNsb25nc2FsdA==&4"
    assert SharedPasswordProtection("pin6", SALT, 0).serialize() == "pin6&YTE2Ynl0ZXNsb25nc2FsdA==&0"
    assert SharedPasswordProtection("pin16", SALT, 99).serialize() == "pin16&YTE2Ynl0ZXNsb25nc2FsdA==&99"


def test_salt_is_standard_base64_with_padding() -> None:
    salt = bytes([0xFB, 0xFF, 0xBF] * 5 + [0xFE])  # encodes with '+' and '/' in standard base64
    part = SharedPasswordProtection("pw", salt).serialize()
    assert part == "pw&" + b64_encode(salt)
    assert part.endswith("==")
    assert "+" in part and "/" in part
    assert parse_url(Reference(ID, KEY, BASE, None, SharedPasswordProtection("pw", salt)).url).password_protection == (
        SharedPasswordProtection("pw", salt)
    )


def test_reference_without_base_url() -> None:
    reference = Reference(ID, KEY)
    assert _decode(reference.truncated) == f"ANID1234|3|{KEY_TEXT}||"
    with pytest.raises(RefError, match="backbone base URL"):
        _ = reference.url
    assert parse_truncated(reference.truncated) == reference


# --------------------------------------------------------------------------------------------------------------------
# parse -> exact fields


@pytest.mark.parametrize(("reference", "url", "truncated", "fragment_text"), VECTORS)
def test_parse_gives_the_exact_fields(reference: Reference, url: str, truncated: str, fragment_text: str) -> None:
    for parsed in (
        parse_url(url),
        parse_truncated(truncated),
        parse_reference(url),
        parse_reference(truncated),
        parse_reference(LEGACY_QR_PREFIX + truncated),
        parse_reference(f"  {url}\n"),
    ):
        assert parsed == reference
        assert parsed.id == "ANID1234"
        assert parsed.backbone_base_url == "https://backbone.example.com"
        assert parsed.key == KEY
        assert parsed.algorithm == 3


def test_parse_personalised_password_vector_fields() -> None:
    parsed = parse_url(PW4_URL)
    assert parsed.for_identity_truncated == "1234"
    assert parsed.password_protection is not None
    assert parsed.password_protection.password_type == "pw"
    assert parsed.password_protection.salt == b"a16byteslongsalt"
    assert parsed.password_protection.location_indicator == 4
    plain = parse_truncated(PLAIN_TRUNCATED)
    assert plain.for_identity_truncated is None
    assert plain.password_protection is None
    no_indicator = parse_truncated(PW_TRUNCATED)
    assert no_indicator.password_protection == SharedPasswordProtection("pw", SALT, None)


@pytest.mark.parametrize(
    ("password_type", "indicator"),
    [("pin4", None), ("pin9", 0), ("pin10", 50), ("pin16", 99), ("pw", 6), ("pw", 1)],
)
def test_parse_pin_types_and_indicators(password_type: str, indicator: int | None) -> None:
    reference = Reference(ID, KEY, BASE, "abcd", SharedPasswordProtection(password_type, SALT, indicator))
    assert parse_url(reference.url) == reference
    assert parse_truncated(reference.truncated) == reference


def test_parse_upstream_url_with_app_id() -> None:
    # Reference.toUrl("eu.enmeshed.app") in @nmshd/core-types
    url = PLAIN_URL.replace("/r/ANID1234#", "/r/ANID1234?app=eu.enmeshed.app#")
    assert parse_url(url) == PLAIN_REF
    assert parse_reference(url) == PLAIN_REF


def test_parse_base_url_with_port_and_path() -> None:
    for base in ("http://127.0.0.1:3000/backbone", "https://api.example.org:8443/prod/backbone", "http://localhost:1"):
        reference = Reference("TOKabcdefghij0123456", KEY, base, "9f0e")
        assert reference.url.startswith(base + "/r/TOKabcdefghij0123456#")
        assert parse_url(reference.url) == reference
        assert parse_truncated(reference.truncated) == reference


def test_parse_base_url_whose_path_contains_r() -> None:
    reference = Reference("TOK1", KEY, "https://example.org/r/api/r")
    assert reference.url == f"https://example.org/r/api/r/r/TOK1#{_encode(f'3|{KEY_TEXT}||')}"
    assert parse_url(reference.url) == reference


def test_parse_legacy_three_part_truncated_reference() -> None:
    # era A (before runtime PR #284): <id>|<alg>|<key>, no base URL, no personalisation, no password
    parsed = parse_truncated(_encode(f"TOKabcdefghij0123456|3|{KEY_TEXT}"))
    assert parsed == Reference("TOKabcdefghij0123456", KEY)
    assert parse_reference(LEGACY_QR_PREFIX + _encode(f"TOKabcdefghij0123456|3|{KEY_TEXT}")) == parsed


def test_parse_accepts_padded_base64url() -> None:
    padded = PW_TRUNCATED + "=" * (-len(PW_TRUNCATED) % 4)
    assert padded != PW_TRUNCATED
    assert parse_truncated(padded) == PW_REF


def test_parse_trailing_ampersand_in_password_part_like_upstream() -> None:
    parsed = parse_truncated(_truncated(f"3|{KEY_TEXT}||pw&{SALT_B64}&"))
    assert parsed.password_protection == SharedPasswordProtection("pw", SALT, None)


# --------------------------------------------------------------------------------------------------------------------
# malformed input: always ReferenceError with a message naming the problem

VALID_SECRET = f"3|{KEY_TEXT}||"

MALFORMED_TRUNCATED = [
    # (decoded text or None for raw, raw string, expected message fragment)
    pytest.param("!!!!", "not base64url", id="bad-base64url-chars"),
    pytest.param("QU5JRD+/", "not base64url", id="standard-base64-alphabet"),
    pytest.param("A", "not base64url", id="impossible-length"),
    pytest.param("QU5J=RA", "not base64url", id="inner-padding"),
    pytest.param(b64url_encode(b"\xff\xfe\x00|3|"), "not base64url-encoded UTF-8", id="not-utf8"),
    pytest.param(_encode(ID), "3 or 5 parts", id="one-part"),
    pytest.param(_encode(f"{ID}|3"), "3 or 5 parts", id="two-parts"),
    pytest.param(_encode(f"{ID}@{BASE}|3|{KEY_TEXT}|"), "3 or 5 parts", id="four-parts"),
    pytest.param(_encode(f"{ID}@{BASE}|3|{KEY_TEXT}|||"), "3 or 5 parts", id="six-parts"),
    pytest.param(_truncated(f"1|{KEY_TEXT}||"), "algorithm must be 3", id="alg-1"),
    pytest.param(_truncated(f"2|{KEY_TEXT}||"), "algorithm must be 3", id="alg-2"),
    pytest.param(_truncated(f"03|{KEY_TEXT}||"), "algorithm must be 3", id="alg-03"),
    pytest.param(_truncated(f"x|{KEY_TEXT}||"), "algorithm must be 3", id="alg-x"),
    pytest.param(_truncated(f"|{KEY_TEXT}||"), "algorithm must be 3", id="alg-empty"),
    pytest.param(_truncated(f"3|{KEY_TEXT[:-1]}||"), "secret key must be 32 bytes", id="short-key-31"),
    pytest.param(_truncated(f"3|{b64url_encode(KEY + b'x')}||"), "secret key must be 32 bytes", id="long-key-33"),
    pytest.param(_truncated("3|||"), "secret key must be 32 bytes", id="empty-key"),
    pytest.param(_truncated(f"3|{b64_encode(KEY)}||"), "secret key is not base64url", id="key-padded-std-b64"),
    pytest.param(_truncated(f"3|{KEY_TEXT[:-1]}+||"), "secret key is not base64url", id="key-with-plus"),
    pytest.param(_truncated(f"3|{KEY_TEXT}|123|"), "personalisation", id="forIdentity-3-chars"),
    pytest.param(_truncated(f"3|{KEY_TEXT}|12345|"), "personalisation", id="forIdentity-5-chars"),
    pytest.param(_truncated(f"3|{KEY_TEXT}|ABCD|"), "personalisation", id="forIdentity-uppercase"),
    pytest.param(_truncated(f"3|{KEY_TEXT}|wxyz|"), "personalisation", id="forIdentity-not-hex"),
    pytest.param(_truncated(f"3|{KEY_TEXT}||pw"), "password part must be", id="pw-without-salt"),
    pytest.param(_truncated(f"3|{KEY_TEXT}||pw&{SALT_B64}&4&x"), "password part must be", id="pw-four-pieces"),
    pytest.param(_truncated(f"3|{KEY_TEXT}||pw&YTE2Ynl0ZXNsb25nc2FsdA"), "salt is not base64", id="salt-unpadded"),
    pytest.param(_truncated(f"3|{KEY_TEXT}||pw&YTE2Ynl0ZXNsb25nc2FsdA="), "salt is not base64", id="salt-short-pad"),
    pytest.param(
        _truncated(f"3|{KEY_TEXT}||pw&-_E2Ynl0ZXNsb25nc2FsdA=="), "salt is not base64", id="salt-url-alphabet"
    ),
    pytest.param(_truncated(f"3|{KEY_TEXT}||pw&YTE2 nl0ZXNsb25nc2FsdA=="), "salt is not base64", id="salt-space"),
    pytest.param(_truncated(f"3|{KEY_TEXT}||pw&"), "salt must be 16 bytes", id="salt-empty"),
    pytest.param(_truncated(f"3|{KEY_TEXT}||pw&{b64_encode(SALT[:15])}"), "salt must be 16 bytes", id="salt-15"),
    pytest.param(_truncated(f"3|{KEY_TEXT}||pw&{b64_encode(SALT + b'x')}"), "salt must be 16 bytes", id="salt-17"),
    pytest.param(_truncated(f"3|{KEY_TEXT}||pin3&{SALT_B64}"), "password type", id="type-pin3"),
    pytest.param(_truncated(f"3|{KEY_TEXT}||pin17&{SALT_B64}"), "password type", id="type-pin17"),
    pytest.param(_truncated(f"3|{KEY_TEXT}||pin04&{SALT_B64}"), "password type", id="type-pin04"),
    pytest.param(_truncated(f"3|{KEY_TEXT}||pin&{SALT_B64}"), "password type", id="type-pin"),
    pytest.param(_truncated(f"3|{KEY_TEXT}||PW&{SALT_B64}"), "password type", id="type-PW"),
    pytest.param(_truncated(f"3|{KEY_TEXT}||password&{SALT_B64}"), "password type", id="type-password"),
    pytest.param(_truncated(f"3|{KEY_TEXT}||&{SALT_B64}"), "password type", id="type-empty"),
    pytest.param(
        _truncated(f"3|{KEY_TEXT}||pw&{SALT_B64}&100"), "indicator must be a number from 0 to 99", id="ind-100"
    ),
    pytest.param(
        _truncated(f"3|{KEY_TEXT}||pw&{SALT_B64}&-1"), "indicator must be a number from 0 to 99", id="ind-neg"
    ),
    pytest.param(_truncated(f"3|{KEY_TEXT}||pw&{SALT_B64}&x"), "indicator must be a number from 0 to 99", id="ind-x"),
    pytest.param(_truncated(f"3|{KEY_TEXT}||pw&{SALT_B64}&4.0"), "indicator must be a number", id="ind-float"),
    pytest.param(_truncated(f"3|{KEY_TEXT}||pw&{SALT_B64}&+4"), "indicator must be a number", id="ind-plus"),
    pytest.param(_truncated(f"3|{KEY_TEXT}||pw&{SALT_B64}& 4"), "indicator must be a number", id="ind-space"),
    pytest.param(_truncated(f"3|{KEY_TEXT}||pw&{SALT_B64}&\u0664"), "indicator must be a number", id="ind-arabic-4"),
    pytest.param(_truncated(VALID_SECRET, head=f"AN-ID@{BASE}"), "id must consist of letters and digits", id="id-dash"),
    pytest.param(_truncated(VALID_SECRET, head=f"@{BASE}"), "id must consist of letters and digits", id="id-empty"),
    pytest.param(_truncated(VALID_SECRET, head="ÄNID"), "id must consist of letters and digits", id="id-umlaut"),
    pytest.param(_truncated(VALID_SECRET, head=f"{ID}@ftp://x.example"), "http(s) URL", id="base-ftp"),
    pytest.param(_truncated(VALID_SECRET, head=f"{ID}@backbone.example.com"), "http(s) URL", id="base-no-scheme"),
    pytest.param(_truncated(VALID_SECRET, head=f"{ID}@https://"), "http(s) URL", id="base-scheme-only"),
    pytest.param(_truncated(VALID_SECRET, head=f"{ID}@https://a b"), "http(s) URL", id="base-space"),
    pytest.param(_truncated(VALID_SECRET, head=f"{ID}@https://a#b"), "http(s) URL", id="base-hash"),
]


@pytest.mark.parametrize(("text", "message"), MALFORMED_TRUNCATED)
def test_malformed_truncated_reference_raises_reference_error(text: str, message: str) -> None:
    with pytest.raises(RefError, match=re.escape(message)) as info:
        parse_truncated(text)
    assert type(info.value) is RefError
    with pytest.raises(RefError, match=re.escape(message)):
        parse_reference(text)
    with pytest.raises(RefError, match=re.escape(message)):
        parse_reference(LEGACY_QR_PREFIX + text)


MALFORMED_URLS = [
    pytest.param("https://backbone.example.com", "looks like", id="no-r-path"),
    pytest.param("https://backbone.example.com/r/", "looks like", id="no-id"),
    pytest.param(f"https://backbone.example.com/r/#{_encode(VALID_SECRET)}", "looks like", id="empty-id"),
    pytest.param("https://backbone.example.com/r/ANID1234", "looks like", id="no-fragment"),
    pytest.param("https://backbone.example.com/r/ANID1234#", "looks like", id="empty-fragment"),
    pytest.param(f"https://backbone.example.com/r/AN-ID#{_encode(VALID_SECRET)}", "looks like", id="id-dash"),
    pytest.param(
        f"https://backbone.example.com/r/ANID1234/#{_encode(VALID_SECRET)}", "looks like", id="slash-after-id"
    ),
    pytest.param(f"https://backbone.example.com/x/ANID1234#{_encode(VALID_SECRET)}", "looks like", id="not-r"),
    pytest.param(
        f"https://backbone.example.com/r/ANID1234?x=1#{_encode(VALID_SECRET)}", "looks like", id="other-query"
    ),
    pytest.param(f"https://backbone.example.com/r/ANID1234?app=#{_encode(VALID_SECRET)}", "looks like", id="empty-app"),
    pytest.param(f"https://backbone.example.com/r/ANID1234#{_encode(VALID_SECRET)}=", "looks like", id="padded-frag"),
    pytest.param(f"https://backbone.example.com/r/ANID1234#{b64_encode(b'3|' + KEY)}", "looks like", id="std-b64-frag"),
    pytest.param(f"https://backbone.example.com/r/ANID1234#{_encode(VALID_SECRET)}#x", "looks like", id="two-hashes"),
    pytest.param(f"https://back bone.example.com/r/ANID1234#{_encode(VALID_SECRET)}", "looks like", id="space-in-host"),
    pytest.param(f"ftp://backbone.example.com/r/ANID1234#{_encode(VALID_SECRET)}", "looks like", id="ftp"),
    pytest.param(f"httpx://backbone.example.com/r/ANID1234#{_encode(VALID_SECRET)}", "looks like", id="httpx"),
    pytest.param(f"https:/backbone.example.com/r/ANID1234#{_encode(VALID_SECRET)}", "looks like", id="one-slash"),
    pytest.param("https://backbone.example.com/r/ANID1234#A", "not base64url", id="frag-impossible-length"),
    pytest.param("https://backbone.example.com/r/ANID1234#" + b64url_encode(b"3|\xff"), "UTF-8", id="frag-not-utf8"),
    pytest.param(_url(f"{ID}@{BASE}|{VALID_SECRET}"), "4 parts", id="truncated-in-fragment"),
    pytest.param(_url(f"3|{KEY_TEXT}|"), "4 parts", id="three-parts"),
    pytest.param(_url(f"3|{KEY_TEXT}"), "4 parts", id="two-parts"),
    pytest.param(_url(f"3|{KEY_TEXT}||pw&{SALT_B64}|"), "4 parts", id="five-parts"),
    pytest.param(_url(f"2|{KEY_TEXT}||"), "algorithm must be 3", id="alg-2"),
    pytest.param(_url(f"3|{KEY_TEXT[:-3]}||"), "secret key must be 32 bytes", id="short-key-30"),
    pytest.param(_url(f"3|{KEY_TEXT[:-2]}||"), "secret key is not base64url", id="key-impossible-length"),
    pytest.param(_url(f"3|{KEY_TEXT}|1234|pin2&{SALT_B64}"), "password type", id="type-pin2"),
    pytest.param(_url(f"3|{KEY_TEXT}|1234|pw&{SALT_B64}&123"), "indicator", id="ind-123"),
    pytest.param(_url(f"3|{KEY_TEXT}|1234|pw&c2FsdA=="), "salt must be 16 bytes", id="salt-4-bytes"),
    pytest.param(_url(f"3|{KEY_TEXT}|1234|pw&c2FsdA"), "salt is not base64", id="salt-unpadded"),
]


@pytest.mark.parametrize(("text", "message"), MALFORMED_URLS)
def test_malformed_url_reference_raises_reference_error(text: str, message: str) -> None:
    with pytest.raises(RefError, match=re.escape(message)) as info:
        parse_url(text)
    assert type(info.value) is RefError
    if text.startswith(("http://", "https://")):
        with pytest.raises(RefError, match=re.escape(message)):
            parse_reference(text)


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("", id="empty"),
        pytest.param("   \n\t", id="whitespace"),
        pytest.param("nmshd://tr#", id="legacy-prefix-only"),
        pytest.param("nmshd://tr#!!", id="legacy-junk"),
        pytest.param("nmshd://qr#" + PLAIN_TRUNCATED, id="legacy-wrong-prefix"),
        pytest.param("https://", id="scheme-only"),
        pytest.param("http://localhost/r/ANID1234#%%%", id="url-junk-fragment"),
        pytest.param("HTTPS://BACKBONE.EXAMPLE.COM/r/ANID1234#" + _encode(VALID_SECRET), id="uppercase-scheme"),
        pytest.param("mailto:someone@example.com", id="mailto"),
        pytest.param("javascript:alert(1)", id="javascript"),
        pytest.param("TOKabcdefghij0123456", id="bare-token-id"),
        pytest.param("did:e:example.com:dids:0123456789abcdef001234", id="address"),
        pytest.param(PLAIN_TRUNCATED + "=====", id="too-much-padding"),
        pytest.param(PLAIN_TRUNCATED + "!", id="trailing-junk"),
        pytest.param(PLAIN_TRUNCATED[:-1], id="cut-short"),
        pytest.param("x" * 5000, id="too-long"),
        pytest.param(PLAIN_URL + "A" * 5000, id="too-long-url"),
        pytest.param("\x00", id="nul"),
        pytest.param("\ud800", id="lone-surrogate"),
    ],
)
def test_junk_raises_reference_error(text: str) -> None:
    with pytest.raises(RefError) as info:
        parse_reference(text)
    assert type(info.value) is RefError
    assert str(info.value)


@pytest.mark.parametrize("value", [None, 123, 1.5, b"QU5JRA", ["x"], {"url": PLAIN_URL}, object()])
def test_non_string_raises_reference_error(value: object) -> None:
    with pytest.raises(RefError, match="non-empty string"):
        parse_reference(value)


@pytest.mark.parametrize("value", [None, 123, PLAIN_TRUNCATED.encode()])
def test_parse_truncated_rejects_non_strings(value: object) -> None:
    with pytest.raises(RefError):
        parse_truncated(value)  # type: ignore[arg-type]


@pytest.mark.parametrize("value", [None, 123, PLAIN_URL.encode()])
def test_parse_url_rejects_non_strings(value: object) -> None:
    with pytest.raises(RefError):
        parse_url(value)  # type: ignore[arg-type]


def test_too_long_message() -> None:
    with pytest.raises(RefError, match="too long"):
        parse_reference("A" * 4097)


def test_reference_error_is_a_value_error_not_the_builtin() -> None:
    assert issubclass(RefError, ValueError)
    assert RefError is not builtins.ReferenceError


# --------------------------------------------------------------------------------------------------------------------
# constructing invalid references


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"id": "AN-ID"}, "id must consist"),
        ({"id": ""}, "id must consist"),
        ({"key": b"x" * 31}, "32 bytes"),
        ({"key": b"x" * 33}, "32 bytes"),
        ({"for_identity_truncated": "ABCD"}, "personalisation"),
        ({"for_identity_truncated": "12345"}, "personalisation"),
        ({"for_identity_truncated": ""}, "personalisation"),
    ],
)
def test_invalid_reference_fields(kwargs: dict[str, object], message: str) -> None:
    fields: dict[str, object] = {"id": ID, "key": KEY, "backbone_base_url": BASE}
    fields.update(kwargs)
    with pytest.raises(RefError, match=message):
        Reference(**fields)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("pin3", SALT, None), "password type"),
        (("pin17", SALT, None), "password type"),
        (("", SALT, None), "password type"),
        (("pw", SALT[:15], None), "16 bytes"),
        (("pw", SALT + b"!", None), "16 bytes"),
        (("pw", SALT, 100), "0 to 99"),
        (("pw", SALT, -1), "0 to 99"),
    ],
)
def test_invalid_password_protection(args: tuple[str, bytes, int | None], message: str) -> None:
    with pytest.raises(RefError, match=message):
        SharedPasswordProtection(*args)


# --------------------------------------------------------------------------------------------------------------------
# the two base64 flavours the references use


def test_base64_flavours() -> None:
    assert b64url_encode(b"\xfb\xff\xbf") == "-_-_"
    assert b64url_encode(b"a") == "YQ"
    assert b64url_decode("YQ") == b"a"
    assert b64url_decode("YQ==") == b"a"
    assert b64url_decode("") == b""
    assert b64_encode(b"\xfb\xff\xbf") == "+/+/"
    assert b64_encode(b"a") == "YQ=="
    assert b64_decode("YQ==") == b"a"
    assert b64_decode(SALT_B64) == SALT
    assert b64url_decode(KEY_TEXT) == KEY
    assert len(KEY) == 32


@pytest.mark.parametrize("text", ["Y", "+/+/", "YQ===", "Y Q", "ä", "YQ=a", "=YQ"])
def test_b64url_decode_rejects(text: str) -> None:
    with pytest.raises(EncodingError):
        b64url_decode(text)


@pytest.mark.parametrize("text", ["YQ", "YQ=", "-_-_", "YQ===", "Y Q==", "ä", "YQ==YQ=="])
def test_b64_decode_rejects(text: str) -> None:
    with pytest.raises(EncodingError):
        b64_decode(text)


@pytest.mark.parametrize(
    "url",
    [
        pytest.param(_url(VALID_SECRET, base="https://"), id="empty-host"),
        pytest.param(_url(VALID_SECRET, base="https://a|b"), id="pipe-in-host"),
    ],
)
def test_parse_url_rejects_base_urls_the_truncated_form_cannot_carry(url: str) -> None:
    with pytest.raises(RefError):
        parse_url(url)


def test_parse_truncated_rejects_base_urls_the_url_form_cannot_carry() -> None:
    with pytest.raises(RefError):
        parse_truncated(_truncated(VALID_SECRET, head=f"{ID}@https://x.example?a=b"))


@pytest.mark.parametrize(
    ("personalised_for", "address", "intended"),
    [
        (None, None, True),  # anyone, anonymous too, may load an unpersonalised reference
        (None, "did:e:localhost:dids:0123456789abcdef012357", True),
        ("2357", "did:e:localhost:dids:0123456789abcdef012357", True),
        ("2357", "did:e:localhost:dids:0123456789abcdef012358", False),
        ("2357", None, False),  # nobody anonymous may load a personalised one
    ],
)
def test_a_reference_is_intended_for_the_address_ending_in_its_personalisation(
    personalised_for: str | None, address: str | None, intended: bool
) -> None:
    reference = Reference("TOKabcdefghij0123456", KEY, for_identity_truncated=personalised_for)
    assert reference.is_intended_for(address) is intended
