"""Token crypto, byte-compatible with @nmshd/crypto (libsodium through PyNaCl)."""

from __future__ import annotations

import json

import nacl.exceptions
import nacl.pwhash
import nacl.utils
from nacl.bindings import (
    crypto_aead_xchacha20poly1305_ietf_ABYTES,
    crypto_aead_xchacha20poly1305_ietf_decrypt,
    crypto_aead_xchacha20poly1305_ietf_encrypt,
    crypto_aead_xchacha20poly1305_ietf_NPUBBYTES,
)

from .algorithms import KEY_BYTES, SALT_BYTES, XCHACHA20_POLY1305
from .encoding import EncodingError, b64url_decode, b64url_encode

PASSWORD_HASH_BYTES = 32
ARGON2_OPSLIMIT = 3
ARGON2_MEMLIMIT = 20 * 1024 * 1024


class CryptoError(ValueError):
    """A cipher could not be read or decrypted."""


def generate_key() -> bytes:
    return nacl.utils.random(KEY_BYTES)


def generate_salt() -> bytes:
    return nacl.utils.random(SALT_BYTES)


def encrypt_content(plaintext: bytes, key: bytes) -> str:
    """Encrypt and serialise as base64url of the CryptoCipher JSON, as the Backbone stores token content."""
    if len(key) != KEY_BYTES:
        raise CryptoError("the key must be 32 bytes")
    nonce = nacl.utils.random(crypto_aead_xchacha20poly1305_ietf_NPUBBYTES)
    ciphertext = crypto_aead_xchacha20poly1305_ietf_encrypt(plaintext, None, nonce, key)
    cipher = {
        "cph": b64url_encode(ciphertext),
        "alg": XCHACHA20_POLY1305,
        "nnc": b64url_encode(nonce),
        "@type": "CryptoCipher",
    }
    return b64url_encode(json.dumps(cipher, separators=(",", ":")).encode("utf-8"))


def decrypt_content(serialized_cipher: str, key: bytes) -> bytes:
    """Inverse of `encrypt_content`; every malformed input raises CryptoError."""
    try:
        cipher = json.loads(b64url_decode(serialized_cipher))
        if not isinstance(cipher, dict) or cipher.get("alg") != XCHACHA20_POLY1305:
            raise CryptoError("unsupported cipher")
        ciphertext = b64url_decode(cipher["cph"])
        nonce = b64url_decode(cipher["nnc"])
    except (EncodingError, KeyError, TypeError, ValueError) as exc:
        if isinstance(exc, CryptoError):
            raise
        raise CryptoError("malformed cipher") from exc
    if (
        len(nonce) != crypto_aead_xchacha20poly1305_ietf_NPUBBYTES
        or len(key) != KEY_BYTES
        or len(ciphertext) < crypto_aead_xchacha20poly1305_ietf_ABYTES  # shorter than the tag
    ):
        raise CryptoError("malformed cipher")
    try:
        return bytes(crypto_aead_xchacha20poly1305_ietf_decrypt(ciphertext, None, nonce, key))
    except (nacl.exceptions.CryptoError, ValueError) as exc:
        raise CryptoError("the content could not be decrypted with this key") from exc


def derive_password_hash(password: str, salt: bytes) -> bytes:
    """Argon2id v1.3, opslimit 3, 20 MiB, 32 bytes: what the enmeshed client sends to the Backbone."""
    if len(salt) != SALT_BYTES:
        raise CryptoError("the salt must be 16 bytes")
    return bytes(
        nacl.pwhash.argon2id.kdf(
            PASSWORD_HASH_BYTES,
            password.encode("utf-8"),
            salt,
            opslimit=ARGON2_OPSLIMIT,
            memlimit=ARGON2_MEMLIMIT,
        )
    )
