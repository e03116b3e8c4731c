"""What every DynamoDB adapter shares: failure mapping, the create condition, the health probe (SPEC §8).

The `storage` package is the only layer that touches botocore. Every AWS failure leaves it as a DomainError
(503 for throttling and outages) or as the botocore exception itself (anything unexpected: 500).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from ..domain.errors import DomainError, ErrorKind
from .attributes import str_value

NEW_ITEM = "attribute_not_exists(id)"  # the condition of every create: never overwrite

_TRANSIENT_CODES = frozenset(
    {
        "ProvisionedThroughputExceededException",
        "ThrottlingException",
        "RequestLimitExceeded",
        "InternalServerError",
        "ServiceUnavailable",
        "TransactionConflict",
        "TransactionConflictException",
        "TransactionInProgressException",
    }
)


def error_code(exc: BaseException) -> str:
    response = getattr(exc, "response", None) or {}
    return str(response.get("Error", {}).get("Code", ""))


def cancellation_codes(exc: BaseException) -> list[str]:
    """The per-item reasons of a cancelled transaction, in the order of its items."""
    response = getattr(exc, "response", None) or {}
    reasons = response.get("CancellationReasons") or []
    return [str(reason.get("Code", "None")) for reason in reasons]


def is_transient_cancellation(exc: BaseException) -> bool:
    return any(code in _TRANSIENT_CODES or code == "ThrottlingError" for code in cancellation_codes(exc))


def is_condition_failure(exc: BaseException) -> bool:
    """A conditional write found its item there (or, in a transaction, any item's condition failed)."""
    code = error_code(exc)
    if code == "ConditionalCheckFailedException":
        return True
    return code == "TransactionCanceledException" and "ConditionalCheckFailed" in cancellation_codes(exc)


@contextmanager
def storage_errors() -> Iterator[None]:
    """Map throttling, outages and timeouts to 503; anything else stays unexpected (500)."""
    from botocore.exceptions import ClientError, ConnectionError, HTTPClientError

    try:
        yield
    except ClientError as exc:
        if error_code(exc) in _TRANSIENT_CODES or is_transient_cancellation(exc):
            raise DomainError(ErrorKind.SERVICE_UNAVAILABLE) from exc
        raise
    except (ConnectionError, HTTPClientError) as exc:  # timeouts and refused connections included
        raise DomainError(ErrorKind.SERVICE_UNAVAILABLE) from exc


HEALTH_PROBE_ID = "health#probe"  # read, never written: a health check's one cheap call


def table_answers(client: Any, table_name: str) -> bool:
    """One read of a key that never exists: whether the table answers at all (the health check)."""
    try:
        with storage_errors():
            client.get_item(TableName=table_name, Key={"id": str_value(HEALTH_PROBE_ID)})
    except Exception:  # noqa: BLE001 - any failure means "unhealthy", which is the answer
        return False
    return True
