"""Operational metrics as CloudWatch Embedded Metric Format (EMF): JSON lines that CloudWatch turns into metrics,
with no API call and no extra latency.

Code records what happened (`count`, `milliseconds`); the entry point flushes once per invocation
(observability.logged_entry_point), one EMF line per set of dimensions. Dimensions come from small, closed sets
(a use case, a generation, a format, an error code, a route, an outcome), never from ids: every distinct value is a
metric of its own, billed as such. README "Operating it" says what each metric means.
"""

from __future__ import annotations

import threading
from collections import defaultdict

from aws_lambda_powertools.metrics import EphemeralMetrics, MetricUnit

from .domain.tokens import Token

NAMESPACE = "NmshdTokens"
SERVICE = "nmshd-tokens"

# Metric names: the dashboard and the alarms in template.yaml use these same names.
TOKENS_CREATED = "TokensCreated"  # UseCase (File, RelationshipTemplate), Generation (v2, core-v1, command), Format
REQUESTS_REFUSED = "RequestsRefused"  # ErrorCode: every answer in the error envelope, 4xx and 5xx
TOKENS_REVOKED = "TokensRevoked"
PEER_LOADS = "PeerLoads"  # the embedded backbone handed a token to a peer
PEER_TOKENS_LOADED = "PeerTokensLoaded"  # POST /Tokens/Peer fetched a peer's token from the backbone
WRONG_PASSWORDS = "WrongPasswords"  # a counted wrong or missing password on a protected token
TOKENS_LOCKED = "TokensLocked"  # a token reached 100 wrong passwords with this attempt
BACKBONE_LATENCY = "BackboneLatency"  # Route: one remote Backbone call, retries included
BACKBONE_RETRIES = "BackboneRetries"  # Route
BACKBONE_FAILURES = "BackboneFailures"  # Route: no usable answer after the retries
BATCH_MESSAGES = "BatchMessages"  # Outcome: created, resumed, duplicate, refused, retried

Dimensions = tuple[tuple[str, str], ...]


class _Pending(threading.local):
    """What this invocation recorded; per thread, as the local server runs several functions in one process."""

    def __init__(self) -> None:
        self.values: dict[Dimensions, list[tuple[str, str, float]]] = defaultdict(list)


_pending = _Pending()


def count(name: str, value: float = 1, **dimensions: str) -> None:
    _pending.values[tuple(sorted(dimensions.items()))].append((name, MetricUnit.Count.value, value))


def milliseconds(name: str, value: float, **dimensions: str) -> None:
    _pending.values[tuple(sorted(dimensions.items()))].append((name, MetricUnit.Milliseconds.value, value))


def token_created(token: Token, source: str, representation: str) -> None:
    """TokensCreated by use case (File or RelationshipTemplate), source (v2, core-v1, command, batch) and format."""
    use_case = "RelationshipTemplate" if "templateId" in token.details.content else "File"
    count(TOKENS_CREATED, UseCase=use_case, Generation=source, Format=representation)


def flush() -> None:
    """Print what was recorded, one EMF line per dimension set, and forget it."""
    recorded, _pending.values = _pending.values, defaultdict(list)
    for dimensions, values in recorded.items():
        emf = EphemeralMetrics(namespace=NAMESPACE, service=SERVICE)
        for name, value in dimensions:
            emf.add_dimension(name=name, value=value)
        for name, unit, amount in values:
            emf.add_metric(name=name, unit=unit, value=amount)
        emf.flush_metrics()
