"""The peer side of the embedded backbone: GET /api/v2/Tokens/{id}[?password=<base64 hash>] (SPEC §9)."""

from __future__ import annotations

from typing import Any

from .. import metrics
from ..domain.encoding import EncodingError, b64_decode, b64url_decode
from ..domain.errors import DomainError, ErrorKind
from ..domain.ids import is_token_id
from .ports import PeerTokenReader

_MAX_PASSWORD_PARAMETER = 400  # a 32-byte hash is 44 characters; the Backbone accepts up to 200 bytes


def decode_password_parameter(value: str | None) -> bytes | None:
    """The Backbone reads the hash in standard or url-safe base64; an unreadable one is just wrong."""
    if value is None:
        return None
    if len(value) > _MAX_PASSWORD_PARAMETER:
        return b""
    # A '+' that was not percent-encoded arrives as a space after form decoding.
    value = value.replace(" ", "+")
    for decode in (b64_decode, b64url_decode):
        try:
            return decode(value)
        except EncodingError:
            continue
    return b""


class PeerLoading:
    """What a peer may ask of the backbone: load a token (with its password, if it has one), or whether it exists.

    A plain class: the embedded backbone's function builds it at every cold start, where a dataclass costs more.
    """

    def __init__(self, reader: PeerTokenReader) -> None:
        self.reader = reader

    def load(self, token_id: str, password: str | None) -> dict[str, Any]:
        if not is_token_id(token_id):
            raise DomainError(ErrorKind.TOKEN_NOT_FOUND)
        token = self.reader.fetch_for_peer(token_id, decode_password_parameter(password))
        metrics.count(metrics.PEER_LOADS)
        return token

    def exists(self, token_id: str) -> bool:
        """Whether a live token has this id (no password check, no failure counted)."""
        return is_token_id(token_id) and self.reader.exists(token_id)
