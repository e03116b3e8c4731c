"""SPEC §5 crypto: token content cipher (XChaCha20-Poly1305 CryptoCipher) and the Argon2id password hash.

The fixed ciphers below were written by @nmshd/crypto 2.1.3 (`CryptoEncryption.encrypt(...).toBase64()`), so these
tests check that we read upstream output even where node is not installed.
"""

from __future__ import annotations

import json

import pytest
from nmshd_tokens.domain import crypto
from nmshd_tokens.domain.algorithms import secrets_equal
from nmshd_tokens.domain.crypto import (
    CryptoError,
    decrypt_content,
    derive_password_hash,
    encrypt_content,
    generate_key,
    generate_salt,
)
from nmshd_tokens.domain.encoding import b64_encode, b64url_decode, b64url_encode

KEY = b64url_decode("lerJyX8ydJDEXowq2PMMntRXXA27wgHJYA_BjnFx55Y")

# @nmshd/crypto: CryptoEncryption.encrypt(CoreBuffer.fromUtf8("hi"), key).toBase64()
UPSTREAM_CIPHER_HI = (
    "eyJjcGgiOiJZNTRqN2xCbktzbVc3c3ZWU3NTNTI1dTgiLCJhbGciOjMsIm5uYyI6Img5UTRBZHdNd0pCc3hUV3JVbkotemFPNXpMMU5ITW1E"
    "IiwiQHR5cGUiOiJDcnlwdG9DaXBoZXIifQ"
)
# ... of the empty plaintext
UPSTREAM_CIPHER_EMPTY = (
    "eyJjcGgiOiJkc0p5clVOeHdPOUlHZXhMREg4bE13IiwiYWxnIjozLCJubmMiOiJxMU5SeHk4ZkY1OW8yR0RuRzlJamw4aGh1TXlhOF9RMyIs"
    "IkB0eXBlIjoiQ3J5cHRvQ2lwaGVyIn0"
)
# ... of a TokenContentFile
UPSTREAM_CONTENT = (
    b'{"@type":"TokenContentFile","fileId":"FILabcdefghij0123456",'
    b'"secretKey":{"key":"lerJyX8ydJDEXowq2PMMntRXXA27wgHJYA_BjnFx55Y","alg":3}}'
)
UPSTREAM_CIPHER_CONTENT = (
    "eyJjcGgiOiJnRTNvay1Ga2U4ZjJrdVk5QXFIaUZEZjZ0TEJlc1VWT2RRbDhsV1J2ZGtzQWRrN092b0pZYzJnZHBocDViRW5zd0NJTFF5MS1F"
    "Q3EtTFotZ3V6NWpfRDdGbnROT3lEci1YbFBKSVFlWkZjRHgzbXhVRElLZ0xBRmJSTVJiYnZFamJmbF9HdlhiMDV4QTZuNm9NZVplZ1BWZVps"
    "R29BZnd1M0xMS1VGT3Z0SlN0NnBIN244dzNZU0Z3R1B4RDlBbVVNb3ZNVW9TXyIsImFsZyI6Mywibm5jIjoiaUF3MG9aQWRLYzdIak1nay1n"
    "c1Q2dldON1FfQldtOHYiLCJAdHlwZSI6IkNyeXB0b0NpcGhlciJ9"
)


def _cipher_json(serialized: str) -> dict[str, object]:
    value = json.loads(b64url_decode(serialized))
    assert isinstance(value, dict)
    return value


def _serialize(cipher: object) -> str:
    return b64url_encode(json.dumps(cipher, separators=(",", ":")).encode())


# --------------------------------------------------------------------------------------------------------------------
# Argon2id


def test_argon2id_spec_vector() -> None:
    digest = derive_password_hash("password", b"a16byteslongsalt")
    assert b64_encode(digest) == "ekuqHFfmPl4WctZWzhqJQx/m0A0aS0JeQF1vAVsbuZA="
    assert len(digest) == 32


def test_argon2id_parameters_are_the_runtime_ones() -> None:
    assert crypto.ARGON2_OPSLIMIT == 3
    assert crypto.ARGON2_MEMLIMIT == 20 * 1024 * 1024
    assert crypto.PASSWORD_HASH_BYTES == 32
    assert crypto.SALT_BYTES == 16


