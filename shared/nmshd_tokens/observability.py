"""The one logger of every function, and what may be logged about an unexpected error."""

from __future__ import annotations

import traceback

from aws_lambda_powertools import Logger

logger = Logger(service="nmshd-tokens")


def log_unexpected(error: BaseException, message: str = "unexpected error", **extra: str) -> None:
    """Type and frames only: an exception's message may carry request data (passwords, keys)."""
    frames = [f"{frame.filename}:{frame.lineno} {frame.name}" for frame in traceback.extract_tb(error.__traceback__)]
    details = {**extra, "error_type": type(error).__name__, "frames": frames[-8:]}
    # An AWS error's code (AccessDenied, ResourceNotFound, …) carries no request data and is what operators need.
    response = getattr(error, "response", None)
    if isinstance(response, dict) and isinstance(response.get("Error"), dict):
        details["aws_error_code"] = str(response["Error"].get("Code"))
    logger.error(message, extra=details)
