"""The one logger of every function, and what may be logged about an unexpected error."""

from __future__ import annotations

import traceback

from aws_lambda_powertools import Logger

logger = Logger(service="nmshd-tokens")


def log_unexpected(error: BaseException, message: str = "unexpected error", **extra: str) -> None:
    """Type and frames only: an exception's message may carry request data (passwords, keys)."""
    frames = [f"{frame.filename}:{frame.lineno} {frame.name}" for frame in traceback.extract_tb(error.__traceback__)]
    logger.error(message, extra={**extra, "error_type": type(error).__name__, "frames": frames[-8:]})
