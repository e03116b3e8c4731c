"""DynamoDB attribute values: writing a value as `{"S"|"N"|"B": …}`, and reading one back from an item."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ..domain.clock import epoch_seconds, format_timestamp, parse_iso_datetime

Item = dict[str, Any]


def str_value(value: str) -> dict[str, str]:
    return {"S": value}


def int_value(value: int) -> dict[str, str]:
    return {"N": str(value)}


def bytes_value(value: bytes) -> dict[str, bytes]:
    return {"B": value}


def timestamp(moment: datetime) -> dict[str, str]:
    return str_value(format_timestamp(moment))


def epoch(moment: datetime, plus_days: int = 0) -> dict[str, str]:
    return int_value(epoch_seconds(moment, plus_days))


def read_str(item: Item, name: str) -> str | None:
    value = item.get(name)
    return str(value["S"]) if value else None


def read_bytes(item: Item, name: str) -> bytes | None:
    value = item.get(name)
    return bytes(value["B"]) if value else None


def read_int(item: Item, name: str) -> int | None:
    value = item.get(name)
    return int(value["N"]) if value else None


def read_time(item: Item, name: str) -> datetime | None:
    text = read_str(item, name)
    return parse_iso_datetime(text) if text else None
