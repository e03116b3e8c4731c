"""The peer side: read a reference (string, URL or QR image), fetch the token from its backbone, decrypt it.

Follows the enmeshed client (`loadPeerTokenByReference`): a protected reference without a password fails
before any request; the password travels only as the Argon2id hash derived with the reference's salt. Errors
carry the upstream client's codes and messages (tests/integration/test_upstream_remote_mode.py compares them with
the transport library's loaders), plus a hint for the command line in parentheses.
"""

from __future__ import annotations

import io
import json
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

from nmshd_tokens.domain.crypto import CryptoError, decrypt_content, derive_password_hash
from nmshd_tokens.domain.encoding import b64_encode
from nmshd_tokens.domain.references import Reference, ReferenceError, parse_reference

from .errors import CommandError, InputError

FETCH_TIMEOUT_S = 10.0
_MAX_ANSWER_BYTES = 1024 * 1024
_MAX_IMAGE_PIXELS = 25_000_000  # a photographed QR code fits; a decompression bomb does not get decoded


def decode_qr_image(path: Path) -> str:
    """The text of the one QR code in an image file."""
    return _decode_qr(path, str(path))


def decode_qr_bytes(data: bytes) -> str:
    """The text of the one QR code in an image's bytes (the local page's upload)."""
    return _decode_qr(io.BytesIO(data), "the image")


def _decode_qr(path: Path | io.BytesIO, name: str) -> str:
    try:
        import zxingcpp
        from PIL import Image, UnidentifiedImageError
    except ImportError:
        raise CommandError(
            "reading a QR image needs the dev dependencies zxing-cpp and pillow (pip install zxing-cpp pillow)"
        ) from None
    try:
        with Image.open(path) as image:
            if image.width * image.height > _MAX_IMAGE_PIXELS:
                raise InputError(f"cannot read the image {name}: larger than {_MAX_IMAGE_PIXELS} pixels")
            image.load()  # a truncated file fails here (OSError), not inside zxing (TypeError)
            results = zxingcpp.read_barcodes(image)
    except UnidentifiedImageError:  # an OSError too: first
        raise InputError(f"cannot read the image {name}: not an image file (PNG, JPEG, GIF …)") from None
    except Image.DecompressionBombError:
        raise InputError(f"cannot read the image {name}: larger than {_MAX_IMAGE_PIXELS} pixels") from None
    except FileNotFoundError:
        raise InputError(f"cannot read the image {name}: no such file") from None
    except OSError as exc:  # a folder, no permission, a truncated or damaged image
        raise InputError(
            f"cannot read the image {name}: {exc.strerror or 'the file is truncated or damaged'}"
        ) from None
    except (ValueError, TypeError):
        raise InputError(f"cannot read the image {name}: the file is truncated or damaged") from None
    texts = [str(result.text) for result in results if result.format == zxingcpp.BarcodeFormat.QRCode]
    if len(texts) != 1:
        raise InputError(f"expected one QR code in {name}, found {len(texts)}")
    return texts[0]


def _is_file(path: Path) -> bool:
    try:
        return path.is_file()
    except OSError:  # a long truncated reference is "File name too long" as a path
        return False


# A name with one of these endings is meant as an image file, whether or not it exists (no reference ends so).
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".gif", ".bmp", ".webp", ".tif", ".tiff")


def read_reference(source: str) -> Reference:
    """A reference from a truncated string, a URL reference, `nmshd://tr#…`, or a path to a QR image."""
    path = Path(source)
    text = decode_qr_image(path) if source.lower().endswith(IMAGE_SUFFIXES) or _is_file(path) else source
    try:
        return parse_reference(text)
    except ReferenceError as exc:
        raise InputError(f"not a token reference: {exc}") from None


def token_url(reference: Reference, password: str | None, backbone_url: str | None = None) -> str:
    """`GET <backbone>/api/v2/Tokens/<id>[?password=<base64 Argon2id hash>]`."""
    base = (backbone_url or reference.backbone_base_url or "").rstrip("/")
    if not base:
        raise InputError("the reference names no backbone; pass --backbone-url")
    if urlsplit(base).scheme not in ("http", "https"):
        raise InputError("the backbone URL must be http(s)")
    url = f"{base}/api/v2/Tokens/{quote(reference.id)}"
    if reference.password_protection is not None and password is not None:
        password_hash = derive_password_hash(password, reference.password_protection.salt)
        url += "?password=" + quote(b64_encode(password_hash), safe="")
    return url


