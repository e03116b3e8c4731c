"""Token references: the truncated form and the URL form (enmeshed core-types `Reference`)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from .algorithms import KEY_BYTES, SALT_BYTES, XCHACHA20_POLY1305
from .encoding import EncodingError, b64_decode, b64_encode, b64url_decode, b64url_encode

LEGACY_QR_PREFIX = "nmshd://tr#"


_PASSWORD_TYPE_RE = re.compile(r"pw|pin(?:[4-9]|1[0-6])")
_FOR_IDENTITY_TRUNCATED_RE = re.compile(r"[0-9a-f]{4}")
_ID_RE = re.compile(r"[A-Za-z0-9]+")
_INDICATOR_RE = re.compile(r"[0-9]{1,2}")
# A backbone base URL: scheme, a non-empty host[:port], an optional path; none of the reference separators
# ('|', '#', '?'), and no '@', which upstream's truncated-form parser would split at.
_BASE_URL_RE = re.compile(r"https?://[^\s|#?@/]+(?:/[^\s|#?@]*)?")
_URL_RE = re.compile(r"(https?://[^#?\s]*?)/r/([A-Za-z0-9]+)(?:\?app=[^#\s]+)?#([A-Za-z0-9_-]+)")
_MAX_REFERENCE_LENGTH = 4096


class ReferenceError(ValueError):
    """A string is not a valid token reference. The message says which part is wrong."""


@dataclass(frozen=True)
class SharedPasswordProtection:
    """What a peer needs to derive the password hash: never the password itself."""

    password_type: str
    salt: bytes
    location_indicator: int | None = None

    def __post_init__(self) -> None:
        if not _PASSWORD_TYPE_RE.fullmatch(self.password_type):
            raise ReferenceError("the password type must be pw or pin4 … pin16")
        if len(self.salt) != SALT_BYTES:
            raise ReferenceError("the password salt must be 16 bytes")
        if self.location_indicator is not None and not 0 <= self.location_indicator <= 99:
            raise ReferenceError("the password location indicator must be a number from 0 to 99")

    def serialize(self) -> str:
        part = f"{self.password_type}&{b64_encode(self.salt)}"
        if self.location_indicator is not None:
            part += f"&{self.location_indicator}"
        return part


@dataclass(frozen=True)
class Reference:
    id: str
    key: bytes
    backbone_base_url: str | None = None
    for_identity_truncated: str | None = None
    password_protection: SharedPasswordProtection | None = None
    algorithm: int = XCHACHA20_POLY1305

    def __post_init__(self) -> None:
        if not _ID_RE.fullmatch(self.id):
            raise ReferenceError("the id must consist of letters and digits")
        if len(self.key) != KEY_BYTES:
            raise ReferenceError("the secret key must be 32 bytes")
        if self.backbone_base_url is not None and not is_backbone_base_url(self.backbone_base_url):
            raise ReferenceError("the backbone base URL must be an http(s) URL without '|', '#', '?' or '@'")
        if self.for_identity_truncated is not None and not _FOR_IDENTITY_TRUNCATED_RE.fullmatch(
            self.for_identity_truncated
        ):
            raise ReferenceError("the personalisation must be the last 4 hex characters of an address")

    @staticmethod
    def truncate_address(address: str | None) -> str | None:
        return address[-4:] if address else None

    def is_intended_for(self, address: str | None) -> bool:
        """The peer's check (the upstream transport's notIntendedForYou): a personalised reference names the last
        4 characters of its identity's address; anyone may load an unpersonalised one, nobody anonymous (None)
        a personalised one."""
        if not self.for_identity_truncated:
            return True
        return address is not None and address.endswith(self.for_identity_truncated)

    def _secret_parts(self) -> str:
        return "|".join(
            (
                str(self.algorithm),
                b64url_encode(self.key),
                self.for_identity_truncated or "",
                self.password_protection.serialize() if self.password_protection else "",
            )
        )

    @property
    def truncated(self) -> str:
        head = f"{self.id}@{self.backbone_base_url}" if self.backbone_base_url else self.id
        return b64url_encode(f"{head}|{self._secret_parts()}".encode())

    @property
    def url(self) -> str:
        if not self.backbone_base_url:
            raise ReferenceError("a URL reference needs a backbone base URL")
        return f"{self.backbone_base_url}/r/{self.id}#{b64url_encode(self._secret_parts().encode())}"

    @property
    def legacy_qr_payload(self) -> str:
        return LEGACY_QR_PREFIX + self.truncated


def is_backbone_base_url(value: str) -> bool:
    return _BASE_URL_RE.fullmatch(value) is not None


def _decode_text(encoded: str, what: str) -> str:
    try:
        return b64url_decode(encoded).decode("utf-8")
    except (EncodingError, UnicodeDecodeError) as exc:
        raise ReferenceError(f"the {what} is not base64url-encoded UTF-8") from exc


def _parse_password_part(part: str) -> SharedPasswordProtection | None:
    if part == "":
        return None
    pieces = part.split("&")
    if len(pieces) == 3 and pieces[2] == "":
        pieces.pop()  # runtimes before nmshd/runtime#742 wrote a trailing '&' when no indicator was set
    if len(pieces) not in (2, 3):
        raise ReferenceError("the password part must be <type>&<salt>[&<indicator>]")
    try:
        salt = b64_decode(pieces[1])
    except EncodingError as exc:
        raise ReferenceError("the password salt is not base64") from exc
    indicator: int | None = None
    if len(pieces) == 3:
        if not _INDICATOR_RE.fullmatch(pieces[2]):
            raise ReferenceError("the password location indicator must be a number from 0 to 99")
        indicator = int(pieces[2])
    return SharedPasswordProtection(pieces[0], salt, indicator)


def _parse_secret_parts(parts: list[str], reference_id: str, backbone_base_url: str | None) -> Reference:
    algorithm_text, key_text = parts[0], parts[1]
    if algorithm_text != str(XCHACHA20_POLY1305):
        raise ReferenceError("the key algorithm must be 3 (XChaCha20-Poly1305)")
    try:
        key = b64url_decode(key_text)
    except EncodingError as exc:
        raise ReferenceError("the secret key is not base64url") from exc
    for_identity = parts[2] if len(parts) > 2 and parts[2] else None
    password = _parse_password_part(parts[3]) if len(parts) > 3 else None
    return Reference(reference_id, key, backbone_base_url, for_identity, password)


def parse_truncated(text: str) -> Reference:
    """Parse `base64url(<id>[@<base>]|<alg>|<key>[|<forIdentityTruncated>|<passwordPart>])`."""
    parts = _decode_text(text, "truncated reference").split("|")
    if len(parts) not in (3, 5):
        raise ReferenceError("a truncated reference has 3 or 5 parts separated by '|'")
    reference_id, _, base = parts[0].partition("@")
    return _parse_secret_parts(parts[1:], reference_id, base or None)


def parse_url(text: str) -> Reference:
    """Parse `<base>/r/<id>[?app=…]#base64url(<alg>|<key>|<forIdentityTruncated>|<passwordPart>)`."""
    if not isinstance(text, str):
        raise ReferenceError("a URL reference must be a string")
    match = _URL_RE.fullmatch(text)
    if not match:
        raise ReferenceError("a URL reference looks like <backbone>/r/<id>#<secret>")
    base, reference_id, secret = match.groups()
    parts = _decode_text(secret, "URL fragment").split("|")
    if len(parts) != 4:
        raise ReferenceError("the URL fragment has 4 parts separated by '|'")
    return _parse_secret_parts(parts, reference_id, base)


def parse_reference(text: object) -> Reference:
    """Parse any form a peer may hold: URL, truncated, or the legacy `nmshd://tr#<truncated>` QR payload."""
    if not isinstance(text, str) or not text.strip():
        raise ReferenceError("a reference must be a non-empty string")
    text = text.strip()
    if len(text) > _MAX_REFERENCE_LENGTH:
        raise ReferenceError("the reference is too long")
    if text.startswith(LEGACY_QR_PREFIX):
        return parse_truncated(text[len(LEGACY_QR_PREFIX) :])
    if text.startswith(("http://", "https://")):
        return parse_url(text)
    return parse_truncated(text)
