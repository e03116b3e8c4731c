"""Load a peer token by its reference, and keep it (POST /{v}/Tokens/Peer, SPEC §14).

In the order of the transport library's `loadPeerTokenByReference`: a protected reference needs a password; a
token kept here already is answered as stored (no backbone call); a token personalised for another identity is
refused; then the backbone is asked (signed in, in remote mode), the content decrypted with the reference's key.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from .. import metrics
from ..domain.clock import parse_iso_datetime
from ..domain.crypto import CryptoError, decrypt_content, derive_password_hash
from ..domain.errors import DomainError, ErrorKind, validation_error
from ..domain.ids import is_token_id, matches
from ..domain.json_codec import dumps_compact
from ..domain.references import Reference, ReferenceError, parse_truncated, parse_url
from ..domain.request_rules import (
    LOAD_PEER_TOKEN_BODY,
    PEER_REFERENCE_MESSAGE,
    TRUNCATED_TOKEN_REFERENCE_PATTERN,
    URL_TOKEN_REFERENCE_PATTERN,
    schema_failures,
)
from ..domain.tokens import Token, TokenDetails, TokenPassword
from .ports import PeerTokenRecords, ServiceTokenReader

# A kept token's record is one DynamoDB item (at most 400 KB, its other attributes included); any answer is one Lambda
# response (at most 6 MB, the envelope and the DTO's other fields included).
MAX_KEPT_CONTENT_BYTES = 256 * 1024
MAX_ANSWERED_CONTENT_BYTES = 4 * 1024 * 1024


@dataclass(frozen=True)
class PeerTokenRequest:
    reference: Reference
    ephemeral: bool = False
    password: str | None = None


def parse_peer_token_request(body: Mapping[str, Any]) -> PeerTokenRequest:
    """The runtime's schema, then the reference itself: every failure is `token reference invalid`."""
    reference_text = body.get("reference")
    if schema_failures(LOAD_PEER_TOKEN_BODY, body) or not isinstance(reference_text, str):
        raise validation_error(PEER_REFERENCE_MESSAGE)
    try:
        if matches(URL_TOKEN_REFERENCE_PATTERN, reference_text):
            reference = parse_url(reference_text)
        elif matches(TRUNCATED_TOKEN_REFERENCE_PATTERN, reference_text):
            reference = parse_truncated(reference_text)
        else:
            raise ReferenceError("neither form")
    except ReferenceError:
        raise validation_error(PEER_REFERENCE_MESSAGE) from None
    if not is_token_id(reference.id):
        raise validation_error(PEER_REFERENCE_MESSAGE)
    password = body.get("password")
    return PeerTokenRequest(reference, bool(body.get("ephemeral", False)), password)


def _check_size(size: int, ephemeral: bool) -> None:
    """Never a 5xx for a large token: a clear 400 saying what fits (SPEC §16)."""
    limit, what = (MAX_ANSWERED_CONTENT_BYTES, "answer") if ephemeral else (MAX_KEPT_CONTENT_BYTES, "keep")
    if size > limit:
        message = ErrorKind.PEER_TOKEN_TOO_LARGE.value.message.format(size=size, what=what, limit=limit)
        if not ephemeral and size <= MAX_ANSWERED_CONTENT_BYTES:
            message += ' Load it with "ephemeral": true.'
        raise DomainError(ErrorKind.PEER_TOKEN_TOO_LARGE, message)


def _error(kind: ErrorKind, token_id: str) -> DomainError:
    return DomainError(kind, kind.value.message.format(id=token_id))


