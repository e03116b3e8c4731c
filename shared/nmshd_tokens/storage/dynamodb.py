"""What every DynamoDB adapter shares: failure mapping and attribute helpers (SPEC §8).

The `storage` package is the only layer that touches botocore. Every AWS failure leaves it as a DomainError
(503 for throttling and outages) or as the botocore exception itself (anything unexpected: 500).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from ..domain.clock import epoch_seconds, format_timestamp, parse_iso_datetime
from ..domain.errors import DomainError, ErrorKind

Item = dict[str, Any]
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


# --- attribute values ---------------------------------------------------------------------------------


def s(value: str) -> dict[str, str]:
    return {"S": value}


def n(value: int) -> dict[str, str]:
    return {"N": str(value)}


def b(value: bytes) -> dict[str, bytes]:
    return {"B": value}


def timestamp(moment: datetime) -> dict[str, str]:
    return s(format_timestamp(moment))


def epoch(moment: datetime, plus_days: int = 0) -> dict[str, str]:
    return n(epoch_seconds(moment, plus_days))


def get_s(item: Item, name: str) -> str | None:
    value = item.get(name)
    return str(value["S"]) if value else None


def get_b(item: Item, name: str) -> bytes | None:
    value = item.get(name)
    return bytes(value["B"]) if value else None


def get_n(item: Item, name: str) -> int | None:
    value = item.get(name)
    return int(value["N"]) if value else None


def get_time(item: Item, name: str) -> datetime | None:
    text = get_s(item, name)
    return parse_iso_datetime(text) if text else None


HEALTH_PROBE_ID = "health#probe"  # read, never written: a health check's one cheap call


def table_answers(client: Any, table_name: str) -> bool:
    """One read of a key that never exists: whether the table answers at all (the health check)."""
    try:
        with storage_errors():
            client.get_item(TableName=table_name, Key={"id": s(HEALTH_PROBE_ID)})
    except Exception:  # noqa: BLE001 - any failure means "unhealthy", which is the answer
        return False
    return True