def test_argon2id_depends_on_password_and_salt() -> None:
    salt = b"a16byteslongsalt"
    base = derive_password_hash("password", salt)
    assert derive_password_hash("password", salt) == base
    assert derive_password_hash("Password", salt) != base
    assert derive_password_hash("password", b"a16byteslongsalT") != base


def test_argon2id_hashes_the_utf8_password() -> None:
    salt = b"0123456789abcdef"
    assert derive_password_hash("pässwörd🔑", salt) != derive_password_hash("passwrd", salt)
    # NFC and NFD spellings are different UTF-8 byte strings, hence different hashes (no normalisation, like upstream)
    assert derive_password_hash("\u00e4", salt) != derive_password_hash("a\u0308", salt)


@pytest.mark.parametrize("salt", [b"", b"x" * 15, b"x" * 17, b"x" * 32])
def test_argon2id_rejects_salts_that_are_not_16_bytes(salt: bytes) -> None:
    with pytest.raises(CryptoError, match="16 bytes"):
        derive_password_hash("password", salt)


# --------------------------------------------------------------------------------------------------------------------
# keys, salts, comparisons


def test_generate_key_and_salt() -> None:
    keys = {generate_key() for _ in range(20)}
    salts = {generate_salt() for _ in range(20)}
    assert len(keys) == 20 and all(len(key) == 32 for key in keys)
    assert len(salts) == 20 and all(len(salt) == 16 for salt in salts)


def test_secrets_equal() -> None:
    assert secrets_equal(b"abc", b"abc")
    assert not secrets_equal(b"abc", b"abd")
    assert not secrets_equal(b"abc", b"abcd")
    assert secrets_equal(b"", b"")


# --------------------------------------------------------------------------------------------------------------------
# cipher layout


def test_cipher_layout_is_the_upstream_crypto_cipher() -> None:
    serialized = encrypt_content(b"hello", KEY)
    assert "=" not in serialized and "+" not in serialized and "/" not in serialized
    text = b64url_decode(serialized).decode("utf-8")
    cipher = json.loads(text)
    assert list(cipher) == ["cph", "alg", "nnc", "@type"]  # CryptoCipher.toJSON() order
    assert text == json.dumps(cipher, separators=(",", ":"))  # compact, like JSON.stringify
    assert cipher["alg"] == 3
    assert cipher["@type"] == "CryptoCipher"
    assert len(b64url_decode(cipher["nnc"])) == 24
    assert len(b64url_decode(cipher["cph"])) == len(b"hello") + 16
    assert "=" not in cipher["cph"] + cipher["nnc"]


def test_cipher_layout_matches_an_upstream_cipher() -> None:
    ours = _cipher_json(encrypt_content(b"hi", KEY))
    theirs = _cipher_json(UPSTREAM_CIPHER_HI)
    assert list(ours) == list(theirs)
    assert {key: type(value) for key, value in ours.items()} == {key: type(value) for key, value in theirs.items()}


def test_every_encryption_uses_a_fresh_nonce() -> None:
    nonces = {_cipher_json(encrypt_content(b"same", KEY))["nnc"] for _ in range(50)}
    assert len(nonces) == 50


# --------------------------------------------------------------------------------------------------------------------
# round trips and upstream vectors


@pytest.mark.parametrize(
    "plaintext",
    [b"", b"x", UPSTREAM_CONTENT, "äöü 🔑 \u2028".encode(), bytes(range(256)), b"\x00" * 70000],
)
def test_encrypt_decrypt_round_trip(plaintext: bytes) -> None:
    key = generate_key()
    assert decrypt_content(encrypt_content(plaintext, key), key) == plaintext


@pytest.mark.parametrize(
    ("cipher", "plaintext"),
    [
        (UPSTREAM_CIPHER_HI, b"hi"),
        (UPSTREAM_CIPHER_EMPTY, b""),
        (UPSTREAM_CIPHER_CONTENT, UPSTREAM_CONTENT),
    ],
)
def test_decrypt_upstream_ciphers(cipher: str, plaintext: bytes) -> None:
    assert decrypt_content(cipher, KEY) == plaintext


