"""Base64 flavours used by enmeshed: url-safe without padding, and standard with padding."""

from __future__ import annotations

import base64
import binascii
import re

_B64URL_RE = re.compile(r"[A-Za-z0-9_-]*={0,2}")
_B64STD_RE = re.compile(r"[A-Za-z0-9+/]*={0,2}")


class EncodingError(ValueError):
    """A string is not valid base64 of the expected flavour."""


def b64url_encode(data: bytes) -> str:
    """RFC 4648 §5 without padding (what @nmshd/crypto calls utf8_base64 / base64url)."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(text: str) -> bytes:
    """Decode url-safe base64; padding is optional, any other character is an error."""
    if not isinstance(text, str) or not _B64URL_RE.fullmatch(text) or len(text.rstrip("=")) % 4 == 1:
        raise EncodingError("not base64url")
    stripped = text.rstrip("=")
    try:
        return base64.urlsafe_b64decode(stripped + "=" * (-len(stripped) % 4))
    except (binascii.Error, ValueError) as exc:  # pragma: no cover - guarded by the regex
        raise EncodingError("not base64url") from exc


def b64_encode(data: bytes) -> str:
    """Standard base64 with padding."""
    return base64.b64encode(data).decode("ascii")


def b64_decode(text: str) -> bytes:
    """Decode standard base64 with correct padding; anything else is an error."""
    if not isinstance(text, str) or not _B64STD_RE.fullmatch(text) or len(text) % 4 != 0:
        raise EncodingError("not base64")
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise EncodingError("not base64") from exc
