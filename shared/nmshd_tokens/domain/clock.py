"""Time as enmeshed writes it: UTC ISO 8601 with milliseconds and `Z`; and the one clock the use cases read."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone

_ISO_DATETIME_RE = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?(Z|[+-]\d{2}:\d{2})?", re.ASCII
)


def utc_now() -> datetime:
    return datetime.now(UTC)


def format_timestamp(moment: datetime) -> str:
    """UTC ISO 8601 with milliseconds and Z, as luxon's toISO() and JavaScript's toISOString() write it."""
    moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def parse_iso_datetime(value: object) -> datetime | None:
    """`YYYY-MM-DDThh:mm[:ss[.fraction]][Z|±hh:mm]`; no offset means UTC. None when not parseable."""
    if not isinstance(value, str):
        return None
    match = _ISO_DATETIME_RE.fullmatch(value)
    if not match:
        return None
    year, month, day, hour, minute, second, fraction, offset = match.groups()
    try:
        zone = UTC
        if offset and offset != "Z":
            hours, minutes = int(offset[1:3]), int(offset[4:6])
            if hours > 23 or minutes > 59:
                return None
            delta = timedelta(hours=hours, minutes=minutes)
            zone = timezone(-delta if offset[0] == "-" else delta)
        microsecond = int((fraction or "0").ljust(6, "0")[:6])
        moment = datetime(
            int(year), int(month), int(day), int(hour), int(minute), int(second or 0), microsecond, tzinfo=zone
        )
        return moment.astimezone(UTC)
    except (ValueError, OverflowError):
        return None


def epoch_seconds(moment: datetime, plus_days: int = 0) -> int:
    """Whole seconds since 1970 (DynamoDB TTL), `plus_days` later; integer arithmetic cannot pass year 9999."""
    return int(moment.timestamp()) + plus_days * 86_400
