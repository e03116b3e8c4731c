"""The tokens the service keeps (non-ephemeral ones, own and peer): read one, list and query them, revoke one
(SPEC §13, §14)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass

from .. import metrics
from ..domain.errors import DomainError, ErrorKind, validation_error
from ..domain.ids import TOKEN_ID_PATTERN, is_token_id
from ..domain.token_query import parse_token_query
from ..domain.tokens import Token
from .ports import KeptTokenRecords, TokenRevoker

# A query that must look at more kept tokens than this is refused (400, "narrow it"): reading them all would
# outlast the function's timeout, and their DTOs would not fit in one Lambda response (6 MB) anyway.
MAX_TOKENS_EXAMINED = 10_000


def kept_token(records: KeptTokenRecords, token_id: str, id_name: str) -> Token:
    """The kept token of a path id: 400 for a malformed id (named as the route names it), 404 for no record."""
    if not is_token_id(token_id):
        raise validation_error(f"{id_name} must match pattern {TOKEN_ID_PATTERN}")
    token = records.get_token(token_id)
    if token is None:
        raise DomainError(ErrorKind.TOKEN_RECORD_NOT_FOUND)
    return token


@dataclass(frozen=True)
class KeptTokens:
    records: KeptTokenRecords

    def get(self, token_id: str) -> Token:
        """Unknown and ephemeral tokens alike are 404: an ephemeral token was never kept."""
        return kept_token(self.records, token_id, "id")

    def own(self, query: Mapping[str, Sequence[str]]) -> list[Token]:
        """Every kept own token the query matches, oldest first."""
        return self._matching(query, self.records.tokens)

    def peer(self, query: Mapping[str, Sequence[str]]) -> list[Token]:
        """Every kept peer token (loaded by POST /Tokens/Peer) the query matches, oldest first."""
        return self._matching(query, self.records.peer_tokens)

    def _matching(
        self, query: Mapping[str, Sequence[str]], kept: Callable[[str | None, str | None], Iterable[Token]]
    ) -> list[Token]:
        checked = parse_token_query(query)
        bounds = checked.created_at_range
        if bounds is None:
            return []  # an empty range
        created_from, created_to = bounds
        found: list[Token] = []
        for examined, token in enumerate(kept(created_from, created_to), start=1):
            if examined > MAX_TOKENS_EXAMINED:
                raise DomainError(ErrorKind.QUERY_TOO_BROAD)
            if checked.matches(token):
                found.append(token)
        return sorted(found, key=lambda token: (token.created_at, token.id))


@dataclass(frozen=True)
class TokenRevocation:
    records: KeptTokenRecords
    revoker: TokenRevoker

    def revoke(self, token_id: str) -> None:
        """Backbone first, then the record. No record (unknown or ephemeral): 404, as upstream.

        A peer token is only forgotten here: the backbone's copy is its creator's (upstream does the same)."""
        token = kept_token(self.records, token_id, "tokenId")
        if not token.details.is_own:
            self.records.delete_token(token.id)
            return
        self.revoker.revoke(token)
        metrics.count(metrics.TOKENS_REVOKED)
