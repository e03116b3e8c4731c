"""What @nmshd/crypto's formats fix (key and salt sizes, the algorithm number) and constant-time comparison.

Nothing here needs libsodium, so the embedded backbone's function (which never encrypts) does not load it.
"""

from __future__ import annotations

import hmac

KEY_BYTES = 32
SALT_BYTES = 16
XCHACHA20_POLY1305 = 3  # CryptoEncryptionAlgorithm.XCHACHA20_POLY1305


def secrets_equal(left: bytes, right: bytes) -> bool:
    """Constant-time comparison for hashes and keys."""
    return hmac.compare_digest(left, right)


def secret_texts_equal(left: str, right: str) -> bool:
    """Constant-time comparison for passwords; surrogatepass: any str a caller managed to send compares (unequal)
    instead of raising."""
    return hmac.compare_digest(left.encode("utf-8", "surrogatepass"), right.encode("utf-8", "surrogatepass"))
