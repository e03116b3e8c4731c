"""A parsed Create Token request."""

from __future__ import annotations

from dataclasses import dataclass

from ..domain.validation import TokenRequest


@dataclass(frozen=True)
class TokenCall:
    """The representation asked for (JSON or PNG) and the validated command."""

    representation: str
    request: TokenRequest