def test_decrypt_with_the_wrong_key_fails() -> None:
    with pytest.raises(CryptoError, match="could not be decrypted"):
        decrypt_content(UPSTREAM_CIPHER_HI, generate_key())


def test_decrypt_tampered_cipher_fails() -> None:
    cipher = _cipher_json(UPSTREAM_CIPHER_CONTENT)
    raw = bytearray(b64url_decode(str(cipher["cph"])))
    for index in (0, len(raw) // 2, len(raw) - 1):  # content and tag
        tampered = bytearray(raw)
        tampered[index] ^= 0x01
        with pytest.raises(CryptoError, match="could not be decrypted"):
            decrypt_content(_serialize({**cipher, "cph": b64url_encode(bytes(tampered))}), KEY)
    nonce = bytearray(b64url_decode(str(cipher["nnc"])))
    nonce[0] ^= 0x80
    with pytest.raises(CryptoError, match="could not be decrypted"):
        decrypt_content(_serialize({**cipher, "nnc": b64url_encode(bytes(nonce))}), KEY)


# --------------------------------------------------------------------------------------------------------------------
# malformed ciphers and keys: CryptoError only

GOOD = _cipher_json(UPSTREAM_CIPHER_HI)

MALFORMED = [
    pytest.param("!!!", id="not-base64url"),
    pytest.param("", id="empty"),
    pytest.param(b64url_encode(b"not json"), id="not-json"),
    pytest.param(b64url_encode(b"\xff\xfe"), id="not-utf8"),
    pytest.param(_serialize(None), id="null"),
    pytest.param(_serialize([GOOD]), id="list"),
    pytest.param(_serialize("x"), id="string"),
    pytest.param(_serialize(3), id="number"),
    pytest.param(_serialize({**GOOD, "alg": 2}), id="alg-2"),
    pytest.param(_serialize({**GOOD, "alg": 1}), id="alg-1"),
    pytest.param(_serialize({**GOOD, "alg": "3"}), id="alg-string"),
    pytest.param(_serialize({key: value for key, value in GOOD.items() if key != "alg"}), id="no-alg"),
    pytest.param(_serialize({key: value for key, value in GOOD.items() if key != "cph"}), id="no-cph"),
    pytest.param(_serialize({key: value for key, value in GOOD.items() if key != "nnc"}), id="no-nnc"),
    pytest.param(_serialize({**GOOD, "cph": 1}), id="cph-number"),
    pytest.param(_serialize({**GOOD, "cph": None}), id="cph-null"),
    pytest.param(_serialize({**GOOD, "cph": "a+b/"}), id="cph-std-base64"),
    pytest.param(_serialize({**GOOD, "nnc": None}), id="nnc-null"),
    pytest.param(_serialize({**GOOD, "nnc": b64url_encode(b"n" * 12)}), id="nnc-12-bytes"),
    pytest.param(_serialize({**GOOD, "nnc": b64url_encode(b"n" * 25)}), id="nnc-25-bytes"),
    pytest.param(_serialize({**GOOD, "nnc": "A"}), id="nnc-impossible-length"),
]


@pytest.mark.parametrize("serialized", MALFORMED)
def test_malformed_cipher_raises_crypto_error(serialized: str) -> None:
    with pytest.raises(CryptoError) as info:
        decrypt_content(serialized, KEY)
    assert type(info.value) is CryptoError


@pytest.mark.parametrize("length", [0, 1, 15])
def test_cipher_shorter_than_the_tag_raises_crypto_error(length: int) -> None:
    serialized = _serialize({**GOOD, "cph": b64url_encode(b"c" * length)})
    with pytest.raises(CryptoError):
        decrypt_content(serialized, KEY)


def test_non_string_cipher_raises_crypto_error() -> None:
    for value in (None, 3, b"abc"):
        with pytest.raises(CryptoError):
            decrypt_content(value, KEY)  # type: ignore[arg-type]


@pytest.mark.parametrize("key", [b"", b"k" * 16, b"k" * 31, b"k" * 33])
def test_wrong_key_length_raises_crypto_error(key: bytes) -> None:
    with pytest.raises(CryptoError):
        encrypt_content(b"x", key)
    with pytest.raises(CryptoError):
        decrypt_content(UPSTREAM_CIPHER_HI, key)
