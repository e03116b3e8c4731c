"""Password protection: what a creator asks for, and the location indicators (SPEC §2, §4)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import IntEnum

MAX_PASSWORD_LENGTH = 1000  # characters; Argon2id cost does not depend on it, but logs and bodies do
PIN_PATTERN = "[0-9]{4,16}"  # ASCII digits only: look-alike digits are not a PIN
_PIN_RE = re.compile(PIN_PATTERN)
# A request may name an indicator (below) or give a number of its own in this range.
MIN_NUMBERED_INDICATOR = 50
MAX_NUMBERED_INDICATOR = 99


class LocationIndicator(IntEnum):
    """Named password location indicators; 0 (RecoveryKit) cannot be set through these use cases."""

    RecoveryKit = 0
    Self = 1
    Letter = 2
    RegistrationLetter = 3
    Email = 4
    SMS = 5
    Website = 6


SETTABLE_INDICATOR_NAMES = {member.name: member.value for member in LocationIndicator if member.value != 0}


def indicator_to_number(value: object) -> int | None:
    """The stored number of a request's indicator, or None when it is not a valid one."""
    if isinstance(value, str):
        return SETTABLE_INDICATOR_NAMES.get(value)
    if isinstance(value, bool):
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, int) and MIN_NUMBERED_INDICATOR <= value <= MAX_NUMBERED_INDICATOR:
        return value
    return None


def indicator_for_output(number: int) -> str | int:
    """1–6 are given back by name, 50–99 as the number (as upstream's PasswordProtectionMapper)."""
    if 1 <= number <= 6:
        return LocationIndicator(number).name
    return number


def is_pin(password: str) -> bool:
    return _PIN_RE.fullmatch(password) is not None


def password_type(password: str, is_pin: bool) -> str:
    """What a reference tells a peer of the password: `pin<length>` for a PIN, else `pw`."""
    return f"pin{len(password)}" if is_pin else "pw"


def is_unicode_text(text: str) -> bool:
    """False for a lone UTF-16 surrogate such as "\\ud800", which JSON can carry but UTF-8 cannot."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def is_settable_indicator(number: int) -> bool:
    return number in SETTABLE_INDICATOR_NAMES.values() or MIN_NUMBERED_INDICATOR <= number <= MAX_NUMBERED_INDICATOR


@dataclass(frozen=True)
class PasswordRequest:
    """A valid `passwordProtection` of a request: the indicator is already its stored number."""

    password: str
    is_pin: bool = False
    location_indicator: int | None = None

    def __post_init__(self) -> None:
        if not 1 <= len(self.password) <= MAX_PASSWORD_LENGTH or not is_unicode_text(self.password):
            raise ValueError(f"a password has 1 to {MAX_PASSWORD_LENGTH} characters of Unicode text")
        if self.is_pin and not is_pin(self.password):
            raise ValueError("a PIN has 4 to 16 digits")
        if self.location_indicator is not None and not is_settable_indicator(self.location_indicator):
            raise ValueError(
                f"a location indicator is a named one or {MIN_NUMBERED_INDICATOR} to {MAX_NUMBERED_INDICATOR}"
            )

    @property
    def password_type(self) -> str:
        return password_type(self.password, self.is_pin)