class BackboneError(CommandError):
    """The backbone refused: its error code, message and HTTP status."""

    def __init__(self, code: str, message: str, status: int, hint: str | None = None) -> None:
        self.code, self.message, self.status, self.hint = code, message, status, hint
        super().__init__(f"{code}: {message} (HTTP {status})" + (f" ({hint})" if hint else ""))


def check_personalisation(reference: Reference, identity: str | None) -> None:
    """The client's check (the embedded backbone cannot make it): the reference's last 4 characters.

    Without an identity the caller is anonymous, and the upstream anonymous loader refuses every personalised
    token, as the real Backbone would (it serves one only to that identity, signed in).
    """
    if not reference.is_intended_for(identity):
        hint = "pass --identity with your address" if identity is None else "it is for another identity"
        raise CommandError(
            f"error.transport.general.notIntendedForYou: You tried to access personalized content '{reference.id}'. "
            f"You are either not logged in or the content is not intended for you. ({hint})"
        )


def _error_from_envelope(status: int, body: bytes) -> CommandError:
    try:
        error = json.loads(body)["error"]
        return BackboneError(str(error["code"]), str(error["message"]), status)
    except (ValueError, KeyError, TypeError):
        return CommandError(f"the backbone answered HTTP {status} without an error envelope")


def fetch_token(url: str, timeout: float = FETCH_TIMEOUT_S) -> dict[str, Any]:
    """The backbone's `result` object, or a CommandError carrying its error code and message."""
    request = urllib.request.Request(url, headers={"Accept": "application/json"})  # noqa: S310 - http(s) checked
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 - http(s) checked
            body = response.read(_MAX_ANSWER_BYTES)
    except urllib.error.HTTPError as exc:
        with exc:
            raise _error_from_envelope(exc.code, exc.read(_MAX_ANSWER_BYTES)) from None
    except (urllib.error.URLError, TimeoutError, ConnectionError) as exc:
        reason = getattr(exc, "reason", exc)
        host = urlsplit(url).netloc
        raise CommandError(f"cannot reach the backbone at {host}: {reason}") from None
    try:
        result = json.loads(body)["result"]
        if not isinstance(result, dict):
            raise TypeError
        return result
    except (ValueError, KeyError, TypeError):
        raise CommandError("the backbone's answer is not a token") from None


def load_token(
    reference: Reference,
    password: str | None = None,
    *,
    identity: str | None = None,
    backbone_url: str | None = None,
    timeout: float = FETCH_TIMEOUT_S,
) -> dict[str, Any]:
    """The decrypted content of the token a reference points to."""
    if reference.password_protection is not None and password is None:
        kind = "a PIN" if reference.password_protection.password_type.startswith("pin") else "a password"
        raise CommandError(
            "error.transport.noPasswordProvided: You need to provide a password to perform this operation. "
            f"(the token is protected by {kind}: pass --password)"
        )
    check_personalisation(reference, identity)
    try:
        token = fetch_token(token_url(reference, password, backbone_url), timeout)
    except BackboneError as error:
        if error.code != "error.platform.recordNotFound" or not reference.for_identity_truncated:
            raise
        # A real Backbone serves a personalised token only to its identity, signed in; `load` has no account.
        hint = "a Backbone serves a personalised token only to its identity, signed in; this command reads anonymously"
        raise BackboneError(error.code, error.message, error.status, hint) from None
    cipher = token.get("content")
    if not (isinstance(cipher, str) and cipher and token.get("createdBy") and token.get("createdByDevice")):
        raise CommandError(
            f"error.transport.tokens.emptyToken: The content, createdBy and/or createdByDevice of the Token "
            f"'{reference.id}' are empty."
        )
    try:
        content = json.loads(decrypt_content(cipher, reference.key))
    except (CryptoError, ValueError):
        raise CommandError("the token content cannot be decrypted with the reference's key") from None
    if not isinstance(content, dict):
        raise CommandError("the token content is not a JSON object")
    return content
