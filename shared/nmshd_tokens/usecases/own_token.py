"""Create own token (POST /Tokens/Own, SPEC §14): a token with the caller's content, published like every token.

The content is what upstream's Serializable.fromUnknown keeps of the request's (domain/token_content.py), encrypted
as JSON.stringify writes it, so a peer loading it with the upstream libraries reads exactly that content.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..domain.token_content import javascript_json
from ..domain.tokens import Token
from ..domain.validation import OwnTokenRequest
from .create_token import ServiceIdentity, new_draft
from .ports import TokenPublisher, TokenWrite


@dataclass
class OwnTokenCreation:
    publisher: TokenPublisher
    identity: ServiceIdentity

    def create(self, request: OwnTokenRequest, backbone_base_url: str) -> Token:
        draft = new_draft(
            request.content,
            javascript_json(request.content).encode("utf-8"),
            expires_at=request.expires_at,
            ephemeral=request.ephemeral,
            for_identity=request.for_identity,
            password_protection=request.password_protection,
            identity=self.identity,
            backbone_base_url=backbone_base_url,
        )
        return self.publisher.publish(TokenWrite(draft))