def peer_token_content(plaintext: bytes, token_id: str) -> dict[str, Any]:
    """What upstream's `Serializable.deserializeUnknown` makes of the plaintext, as far as we can judge it: a JSON
    object, whose `@type`, if any, is a string. Anything else is not a token content (invalidTokenContent)."""
    try:
        content = json.loads(plaintext.decode("utf-8"), parse_constant=_not_json)
        # A lone surrogate ("\ud800") parses, but can be neither stored nor answered as UTF-8.
        dumps_compact(content).encode("utf-8")
    except (ValueError, RecursionError):  # UnicodeDecodeError, UnicodeEncodeError and JSONDecodeError included
        raise _error(ErrorKind.INVALID_PEER_TOKEN_CONTENT, token_id) from None
    if not isinstance(content, dict) or not isinstance(content.get("@type", ""), str):
        raise _error(ErrorKind.INVALID_PEER_TOKEN_CONTENT, token_id)
    return content


def _not_json(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")  # NaN and Infinity: Python reads them, JSON.parse does not


@dataclass(frozen=True)
class PeerTokenLoading:
    records: PeerTokenRecords
    backbone: ServiceTokenReader
    service_address: str

    def load(self, request: PeerTokenRequest, backbone_base_url: str) -> Token:
        """The token, kept unless the request is ephemeral; `backbone_base_url`: what its reference names, as the
        runtime names its own configured backbone in every DTO."""
        reference = request.reference
        shared = reference.password_protection
        if shared is not None and not request.password:
            raise DomainError(ErrorKind.NO_PASSWORD_PROVIDED)
        stored = self.records.get_token(reference.id)
        if stored is not None:
            return replace(stored, details=replace(stored.details, ephemeral=request.ephemeral))
        if not reference.is_intended_for(self.service_address):
            raise _error(ErrorKind.NOT_INTENDED_FOR_YOU, reference.id)
        password: TokenPassword | None = None
        password_hash: bytes | None = None
        if shared is not None and request.password:
            password = TokenPassword(
                request.password, shared.salt, shared.password_type.startswith("pin"), shared.location_indicator
            )
            password_hash = derive_password_hash(request.password, shared.salt)
        try:
            found = self.backbone.fetch_for_service(reference.id, password_hash)
        except DomainError as error:
            if error.kind is ErrorKind.TOKEN_NOT_FOUND:  # the runtime's code for the Backbone's 404, its message
                raise DomainError(ErrorKind.PEER_TOKEN_NOT_FOUND, error.message) from None
            raise
        token = self._token(found, reference, password, request.ephemeral, backbone_base_url)
        if not request.ephemeral:
            self.records.put_peer_token(token)
        metrics.count(metrics.PEER_TOKENS_LOADED)
        return token

    def _token(
        self,
        found: Mapping[str, Any],
        reference: Reference,
        password: TokenPassword | None,
        ephemeral: bool,
        backbone_base_url: str,
    ) -> Token:
        cipher, created_by, device = found.get("content"), found.get("createdBy"), found.get("createdByDevice")
        if not (isinstance(cipher, str) and cipher and isinstance(created_by, str) and created_by):
            raise _error(ErrorKind.EMPTY_PEER_TOKEN, reference.id)
        if not (isinstance(device, str) and device):
            raise _error(ErrorKind.EMPTY_PEER_TOKEN, reference.id)
        try:
            plaintext = decrypt_content(cipher, reference.key)
        except CryptoError:
            raise _error(ErrorKind.INVALID_PEER_TOKEN_CONTENT, reference.id) from None
        _check_size(len(plaintext), ephemeral)
        created_at, expires_at = parse_iso_datetime(found.get("createdAt")), parse_iso_datetime(found.get("expiresAt"))
        if created_at is None or expires_at is None:
            raise DomainError(ErrorKind.SERVICE_UNAVAILABLE)  # not a Backbone's answer
        for_identity = found.get("forIdentity")
        details = TokenDetails(
            content=peer_token_content(plaintext, reference.id),
            secret_key=reference.key,
            created_by=created_by,
            created_by_device=device,
            expires_at=expires_at,
            backbone_base_url=backbone_base_url,
            ephemeral=ephemeral,
            for_identity=for_identity if isinstance(for_identity, str) and for_identity else None,
            password=password,
            is_own=False,
        )
        return Token(reference.id, created_at, details)
